"""Feature tables computed on Spark: the same feature modules, the same values, bit for bit.

A feature's SQL is written once, in DuckDB's dialect, and transpiled to Spark SQL with sqlglot.
``compute_view_spark`` mirrors ``build.compute_view`` step for step (grid, uniqueness checks, one
left join per version, explicit order) so a view's table is the same frame on either engine. What
keeps the values identical is the rule the DuckDB build already follows: aggregates are exact
(integer counts and sums, DECIMAL sums), then one IEEE operation (a cast or a division), which
every engine rounds alike. A floating-point sum or mean depends on the order its terms are added
in, which differs between engines (and between threads): such a feature is refused at
``featurelock lock`` when the project declares Spark (``feature_store.spark.yaml``), because the
cross-engine trial finds a differing bit or the engine check names the aggregate.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import pandas as pd

from featurelock.core.errors import DefinitionError
from featurelock.data.schema import EVENT_TS
from featurelock.features.declare import View
from featurelock.features.spec import PANDAS_DTYPE, FeatureSpec
from featurelock.stores.spark_session import spark_schema

_MICROS = {"MICROSECOND": 1, "MILLISECOND": 1_000, "SECOND": 1_000_000, "MINUTE": 60_000_000}
_MICROS |= {"HOUR": 3_600_000_000, "DAY": 86_400_000_000, "WEEK": 7 * 86_400_000_000}


def _day_to_second(interval: Any) -> Any:
    """``INTERVAL n UNIT`` (a fixed length) as Spark's ``INTERVAL 'd hh:mm:ss.ffffff' DAY TO SECOND``;
    anything else (months, expressions) is returned unchanged."""
    from sqlglot import exp

    unit = str(interval.args.get("unit").name if interval.args.get("unit") else "").upper().rstrip("S")
    amount = interval.this
    if unit not in _MICROS or not isinstance(amount, exp.Literal):
        return interval
    try:
        micros = int(str(amount.this)) * _MICROS[unit]
    except ValueError:
        return interval
    days, rest = divmod(micros, 86_400_000_000)
    seconds, fraction = divmod(rest, 1_000_000)
    text = f"{days} {seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}.{fraction:06d}"
    return exp.Interval(this=exp.Literal.string(text), unit=exp.var("DAY TO SECOND"))


@lru_cache(maxsize=512)
def to_spark_sql(sql: str) -> str:
    """DuckDB SQL as Spark SQL (sqlglot); a construct sqlglot cannot carry over raises.

    One rewrite of our own: Spark wants both bounds of a RANGE frame of one interval type (DuckDB
    takes ``24 HOUR PRECEDING AND 1 MICROSECOND PRECEDING``), so fixed-length bounds become DAY TO
    SECOND intervals of the same length.
    """
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ErrorLevel

    tree = sqlglot.parse_one(sql, read="duckdb")
    for window in list(tree.find_all(exp.WindowSpec)):
        for bound in ("start", "end"):
            if isinstance(window.args.get(bound), exp.Interval):
                window.set(bound, _day_to_second(window.args[bound]))
    return tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)


def register_frames(spark: Any, tables: Mapping[str, pd.DataFrame]) -> None:
    """Each raw frame as a Spark temp view of its name, typed from its pandas dtypes (so an empty
    frame keeps its schema); timestamps are instants in UTC."""
    for name in sorted(tables):
        frame = tables[name].reset_index(drop=True)
        schema = spark_schema(frame)
        data = frame.copy()
        for column in data.columns:
            if isinstance(data[column].dtype, pd.DatetimeTZDtype):
                data[column] = data[column].dt.tz_convert("UTC")
            elif pd.api.types.is_datetime64_dtype(data[column].dtype):
                data[column] = data[column].dt.tz_localize("UTC")
        spark.createDataFrame(data, schema=schema).createOrReplaceTempView(name)


def _sql(spark: Any, sql: str, what: str) -> Any:
    """Run ``sql`` (DuckDB dialect) on Spark; a transpile or Spark error names the module."""
    try:
        return spark.sql(to_spark_sql(sql))
    except Exception as exc:  # sqlglot's and Spark's errors alike
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise DefinitionError(
            f"{what}: its SQL does not run on Spark: {type(exc).__name__}: {first}. Write it in the "
            "subset of SQL both DuckDB and Spark run (sqlglot transpiles DuckDB's dialect)."
        ) from exc


def _check_unique(frame: Any, keys: tuple[str, ...], what: str) -> None:
    from pyspark.sql import functions as F

    cols = [*keys, EVENT_TS]
    dup = frame.groupBy(*cols).count().where(F.col("count") > 1).orderBy(*cols).limit(1).collect()
    if dup:
        raise DefinitionError(
            f"{what} returns more than one row for ({', '.join(cols)}) = {tuple(dup[0])[:-1]}; "
            "a feature has one value per entity and timestamp."
        )


def compute_view_spark(
    tables: Mapping[str, pd.DataFrame] | None,
    view: View,
    keys: tuple[str, ...],
    specs: list[FeatureSpec],
    grid: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``build.compute_view`` on Spark: the same frame (columns, order, dtypes, values).
    ``tables`` None: the caller registered the raw frames already (``register_frames``)."""
    from featurelock.stores.spark_session import spark_session

    spark = spark_session()
    if tables is not None:
        register_frames(spark, tables)
    cols = ", ".join([*keys, EVENT_TS])
    if grid is not None:
        register_frames(spark, {"__fl_grid": grid[[*keys, EVENT_TS]]})
        grid_frame = spark.table("__fl_grid")
    else:
        grid_frame = _sql(
            spark, f"SELECT {cols} FROM ({view.grid_sql}) AS g", f"the grid of view {view.name!r} (its View)"
        )
    grid_frame = grid_frame.cache()
    grid_frame.createOrReplaceTempView("grid")
    _check_unique(grid_frame, keys, f"the grid of view {view.name!r}")
    selects, joins, cached = [], [], [grid_frame]
    on = " AND ".join(f"g.{k} = f{{i}}.{k}" for k in (*keys, EVENT_TS))
    for i, spec in enumerate(sorted(specs, key=lambda s: (s.name, s.version))):
        feature = _sql(
            spark, f"SELECT {cols}, value FROM ({spec.sql()}) AS feature", f"{spec.module or spec.ref}"
        ).cache()
        cached.append(feature)
        _check_unique(feature, keys, f"feature {spec.ref}")
        feature.createOrReplaceTempView(f"__fl_f{i}")
        selects.append(f"f{i}.value AS {spec.column}")
        joins.append(f"LEFT JOIN __fl_f{i} AS f{i} ON {on.format(i=i)}")
    order = ", ".join(f"g.{k}" for k in (*keys, EVENT_TS))
    sql = f"SELECT {order}, {', '.join(selects)} FROM grid AS g {' '.join(joins)} ORDER BY {order}"
    try:
        frame = spark.sql(sql).toArrow().to_pandas()
    finally:
        for relation in cached:
            relation.unpersist()
    stamps = frame[EVENT_TS]
    stamps = (
        stamps.dt.tz_convert("UTC")
        if isinstance(stamps.dtype, pd.DatetimeTZDtype)
        else stamps.dt.tz_localize("UTC")
    )
    frame[EVENT_TS] = stamps.dt.as_unit("ns")
    for spec in specs:
        frame[spec.column] = frame[spec.column].astype(PANDAS_DTYPE[spec.dtype])
    for key in keys:
        frame[key] = frame[key].astype(object)
    return frame.reset_index(drop=True)
