"""Ingest entry points: a project's initial load (its sources' loaders) and a batch from a file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from featurelock.core.errors import DefinitionError, ValidationError
from featurelock.data.schema import Source
from featurelock.data.store import IngestResult, RawStore
from featurelock.data.validate import check_knowledge_time, check_table


def ingest_sources(store: RawStore, progress: Callable[[str], None] = lambda _m: None) -> list[IngestResult]:
    """Append each source's initial batch (its ``load()``), known at its declared knowledge time.

    Batches are taken in knowledge-time order, then by table name (the store's history is
    append-only in knowledge time across all its tables); a source without a loader is skipped
    (its batches arrive as files). All tables or none: every batch is validated before any is
    written. A source that declares ``every`` and ``latency`` is stored as the batches it arrived in
    (``data.batches.timeline``). Idempotent: an identical batch is already stored and reported
    ``unchanged``.
    """
    pending: list[tuple[str, pd.DataFrame, object]] = []
    for name, source in store.sources.items():
        if source.load is None:
            continue
        if source.every is not None or source.latency is not None:
            pending += _timeline_batches(name, source, progress)
            continue
        if source.knowledge_time is None:
            raise DefinitionError(
                f"source {name!r} has a loader but no knowledge_time; declare the time its initial "
                "batch was known at, e.g. knowledge_time='2024-04-01T00:00:00Z'."
            )
        frame = source.load()
        progress(f"    {name}: validating {len(frame):,} rows")
        pending.append((name, frame, source.knowledge_time))
    # sources that arrived in batches interleave: every table's weekly batches in time order
    pending.sort(key=lambda batch: (check_knowledge_time(batch[2]), batch[0]))
    # all tables or none: a loader that fails, or a batch refused, leaves the store as it was
    return store.ingest_all(pending)


def _timeline_batches(
    name: str, source: Source, progress: Callable[[str], None]
) -> list[tuple[str, pd.DataFrame, object]]:
    from featurelock.data.batches import timeline

    if source.every is None or source.latency is None:
        raise DefinitionError(
            f"source {name!r} declares every={source.every!r} and latency={source.latency!r}; give both "
            "(its load then arrived as the events of each period, known latency after it) or neither."
        )
    batches = timeline({name: source}, pd.Timedelta(source.every), pd.Timedelta(source.latency))
    progress(f"    {name}: validating {sum(b.rows for b in batches):,} rows in {len(batches)} batches")
    return [(name, b.frames[name], b.known) for b in batches]


def read_batch_file(path: str | Path, source: Source) -> pd.DataFrame:
    """A batch from a Parquet or CSV file; CSV timestamp columns are parsed as ISO 8601."""
    path = Path(path)
    if not path.exists():
        raise ValidationError(f"file={str(path)!r} does not exist; pass a Parquet or CSV batch.")
    if path.suffix not in (".parquet", ".csv"):
        raise ValidationError(f"file={str(path)!r} has suffix {path.suffix!r}; expected .parquet or .csv.")
    if path.stat().st_size == 0:
        raise ValidationError(f"file={str(path)!r} is empty (0 bytes); pass a batch with a header and rows.")
    kinds = dict(source.all_columns)
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        frame = pd.read_csv(path, dtype={c: str for c, k in kinds.items() if k == "string"})
    except (ValueError, UnicodeDecodeError, OSError, pd.errors.ParserError) as exc:  # pyarrow's too
        kind = "Parquet" if path.suffix == ".parquet" else "CSV (UTF-8 text)"
        raise ValidationError(
            f"file={str(path)!r} cannot be read as {kind}; pass a {kind} batch "
            f"with the columns of table {source.name!r}: {[c for c, _ in source.all_columns]}."
        ) from exc
    for column in [c for c in frame.columns if kinds.get(c) == "timestamp"]:
        try:
            frame[column] = pd.to_datetime(frame[column], utc=False, format="ISO8601")
        except (ValueError, TypeError) as exc:
            bad = next((v for v in frame[column] if not _is_iso(v)), frame[column].iloc[0])
            raise ValidationError(
                f"file={str(path)!r}: column {column!r} holds {bad!r}, which is not an ISO 8601 timestamp; "
                "write times like 2024-04-01T12:00:00Z."
            ) from exc
    return frame


def _is_iso(value: object) -> bool:
    try:
        pd.to_datetime(value, format="ISO8601")
    except (ValueError, TypeError):
        return False
    return True


def ingest_file(table: str, path: str | Path, knowledge_time: object, store: RawStore) -> IngestResult:
    """Append one batch read from ``path`` (e.g. a correction) with its declared knowledge time."""
    source = check_table(table, store.sources)
    return store.ingest(table, read_batch_file(path, source), knowledge_time)
