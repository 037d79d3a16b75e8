"""Build the feature tables with DuckDB: one Parquet table per feature view.

For every knowledge time K declared in the raw store (ascending), the raw tables are taken as
known at K (newest row per (key, event_timestamp) among rows with created_timestamp <= K), each
view's grid and feature SQL run over them, and the rows whose values are new or changed since
the previous knowledge time are emitted with ``created_timestamp = K``. Rebuilding from the same
batches gives the same rows: nothing reads the wall clock, every output is sorted explicitly,
and aggregates are exact (integers, DECIMAL), so DuckDB's thread count cannot change a value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from featurelock.core.errors import DefinitionError
from featurelock.data.schema import CREATED_TS, EVENT_TS
from featurelock.data.store import RawStore, write_parquet
from featurelock.features.catalog import Catalog
from featurelock.features.declare import View
from featurelock.features.generations import new_generation
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


def naive_utc(frame: pd.DataFrame) -> pd.DataFrame:
    """Timezone-aware columns as naive UTC (DuckDB works in naive UTC; no session-zone math)."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].dt.tz_convert("UTC").dt.tz_localize(None).dt.as_unit("us")
    return out


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


def _changed_rows(current: pd.DataFrame, previous: pd.DataFrame | None, keys: list[str]) -> pd.DataFrame:
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


def build_feature_tables(
    catalog: Catalog,
    store: RawStore,
    out_dir: Path,
    threads: int | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
    engine: str = "duckdb",
) -> list[ViewTable]:
    """Compute every view's table from the raw store and publish them as one generation.

    ``engine`` (``duckdb`` or ``spark``) runs the feature SQL; the tables are the same either way.

    ``out_dir`` is the link readers open (``<out_dir>/<view>.parquet``); it is switched once, after
    every table is written (see ``generations``), so a failed or killed build changes nothing.
    """
    project = catalog.project
    check_engine(engine)
    times = store.knowledge_times()
    if not times:
        raise DefinitionError("The raw store is empty; run `featurelock ingest` first.")
    emitted: dict[str, list[pd.DataFrame]] = {v.name: [] for v in catalog.views()}
    latest: dict[str, pd.DataFrame | None] = {v.name: None for v in catalog.views()}
    for known in times:
        tables = {
            name: latest_as_known(store.read(name, known), source.key)
            for name, source in store.sources.items()
        }
        if engine == "spark":  # the raw frames go to Spark once per knowledge time, not once per view
            from featurelock.features.spark_build import compute_view_spark, register_frames
            from featurelock.stores.spark_session import spark_session

            register_frames(spark_session(), tables)
        for view in catalog.views():
            join_keys = project.view_join_keys(view.name)
            keys = [*join_keys, EVENT_TS]
            specs = catalog.view_features(view.name)
            if engine == "spark":
                current = compute_view_spark(None, view, join_keys, specs)
            else:
                current = compute_view(tables, view, join_keys, specs, threads=threads)
            new = _changed_rows(current, latest[view.name], keys)
            new.insert(len(keys), CREATED_TS, pd.Series([known] * len(new), dtype="datetime64[ns, UTC]"))
            emitted[view.name].append(new)
            latest[view.name] = current
            progress(f"  {view.name}: {len(new):,} row(s) known at {known.isoformat()}")
    results = []
    with new_generation(out_dir) as folder:  # all tables switch in together, or none does
        for view in catalog.views():
            table = pd.concat(emitted[view.name], ignore_index=True)
            table = table.sort_values(
                [*project.view_join_keys(view.name), EVENT_TS, CREATED_TS], kind="mergesort"
            )
            write_parquet(table.reset_index(drop=True), folder / f"{view.name}.parquet")
            results.append(ViewTable(view.name, out_dir / f"{view.name}.parquet", len(table), tuple(times)))
    return results
