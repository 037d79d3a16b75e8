"""Build the feature tables with DuckDB (or Spark): one Parquet table per feature view.

For every knowledge time K declared in the raw store (ascending), the raw tables are taken as
known at K (newest row per (key, event_timestamp) among rows with created_timestamp <= K), each
view's grid and feature SQL run over them, and the rows whose values are new or changed since
the previous knowledge time (compared with the newest row emitted per grid point) are emitted
with ``created_timestamp = K``. Rebuilding from the same batches gives the same rows: nothing
reads the wall clock, every output is sorted explicitly, and aggregates are exact (integers,
DECIMAL), so DuckDB's thread count cannot change a value.

A build is incremental (see ``build_feature_tables`` and ``increments``): knowledge times a
previous build covered are not computed again, and a view whose features declare a ``lookback``
recomputes only what a new batch can reach. ``full=True`` gives the same tables from nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import duckdb
import pandas as pd

from featurelock.core.errors import DefinitionError
from featurelock.data.schema import CREATED_TS, EVENT_TS
from featurelock.data.store import RawStore, write_parquet
from featurelock.features.catalog import Catalog
from featurelock.features.declare import View
from featurelock.features.generations import new_generation
from featurelock.features.increments import (
    BuildRecord,
    ViewState,
    batch_window,
    consumed,
    naive_utc,
    new_points,
    raw_views,
    read_record,
    resumable,
    view_fingerprints,
)
from featurelock.features.spec import PANDAS_DTYPE, FeatureSpec

ENGINES = ("duckdb", "spark")


def check_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise DefinitionError(f"engine={engine!r} is not an engine; expected one of {list(ENGINES)}.")
    return engine


@dataclass(frozen=True)
class ViewTable:
    view: str
    path: Path
    rows: int
    knowledge_times: tuple[pd.Timestamp, ...]


def _connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")
    return con


def _register(con: duckdb.DuckDBPyConnection, tables: Mapping[str, pd.DataFrame]) -> None:
    for name in sorted(tables):
        con.register(name, naive_utc(tables[name]))


def latest_as_known(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """Newest version (by created_timestamp) of each (key, event_timestamp) fact."""
    ordered = frame.sort_values([key, EVENT_TS, CREATED_TS], kind="mergesort")
    return ordered.drop_duplicates([key, EVENT_TS], keep="last").reset_index(drop=True)


def _to_utc(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series).dt.tz_localize("UTC").dt.as_unit("ns")


def _feature_sql(spec: FeatureSpec, keys: tuple[str, ...]) -> str:
    cols = ", ".join([*keys, EVENT_TS, "value"])
    return f"SELECT {cols} FROM ({spec.sql()}) AS feature"


def _run(con: duckdb.DuckDBPyConnection, sql: str, what: str) -> None:
    """Execute ``sql``; a DuckDB error names the module (or declaration) whose SQL it is."""
    try:
        con.execute(sql)
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DefinitionError(
            f"{what}: its SQL failed in DuckDB: {type(exc).__name__}: {first}. It must yield the "
            "view's join keys, event_timestamp and value over the raw tables and `grid`."
        ) from exc


def _check_unique(con: duckdb.DuckDBPyConnection, relation: str, keys: tuple[str, ...], what: str) -> None:
    cols = ", ".join([*keys, EVENT_TS])
    dup = con.execute(
        f"SELECT {cols}, count(*) AS n FROM {relation} GROUP BY ALL HAVING n > 1 ORDER BY ALL LIMIT 1"
    ).fetchall()
    if dup:
        raise DefinitionError(
            f"{what} returns more than one row for ({cols}) = {dup[0][:-1]}; "
            "a feature has one value per entity and timestamp."
        )


def compute_view(
    tables: Mapping[str, pd.DataFrame],
    view: View,
    keys: tuple[str, ...],
    specs: list[FeatureSpec],
    grid: pd.DataFrame | None = None,
    threads: int | None = None,
    engine: str = "duckdb",
) -> pd.DataFrame:
    """One view's feature table over ``tables`` (raw frames as known at one moment).

    Returns the join keys, ``event_timestamp`` (UTC) and one column per feature version, in
    grid order (keys, then time). ``grid`` overrides the view's grid (used by unit tests).
    ``engine`` ``spark`` computes the same frame on Spark (``spark_build``).
    """
    if check_engine(engine) == "spark":
        from featurelock.features.spark_build import compute_view_spark

        return compute_view_spark(tables, view, keys, specs, grid=grid)
    con = _connect(threads)
    _register(con, tables)
    if grid is not None:
        con.register("grid_frame", naive_utc(grid[[*keys, EVENT_TS]]))
        con.execute("CREATE TEMP TABLE grid AS SELECT * FROM grid_frame")
    else:
        _run(
            con,
            f"CREATE TEMP TABLE grid AS SELECT {', '.join(keys)}, {EVENT_TS} FROM ({view.grid_sql})",
            f"the grid of view {view.name!r} (its View declaration)",
        )
    _check_unique(con, "grid", keys, f"the grid of view {view.name!r}")
    selects, joins = [], []
    on = " AND ".join(f"g.{k} = f{{i}}.{k}" for k in (*keys, EVENT_TS))
    for i, spec in enumerate(sorted(specs, key=lambda s: (s.name, s.version))):
        _run(con, f"CREATE TEMP TABLE f{i} AS {_feature_sql(spec, keys)}", f"{spec.module or spec.ref}")
        _check_unique(con, f"f{i}", keys, f"feature {spec.ref}")
        selects.append(f"f{i}.value AS {spec.column}")
        joins.append(f"LEFT JOIN f{i} ON {on.format(i=i)}")
    order = ", ".join(f"g.{k}" for k in (*keys, EVENT_TS))
    key_cols = ", ".join(f"g.{k}" for k in (*keys, EVENT_TS))
    sql = f"SELECT {', '.join([key_cols, *selects])} FROM grid AS g {' '.join(joins)} ORDER BY {order}"
    frame = con.execute(sql).df()
    con.close()
    frame[EVENT_TS] = _to_utc(frame[EVENT_TS])
    for spec in specs:
        frame[spec.column] = frame[spec.column].astype(PANDAS_DTYPE[spec.dtype])
    for key in keys:
        frame[key] = frame[key].astype(object)
    return frame.reset_index(drop=True)


def compute_feature(
    catalog: Catalog, ref: str, tables: Mapping[str, pd.DataFrame], grid: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One feature version over hand-built raw frames: keys, event_timestamp, ``<name>_v<N>``."""
    spec = catalog.spec(ref)
    if spec.view is None:
        raise DefinitionError(f"{spec.ref} is a request feature; call its function on the request fields.")
    project = catalog.project
    return compute_view(
        tables, project.views[spec.view], project.view_join_keys(spec.view), [spec], grid=grid
    )


