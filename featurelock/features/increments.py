"""What an incremental feature build keeps between knowledge times and between builds.

- ``ViewState``: a view's rows emitted so far and, per grid point, the newest values emitted (the
  table as the offline store sees it at the last knowledge time). A knowledge time's computed rows
  are compared with it; only new or changed ones are emitted.
- ``BuildRecord``: written beside a generation's tables (``build.json``, outside its content name):
  the knowledge times it covers, the raw batch files it consumed, the fingerprints of each view's
  features. The next build resumes from it when all of that still holds, else starts over.
- ``batch_window``: the event times a knowledge time's batches hold (what they can change).
- ``grid_at``: a view's whole grid as known at a knowledge time, read by DuckDB straight from the
  raw Parquet batches (only the columns it needs), never as a pandas history.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq

from featurelock.core.atomic import write_text_atomic
from featurelock.core.errors import NotFoundError
from featurelock.core.hashing import file_sha256
from featurelock.core.sql import string_literal
from featurelock.data.schema import CREATED_TS, EVENT_TS
from featurelock.data.store import RawStore

BUILD_RECORD = "build.json"
RECORD_FORMAT = "featurelock-build/1"


def naive_utc(frame: pd.DataFrame) -> pd.DataFrame:
    """Timezone-aware columns as naive UTC (DuckDB works in naive UTC; no session-zone math)."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].dt.tz_convert("UTC").dt.tz_localize(None).dt.as_unit("us")
    return out


# ---- a view's state ------------------------------------------------------------------------------
def changed_rows(current: pd.DataFrame, previous: pd.DataFrame | None, keys: list[str]) -> pd.DataFrame:
    """Rows of ``current`` that are new, or whose values differ (null-safely) from ``previous``."""
    if previous is None or previous.empty:
        return current
    merged = current.merge(previous, on=keys, how="left", suffixes=("", "__prev"), indicator=True)
    changed = merged["_merge"] == "left_only"
    for column in [c for c in current.columns if c not in keys]:
        a, b = merged[column], merged[f"{column}__prev"]
        both_null = a.isna() & b.isna()
        differ = (a.astype(object) != b.astype(object)) & ~both_null
        changed |= differ.fillna(True).astype(bool)
    return current[changed.to_numpy()].reset_index(drop=True)


