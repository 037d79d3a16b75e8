"""The append-only raw store: one immutable Parquet file per ingested batch.

Layout: ``<data>/raw/<table>/k<knowledge time>-<content hash>.parquet``. A batch file is written
aside and renamed into place, so a reader sees it whole or not at all; ``.tmp-*`` leftovers of a
killed ingest are ignored. A correction is a new batch with a later knowledge time; nothing is
ever overwritten. Re-ingesting a batch with identical content is a no-op.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from featurelock.core.atomic import write_atomic
from featurelock.core.errors import SchemaError
from featurelock.core.hashing import frame_sha256
from featurelock.data.schema import CREATED_TS, EVENT_TS, Source
from featurelock.data.validate import check_batch, check_knowledge_time, check_table, expected_dtypes

_STAMP = "%Y%m%dT%H%M%S%fZ"


@dataclass(frozen=True)
class IngestResult:
    table: str
    status: str  # "written" or "unchanged"
    rows: int
    knowledge_time: pd.Timestamp
    sha256: str
    path: Path


def _batch_name(knowledge_time: pd.Timestamp, sha256: str) -> str:
    return f"k{knowledge_time.strftime(_STAMP)}-{sha256[:16]}.parquet"


def _knowledge_of(path: Path) -> pd.Timestamp:
    stamp = datetime.strptime(path.name[1:].split("-")[0], _STAMP).replace(tzinfo=UTC)
    return pd.Timestamp(stamp).as_unit("ns")


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` atomically with fixed writer settings (no index, zstd)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    write_atomic(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


def _read_batch(path: Path, where: list | None) -> pd.DataFrame | None:
    """One stored batch file (None when ``where``'s event times miss it: its statistics say so);
    a damaged one (truncated, overwritten) is named, with what to do."""
    try:
        if where is not None and _outside(pq.ParquetFile(path).metadata, where):
            return None
        return pq.read_table(path, filters=where).to_pandas()
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid and ArrowIOError among them
        raise SchemaError(
            f"The stored batch {path} cannot be read as Parquet: the raw store was damaged behind "
            "featurelock's back. "
            "Restore the file from a copy of the data directory, or ingest into a fresh one."
        ) from exc


def _outside(metadata: pq.FileMetaData, where: list) -> bool:
    """Whether no row group of a file can hold an event time in ``where``'s [lo, hi]."""
    lo, hi = where[0][2].value, where[1][2].value  # pyarrow scalars, nanoseconds (see ``read``)
    column = metadata.schema.names.index(EVENT_TS) if EVENT_TS in metadata.schema.names else -1
    if column < 0:
        return False
    for g in range(metadata.num_row_groups):
        stats = metadata.row_group(g).column(column).statistics
        if stats is None or not stats.has_min_max:
            return False
        first, last = pd.Timestamp(stats.min), pd.Timestamp(stats.max)
        first = first.tz_localize("UTC") if first.tzinfo is None else first
        last = last.tz_localize("UTC") if last.tzinfo is None else last
        if first.as_unit("ns").value <= hi and last.as_unit("ns").value >= lo:
            return False
    return True


class RawStore:
    """Append-only raw tables of a project's ``sources`` under ``root`` (``<data home>/raw``)."""

    def __init__(self, root: Path, sources: Mapping[str, Source]) -> None:
        self.root = Path(root)
        self.sources = {name: sources[name] for name in sorted(sources)}

    def batch_files(self, table: str, as_of: pd.Timestamp | None = None) -> list[Path]:
        """The table's batch files in knowledge-time order (names sort by it), up to ``as_of``."""
        check_table(table, self.sources)
        folder = self.root / table
        files = sorted(folder.glob("k*.parquet")) if folder.is_dir() else []
        if as_of is not None:
            as_of = check_knowledge_time(as_of)
            files = [f for f in files if _knowledge_of(f) <= as_of]
        return files

    def knowledge_times(self) -> list[pd.Timestamp]:
        """Every knowledge time declared by a batch in the store, ascending."""
        times = {_knowledge_of(f) for t in self.sources for f in self.batch_files(t)}
        return sorted(times)

    def read(
        self,
        table: str,
        as_of: pd.Timestamp | None = None,
        between: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    ) -> pd.DataFrame:
        """All rows of ``table`` known at ``as_of`` (all rows if None), sorted by key, event, created.

        ``between`` (``lo``, ``hi``): only rows whose ``event_timestamp`` lies in ``[lo, hi]``, read
        with Parquet's row-group statistics (an incremental build reads a window, not the history).
        """
        schema = check_table(table, self.sources)
        files = self.batch_files(table, as_of)
        dtypes = expected_dtypes(schema)
        if not files:
            return pd.DataFrame({c: pd.Series(dtype=d) for c, d in dtypes.items()})
        where = None
        if between is not None:
            lo, hi = (
                pa.scalar(pd.Timestamp(t).as_unit("ns").value, pa.timestamp("ns", tz="UTC")) for t in between
            )
            where = [(EVENT_TS, ">=", lo), (EVENT_TS, "<=", hi)]
        parts = [part for f in files if (part := _read_batch(f, where)) is not None]
        if not parts:
            return pd.DataFrame({c: pd.Series(dtype=d) for c, d in dtypes.items()})
        frame = pd.concat(parts, ignore_index=True)
        frame = frame[list(dtypes)].astype(dtypes)
        return frame.sort_values([schema.key, EVENT_TS, CREATED_TS], kind="mergesort").reset_index(drop=True)

    def fingerprint(self, table: str, as_of: pd.Timestamp | None = None) -> str:
        """Content hash, in canonical order, of the rows with created_timestamp <= as_of."""
        return frame_sha256(self.read(table, as_of))

    def ingest(self, table: str, frame: pd.DataFrame, knowledge_time: object) -> IngestResult:
        """Validate ``frame`` and append it as one batch known at ``knowledge_time``.

        Nothing is written unless every check passes; an identical batch already in the store
        makes this a no-op.
        """
        return self.ingest_all([(table, frame, knowledge_time)])[0]

    def ingest_all(self, batches: list[tuple[str, pd.DataFrame, object]]) -> list[IngestResult]:
        """Several batches (tables, knowledge times) all or nothing: every batch is validated, against
        the store and the batches before it in the list, before any is written; a failure while
        writing removes the ones this call wrote."""
        prepared: list[tuple[IngestResult, pd.DataFrame]] = []
        for table, frame, knowledge_time in batches:
            prepared.append(self._prepare(table, frame, knowledge_time, [r for r, _ in prepared]))
        written: list[Path] = []
        try:
            for result, batch in prepared:
                if result.status == "written":
                    write_parquet(batch, result.path)
                    written.append(result.path)
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
        return [r for r, _ in prepared]

    def _prepare(
        self, table: str, frame: pd.DataFrame, knowledge_time: object, pending: list[IngestResult]
    ) -> tuple[IngestResult, pd.DataFrame]:
        schema = check_table(table, self.sources)
        known = check_knowledge_time(knowledge_time)
        batch = check_batch(schema, frame)
        columns = [name for name, _ in schema.stored_columns]
        batch.insert(2, CREATED_TS, pd.Series([known] * len(batch), dtype="datetime64[ns, UTC]"))
        batch = batch[columns]
        sha = frame_sha256(batch)
        path = self.root / table / _batch_name(known, sha)
        if path.exists() or any(p.path == path for p in pending):
            return IngestResult(table, "unchanged", len(batch), known, sha, path), batch
        self._check_knowledge_order(schema, batch, known, pending)
        self._check_no_overlap(schema, batch, known)
        return IngestResult(table, "written", len(batch), known, sha, path), batch

    def _check_knowledge_order(
        self, schema: Source, batch: pd.DataFrame, known: pd.Timestamp, pending: list[IngestResult] = ()
    ) -> None:
        """History is append-only in knowledge time: a batch is never known before one already
        ingested for its table (that would change what a pinned ``as_of`` saw), before its own
        facts happened, or after the present (the clock is read here, at the ingest boundary)."""
        # across every table of the store: a training set pins one as_of for all of them, so a
        # batch of one table known before another table's newest would move a set pinned between
        stored = [(_knowledge_of(f), t) for t in self.sources for f in self.batch_files(t)]
        stored += [(p.knowledge_time, p.table) for p in pending if p.status == "written"]
        if stored and known < max(stored)[0]:
            newest, table = max(stored)
            raise SchemaError(
                f"knowledge_time={known.isoformat()} for table {schema.name!r} is earlier than "
                f"{newest.isoformat()}, already ingested (table {table!r}): that would rewrite what a "
                "training set pinned to an as_of between the two saw. Declare the time this batch was "
                "actually learned (a correction is known later)."
            )
        latest_event = batch[EVENT_TS].max()
        if len(batch) and latest_event > known:
            raise SchemaError(
                f"knowledge_time={known.isoformat()} is before the batch's own event "
                f"{latest_event.isoformat()} in table {schema.name!r}: a fact is known after it happens. "
                "Declare when the batch was learned."
            )
        now = pd.Timestamp.now(tz="UTC")
        if known > now:
            raise SchemaError(
                f"knowledge_time={known.isoformat()} is in the future (now {now.isoformat()}); declare "
                "the time this batch was learned."
            )

    def _check_no_overlap(self, schema: Source, batch: pd.DataFrame, known: pd.Timestamp) -> None:
        same_time = [f for f in self.batch_files(schema.name) if _knowledge_of(f) == known]
        if not same_time:
            return
        keys = [schema.key, EVENT_TS]
        existing = pd.concat([pq.read_table(f, columns=keys).to_pandas() for f in same_time])
        clash = batch[keys].merge(existing, on=keys, how="inner")
        if len(clash):
            raise SchemaError(
                f"Batch for table {schema.name!r} repeats {len(clash)} (key, event_timestamp) pair(s) "
                f"already stored with the same knowledge time {known.isoformat()}, e.g. "
                f"{clash.iloc[0].tolist()}, with other values: a stored batch is never rewritten. If this "
                "batch corrects it, declare the later time it was learned; if the stored batch itself "
                "was wrong (say, a loader being fixed), ingest into a fresh data directory "
                "(FEATURELOCK_HOME)."
            )