def view_lookback(specs: list[FeatureSpec]) -> timedelta | None:
    """A view's lookback: the longest its features declare, or None if one declares none (then
    the view is recomputed in full at every knowledge time)."""
    if not specs or any(s.lookback is None for s in specs):
        return None
    return max(s.lookback for s in specs if s.lookback is not None)


@dataclass
class _Known:
    """The raw tables as known at one knowledge time: whole (read only when a view needs them
    whole), or as one window of event times shared by every view recomputed incrementally."""

    store: RawStore
    known: pd.Timestamp
    engine: str
    threads: int | None = None
    _tables: dict[str, pd.DataFrame] | None = None
    _grids: duckdb.DuckDBPyConnection | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        if self._tables is None:
            self._tables = {
                name: latest_as_known(self.store.read(name, self.known), source.key)
                for name, source in self.store.sources.items()
            }
            if self.engine == "spark":  # to Spark once per knowledge time, not once per view
                from featurelock.features.spark_build import register_frames
                from featurelock.stores.spark_session import spark_session

                register_frames(spark_session(), self._tables)
        return self._tables

    def grids(self) -> duckdb.DuckDBPyConnection:
        """One DuckDB connection whose raw tables are views over the Parquet batches known here."""
        if self._grids is None:
            self._grids = _connect(self.threads)
            raw_views(self._grids, self.store, self.known)
        return self._grids

    def window(self, lo: pd.Timestamp, hi: pd.Timestamp) -> dict[str, pd.DataFrame]:
        """Event-timed tables restricted to events in ``[lo, hi]``; static tables whole."""
        return {
            name: latest_as_known(
                self.store.read(name, self.known, between=None if source.static else (lo, hi)), source.key
            )
            for name, source in self.store.sources.items()
        }

    def close(self) -> None:
        if self._grids is not None:
            self._grids.close()
            self._grids = None