def _by_time(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values([EVENT_TS, *keys], kind="mergesort").reset_index(drop=True)


@dataclass
class ViewState:
    """One view during a build: its keys, the rows emitted so far, and the newest values per grid
    point (sorted by time, so a window of grid points is a slice)."""

    keys: list[str]  # join keys then event_timestamp
    emitted: list[pd.DataFrame] = field(default_factory=list)
    newest: pd.DataFrame | None = None
    done: list[pd.Timestamp] = field(default_factory=list)  # knowledge times this view has seen

    @staticmethod
    def resumed(table: pd.DataFrame, keys: list[str], done: list[pd.Timestamp]) -> ViewState:
        """The state a previous build's table stands for."""
        newest = table.drop_duplicates(keys, keep="last").drop(columns=[CREATED_TS])
        return ViewState(keys, [table], _by_time(newest, keys[:-1]), list(done))

    def _window(self, lo: pd.Timestamp | None, hi: pd.Timestamp | None) -> tuple[int, int]:
        assert self.newest is not None
        if lo is None or hi is None:
            return 0, len(self.newest)
        times = pd.DatetimeIndex(self.newest[EVENT_TS]).tz_convert("UTC").as_unit("ns").asi8
        low = int(times.searchsorted(lo.as_unit("ns").value, side="left"))
        return low, int(times.searchsorted(hi.as_unit("ns").value, side="right"))

    def advance(
        self,
        known: pd.Timestamp,
        current: pd.DataFrame,
        lo: pd.Timestamp | None = None,
        hi: pd.Timestamp | None = None,
    ) -> int:
        """Emit ``current``'s new or changed rows as known at ``known``; ``lo``..``hi`` is the window
        of grid points ``current`` covers (None: all of them). Returns how many rows were emitted."""
        if self.newest is None:
            new, start, stop, inside = current, 0, 0, None
        else:
            start, stop = self._window(lo, hi)
            inside = self.newest.iloc[start:stop]
            new = changed_rows(current, inside, self.keys)
        stamped = new.copy()
        stamped.insert(len(self.keys), CREATED_TS, pd.Series([known] * len(new), dtype="datetime64[ns, UTC]"))
        self.emitted.append(stamped)
        if self.newest is None:
            self.newest = _by_time(current, self.keys[:-1])
        elif len(new):
            merged = pd.concat([inside, new], ignore_index=True).drop_duplicates(self.keys, keep="last")
            parts = [self.newest.iloc[:start], _by_time(merged, self.keys[:-1]), self.newest.iloc[stop:]]
            self.newest = pd.concat(parts, ignore_index=True)
        self.done.append(known)
        return len(new)

    def known_points(self) -> pd.DataFrame:
        """The grid points emitted so far (keys and event_timestamp)."""
        if self.newest is None:
            return pd.DataFrame(columns=self.keys)
        return self.newest[self.keys]

    def table(self) -> pd.DataFrame:
        table = pd.concat(self.emitted, ignore_index=True)
        return table.sort_values([*self.keys, CREATED_TS], kind="mergesort").reset_index(drop=True)


# ---- what a batch can change ---------------------------------------------------------------------
def batches_at(store: RawStore, known: pd.Timestamp) -> dict[str, list[Path]]:
    """The batch files declared exactly at ``known``, per table (tables without one left out)."""
    out = {}
    for table in store.sources:
        earlier = set(store.batch_files(table, known - pd.Timedelta(microseconds=1)))
        files = [f for f in store.batch_files(table, known) if f not in earlier]
        if files:
            out[table] = files
    return out


def batch_window(store: RawStore, known: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """Earliest and latest event time of the rows of every non-static table's batches at
    ``known``; None when a static table has a batch there (everything may change)."""
    lo: pd.Timestamp | None = None
    hi: pd.Timestamp | None = None
    for table, files in batches_at(store, known).items():
        if store.sources[table].static:
            return None
        for path in files:
            stamps = pq.read_table(path, columns=[EVENT_TS]).column(EVENT_TS).to_pandas()
            if stamps.empty:
                continue
            first = pd.Timestamp(stamps.min()).tz_convert("UTC")
            last = pd.Timestamp(stamps.max()).tz_convert("UTC")
            lo = first if lo is None else min(lo, first)
            hi = last if hi is None else max(hi, last)
    if lo is None or hi is None:
        return None
    return lo, hi


# ---- the grid as known at a knowledge time ------------------------------------------------------
def raw_views(con: duckdb.DuckDBPyConnection, store: RawStore, known: pd.Timestamp) -> None:
    """Each raw table as a DuckDB view over its Parquet batches known at ``known``: the newest
    version of each (key, event_timestamp), timestamps as naive UTC (as ``naive_utc``)."""
    for name, source in store.sources.items():
        files = store.batch_files(name, known)
        stamps = [c for c, kind in source.stored_columns if kind == "timestamp"]
        if not files:  # nothing known yet: an empty table of the declared columns
            con.register(name, naive_utc(store.read(name, known)))
            continue
        paths = "[" + ", ".join(string_literal(str(f)) for f in files) + "]"
        replace = ", ".join(f'"{c}"::TIMESTAMP AS "{c}"' for c in stamps)
        con.execute(
            f'CREATE OR REPLACE TEMP VIEW "{name}" AS SELECT * REPLACE ({replace}) '
            f"FROM read_parquet({paths}) "
            f'QUALIFY row_number() OVER (PARTITION BY "{source.key}", "{EVENT_TS}" '
            f'ORDER BY "{CREATED_TS}" DESC) = 1'
        )


def new_points(con: duckdb.DuckDBPyConnection, grid: str, known_points: pd.DataFrame, keys: list[str]) -> int:
    """How many points of the grid table ``grid`` are not among ``known_points`` (and mark them)."""
    con.register("__known", known_points)
    on = " AND ".join(f'g."{k}" = k."{k}"' for k in keys)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE __new AS SELECT g.* FROM {grid} AS g ANTI JOIN __known AS k ON {on}"
    )
    con.unregister("__known")
    return int(con.execute("SELECT count(*) FROM __new").fetchone()[0])


# ---- the record of a build ----------------------------------------------------------------------
@dataclass(frozen=True)
class BuildRecord:
    knowledge_times: tuple[pd.Timestamp, ...]
    batches: dict[str, list[str]]  # table -> batch file names consumed
    views: dict[str, dict[str, str]]  # view -> {ref: fingerprint}

    def to_json(self) -> str:
        data = {
            "format": RECORD_FORMAT,
            "knowledge_times": [t.isoformat() for t in self.knowledge_times],
            "batches": {t: self.batches[t] for t in sorted(self.batches)},
            "views": {v: dict(sorted(self.views[v].items())) for v in sorted(self.views)},
        }
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    def write(self, link: Path) -> None:
        write_text_atomic(link / BUILD_RECORD, self.to_json())


def read_record(link: Path) -> BuildRecord | None:
    """The record beside the current generation, or None (none, unreadable, or another format:
    the build then starts over, which is always correct)."""
    path = link / BUILD_RECORD
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != RECORD_FORMAT:
            return None
        return BuildRecord(
            tuple(pd.Timestamp(t).tz_convert("UTC") for t in data["knowledge_times"]),
            {str(t): [str(n) for n in names] for t, names in data["batches"].items()},
            {str(v): {str(r): str(f) for r, f in refs.items()} for v, refs in data["views"].items()},
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


_FILE_HASHES: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256, this process


def _file_hash(path: Path) -> str:
    """A batch file's SHA-256, remembered while its size and modification time stay the same (a
    build reads each file's bytes once, not once for the resume check and again for the record)."""
    stat = path.stat()
    token = (str(path), stat.st_size, stat.st_mtime_ns)
    found = _FILE_HASHES.get(token)
    if found is None:
        if len(_FILE_HASHES) > 100_000:
            _FILE_HASHES.clear()
        found = _FILE_HASHES[token] = file_sha256(path)
    return found


def consumed(store: RawStore, upto: pd.Timestamp) -> dict[str, list[str]]:
    """The batch files known at ``upto``, per table: each name with the SHA-256 of its bytes, so a
    file edited in place behind the store's back (same name) is seen, and the build starts over."""
    return {t: [f"{f.name} {_file_hash(f)}" for f in store.batch_files(t, upto)] for t in store.sources}


def resumable(record: BuildRecord | None, store: RawStore, times: list[pd.Timestamp]) -> BuildRecord | None:
    """``record`` if a build may continue from it: its knowledge times are the first of ``times``
    and the store still holds exactly the batches it consumed (nothing backdated, removed or
    replaced); else None."""
    if record is None or not record.knowledge_times:
        return None
    done = list(record.knowledge_times)
    if times[: len(done)] != done:
        return None
    if consumed(store, done[-1]) != {t: record.batches.get(t, []) for t in store.sources}:
        return None
    return record


def check_built(link: Path, store: RawStore, as_of: pd.Timestamp) -> None:
    """Refuse to read feature tables built before a batch known at or before ``as_of`` was ingested
    (they would silently miss it). Tables without a build record (built before records) pass."""
    record = read_record(link)
    if record is None:
        return
    built = set(record.knowledge_times)
    missing = [t for t in store.knowledge_times() if t <= as_of and t not in built]
    if missing:
        raise NotFoundError(
            f"The feature tables were built before the batch known at {missing[0].isoformat()} was "
            f"ingested ({len(missing)} knowledge time(s) up to as_of={as_of.isoformat()} missing from "
            "them), so a training set would silently miss it. Run `featurelock features build` (or "
            "`featurelock apply`), then build again."
        )


def view_fingerprints(refs: Mapping[str, str]) -> dict[str, str]:
    return {r: refs[r] for r in sorted(refs)}