def _full(
    known: _Known, view: View, keys: tuple[str, ...], specs: list[FeatureSpec], threads: int | None
) -> pd.DataFrame:
    if known.engine == "spark":
        from featurelock.features.spark_build import compute_view_spark

        known.tables()  # registered on Spark
        return compute_view_spark(None, view, keys, specs)
    return compute_view(known.tables(), view, keys, specs, threads=threads)


@dataclass(frozen=True)
class _Window:
    """The grid points of one view a batch can reach, and the event times they read."""

    grid: pd.DataFrame
    lo: pd.Timestamp
    hi: pd.Timestamp
    lookback: timedelta

    @property
    def reads(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        return self.lo - self.lookback, self.hi + self.lookback


def _reach(
    known: _Known,
    view: View,
    keys: tuple[str, ...],
    state: ViewState,
    lookback: timedelta,
    changed: tuple[pd.Timestamp, pd.Timestamp],
) -> _Window:
    """The grid points a batch can change: those within ``lookback`` of its events ``[e0, e1]``,
    plus the grid points new since the last knowledge time (a new key, a longer span), the window
    widened to cover them. Every other point keeps its value (that is what a lookback declares,
    and ``featurelock lock`` tries it). The grid is taken whole, by DuckDB from the Parquet batches."""
    lo, hi = changed[0] - lookback, changed[1] + lookback
    con = known.grids()
    _run(
        con,
        f"CREATE OR REPLACE TEMP TABLE __grid AS SELECT {', '.join(keys)}, {EVENT_TS} FROM ({view.grid_sql})",
        f"the grid of view {view.name!r} (its View declaration)",
    )
    if new_points(con, "__grid", naive_utc(state.known_points()), [*keys, EVENT_TS]):
        first, last = con.execute(f"SELECT min({EVENT_TS}), max({EVENT_TS}) FROM __new").fetchone()
        lo, hi = min(lo, _utc(first)), max(hi, _utc(last))
    between = f"{EVENT_TS} BETWEEN TIMESTAMP '{_naive(lo)}' AND TIMESTAMP '{_naive(hi)}'"
    grid = con.execute(f"SELECT * FROM __grid WHERE {between} ORDER BY ALL").df()
    grid[EVENT_TS] = pd.to_datetime(grid[EVENT_TS]).dt.as_unit("us")
    return _Window(grid, lo, hi, lookback)


def _within(tables: dict[str, pd.DataFrame], store: RawStore, lo: pd.Timestamp, hi: pd.Timestamp) -> dict:
    """``tables`` (read for a wider window) cut to events in ``[lo, hi]``; static tables whole."""
    out = {}
    for name, frame in tables.items():
        if store.sources[name].static:
            out[name] = frame
        else:
            stamps = frame[EVENT_TS]
            out[name] = frame[(stamps >= lo) & (stamps <= hi)].reset_index(drop=True)
    return out


def _utc(value: object) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _naive(stamp: pd.Timestamp) -> str:
    return stamp.tz_convert("UTC").tz_localize(None).isoformat()


def build_feature_tables(
    catalog: Catalog,
    store: RawStore,
    out_dir: Path,
    threads: int | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
    engine: str = "duckdb",
    full: bool = False,
) -> list[ViewTable]:
    """Compute every view's table from the raw store and publish them as one generation.

    ``engine`` (``duckdb`` or ``spark``) runs the feature SQL; the tables are the same either way.

    Incremental by default: a build continues from the previous generation's record
    (``increments.BuildRecord``) and processes only the knowledge times it has not seen; at each,
    a view whose features all declare a ``lookback`` recomputes only the grid points the new
    batches can reach, every other view is recomputed whole. ``full=True`` starts from nothing and
    recomputes every view whole at every knowledge time; both give the same tables, so the same
    generation name. A view whose features changed (a new version) is rebuilt from its start.

    ``out_dir`` is the link readers open (``<out_dir>/<view>.parquet``); it is switched once, after
    every table is written (see ``generations``), so a failed or killed build changes nothing.
    """
    project = catalog.project
    check_engine(engine)
    times = store.knowledge_times()
    if not times:
        raise DefinitionError("The raw store is empty; run `featurelock ingest` first.")
    fingerprints = catalog.fingerprints()
    wanted = {
        v.name: view_fingerprints({s.ref: fingerprints[s.ref] for s in catalog.view_features(v.name)})
        for v in catalog.views()
    }
    record = None if full else resumable(read_record(out_dir), store, times)
    states: dict[str, ViewState] = {}
    for view in catalog.views():
        keys = [*project.view_join_keys(view.name), EVENT_TS]
        previous = out_dir / f"{view.name}.parquet"
        if record is not None and record.views.get(view.name) == wanted[view.name] and previous.exists():
            states[view.name] = ViewState.resumed(
                pd.read_parquet(previous), keys, list(record.knowledge_times)
            )
            progress(f"  {view.name}: continues from {record.knowledge_times[-1].isoformat()}")
        else:
            states[view.name] = ViewState(keys)
    for known in times:
        todo = [v for v in catalog.views() if known not in states[v.name].done]
        if not todo:
            continue
        moment = _Known(store, known, engine, threads)
        changed = None if full else batch_window(store, known)
        whole, windows = [], {}
        for view in todo:
            lookback = view_lookback(catalog.view_features(view.name))
            state = states[view.name]
            if lookback is None or changed is None or state.newest is None:
                whole.append(view)
            else:
                keys = project.view_join_keys(view.name)
                windows[view.name] = _reach(moment, view, keys, state, lookback, changed)
        moment.close()
        # whole recomputes first: on Spark the whole tables stay registered until the windows come
        for view in whole:
            current = _full(
                moment, view, project.view_join_keys(view.name), catalog.view_features(view.name), threads
            )
            emitted = states[view.name].advance(known, current)
            progress(f"  {view.name}: {emitted:,} row(s) known at {known.isoformat()}")
        if windows:  # one read of each table for every window of this knowledge time
            read = moment.window(
                min(w.reads[0] for w in windows.values()), max(w.reads[1] for w in windows.values())
            )
        for name in sorted(windows):
            w, view = windows[name], project.views[name]
            tables = _within(read, store, *w.reads)
            specs = catalog.view_features(name)
            keys = project.view_join_keys(name)
            current = compute_view(tables, view, keys, specs, grid=w.grid, threads=threads, engine=engine)
            emitted = states[name].advance(known, current, w.lo, w.hi)
            progress(
                f"  {name}: {emitted:,} row(s) known at {known.isoformat()} "
                f"({len(current):,} grid point(s) recomputed)"
            )
    results = []
    with new_generation(out_dir) as folder:  # all tables switch in together, or none does
        for view in catalog.views():
            table = states[view.name].table()
            write_parquet(table, folder / f"{view.name}.parquet")
            results.append(ViewTable(view.name, out_dir / f"{view.name}.parquet", len(table), tuple(times)))
    BuildRecord(tuple(times), consumed(store, times[-1]), wanted).write(out_dir)
    return results
