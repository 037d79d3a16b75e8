"""Point-in-time join on Spark (the engine of the ``spark`` profile's offline store).

Semantics: exactly those of ``featurelock.stores.duckdb_join`` (the rule of ``featurelock.stores.pit``):
rows with ``created_timestamp > as_of`` are invisible; one row per (keys, event_timestamp), the
newest ``created_timestamp`` winning and exact ties broken by the greatest MD5 of the values as
DuckDB renders them as text; each entity row takes the newest feature row with
``event_timestamp <= entity timestamp``, missing if older than the ttl; one output row per entity
row, in input order (duplicates kept); a null key matches nothing.

Plan, per view, with no range join (nothing fans out): entity rows are numbered before anything
else (``__fl_row``), then unioned with the view's rows; one window per view, partitioned by the
join keys and ordered by (time, feature rows before entity rows), carries the newest feature row
forward with ``last(struct, ignorenulls)``, so all of a row's values come from the same feature
row. Only entity rows are kept; each view's result returns to the driver as Arrow and is put in
input order by its row numbers, which must be each number exactly once (asserted).
Nothing here aggregates a float: values are moved, never computed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from featurelock.core.errors import ValidationError
from featurelock.stores.pit import ViewRequest, from_micros, to_micros, ttl_micros
from featurelock.stores.spark_session import spark_schema, spark_session

ROW = "__fl_row"


def _micros_column(frame: Any, column: str, up: bool = False) -> Any:
    """A timestamp column as Spark reads it; nanosecond Parquet (read as integers) brought to whole
    microseconds exactly (integer arithmetic): floored, or with ``up`` rounded up (an event time:
    the rule of ``pit``, as the DuckDB store's ``EVENT_CEIL_SQL``)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType

    field = frame.schema[column]
    if isinstance(field.dataType, LongType):
        nanos = "`" + column.replace("`", "``") + "`"
        whole = f"({nanos} - pmod({nanos}, 1000)) div 1000"
        if up:
            whole = f"{whole} + CASE WHEN pmod({nanos}, 1000) > 0 THEN 1 ELSE 0 END"
        return F.timestamp_micros(F.expr(whole)).cast("timestamp")
    return F.col(column).cast("timestamp")


def duckdb_text(value: Any) -> str:
    """A value rendered as DuckDB's ``CAST(value AS VARCHAR)`` renders it (for the tie-break)."""
    if value is None:
        return "NULL"
    if isinstance(value, float | np.floating) and np.isnan(value):
        return "nan"  # DuckDB renders a NaN (a value, not a null) as nan
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return str(value)


def _tie_break(values: Any) -> Any:
    """MD5 of the values as DuckDB renders them, joined with ``|`` (``pit.tie_break_sql``)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    @F.udf(returnType=StringType())
    def md5_of(row: Any) -> str:
        text = "|".join(duckdb_text(v) for v in row)
        return hashlib.md5(text.encode()).hexdigest()

    return md5_of(values)


def read_view(spark: Any, view: ViewRequest, as_of: pd.Timestamp | None) -> Any:
    """The view's rows known at ``as_of``, one per (keys, event_timestamp), keys not null:
    columns ``k0..``, ``__ts``, ``v0..``."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    raw = spark.read.parquet(view.path)
    keys = [F.col(view.column(k)).alias(f"k{j}") for j, k in enumerate(view.join_key_map)]
    feats = [F.col(view.column(f)).alias(f"v{m}") for m, f in enumerate(view.features)]
    created = (
        _micros_column(raw, view.created_timestamp_column)
        if view.created_timestamp_column
        else F.lit(None).cast("timestamp")
    )
    rows = raw.select(
        *keys, _micros_column(raw, view.timestamp_field, up=True).alias("__ts"), created.alias("__c"), *feats
    )
    if view.created_timestamp_column and as_of is not None:
        rows = rows.where(F.col("__c") <= F.timestamp_micros(F.lit(to_micros(as_of.to_pydatetime()))))
    for j in range(len(view.join_key_map)):
        rows = rows.where(F.col(f"k{j}").isNotNull())
    group = [f"k{j}" for j in range(len(view.join_key_map))] + ["__ts"]
    if rows.groupBy(*group).count().where(F.col("count") > 1).limit(1).count() == 0:
        return rows.drop("__c")
    tie = _tie_break(F.struct(*[F.col(f"v{m}") for m in range(len(view.features))]))
    order = Window.partitionBy(*group).orderBy(F.col("__c").desc_nulls_last(), tie.desc())
    return rows.withColumn("__n", F.row_number().over(order)).where(F.col("__n") == 1).drop("__n", "__c")


def _entity_rows(spark: Any, entity_df: pd.DataFrame, ts_col: str, columns: list[str]) -> Any:
    """The entity rows Spark joins: (row number, timestamp, key columns); numbered before the join."""
    upload = pd.DataFrame({ROW: np.arange(len(entity_df), dtype=np.int64)})
    upload["__ts"] = entity_df[ts_col].dt.tz_convert("UTC").dt.as_unit("us")
    for i, column in enumerate(columns):
        upload[f"e{i}"] = entity_df[column].reset_index(drop=True)  # its dtype kept (Int64 stays integer)
    return spark.createDataFrame(upload, schema=spark_schema(upload))


def _join_view(entity: Any, columns: list[str], view: ViewRequest, rows: Any, stamps: bool) -> Any:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    pairs = list(view.join_key_map.items())  # (feature-table key, entity column)
    key_types = [rows.schema[f"k{j}"].dataType for j in range(len(pairs))]
    values = F.struct(F.col("__ts").alias("vts"), *[F.col(f"v{m}") for m in range(len(view.features))])
    feature_side = rows.select(
        F.lit(None).cast("long").alias(ROW),
        *[F.col(f"k{j}") for j in range(len(pairs))],
        F.col("__ts"),
        F.lit(0).alias("__kind"),
        values.alias("__v"),
    )
    entity_side = entity.select(
        F.col(ROW),
        *[
            F.col(f"e{columns.index(column)}").cast(key_types[j]).alias(f"k{j}")
            for j, (_, column) in enumerate(pairs)
        ],
        F.col("__ts"),
        F.lit(1).alias("__kind"),
        F.lit(None).cast(feature_side.schema["__v"].dataType).alias("__v"),
    )
    keys = [F.col(f"k{j}") for j in range(len(pairs))]
    window = (
        Window.partitionBy(*keys)
        .orderBy(F.col("__ts"), F.col("__kind"))
        .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    )
    carried = feature_side.unionByName(entity_side).withColumn(
        "__w", F.last(F.col("__v"), ignorenulls=True).over(window)
    )
    joined = carried.where(F.col("__kind") == 1)
    # a null key matches nothing (feature rows with null keys were dropped; this also covers a
    # null entity key sharing a partition with nothing)
    matched = F.lit(True)
    for key in keys:
        matched = matched & key.isNotNull()
    micros = ttl_micros(view.ttl)
    alive = matched & F.col("__w").isNotNull()
    if micros:
        alive = alive & (F.unix_micros(F.col("__w.vts")) + F.lit(micros) >= F.unix_micros(F.col("__ts")))
    selects = [F.col(ROW)]
    selects += [F.when(alive, F.col(f"__w.v{m}")).alias(f"o{m}") for m in range(len(view.features))]
    if stamps:
        selects.append(F.when(alive, F.col("__w.vts")).alias("ots"))
    return joined.select(*selects)


def _in_input_order(result: pa.Table, n: int, view: str) -> pa.Table:
    """The result's rows in input order; each row number must appear exactly once."""
    rows = result.column(ROW).to_numpy()
    counts = np.bincount(rows, minlength=n) if len(rows) else np.zeros(n, dtype=np.int64)
    if len(rows) != n or len(counts) != n or not (counts == 1).all():
        raise ValidationError(
            f"Spark join of view {view!r} returned {len(rows)} row(s) for {n} entity row(s) (row numbers "
            "not each exactly once); this is a featurelock defect: please report it."
        )
    order = np.empty(n, dtype=np.int64)
    order[rows] = np.arange(n, dtype=np.int64)
    return result.take(order).drop_columns([ROW])


def point_in_time_join_spark(
    entity_df: pd.DataFrame,
    views: Sequence[ViewRequest],
    event_timestamp_col: str = "event_timestamp",
    as_of: pd.Timestamp | None = None,
    value_timestamps: bool = False,
) -> pd.DataFrame:
    """``entity_df``'s columns, then each view's features in request order (as ``duckdb_join``)."""
    spark = spark_session()
    n = len(entity_df)
    columns = sorted({c for v in views for c in v.join_key_map.values()})
    frame = entity_df.reset_index(drop=True)
    entity = _entity_rows(spark, frame, event_timestamp_col, columns).cache()
    out = frame.copy(deep=False)
    try:
        for view in views:
            rows = read_view(spark, view, as_of)
            result = _in_input_order(
                _join_view(entity, columns, view, rows, value_timestamps).toArrow(), n, view.name
            )
            names = list(view.output_names) + (["__ts__" + view.name] if value_timestamps else [])
            for name, values in zip(names, result.columns, strict=True):
                out[name] = values.to_pandas()
    finally:
        entity.unpersist()
    return out


def knowledge_times_spark(views: Sequence[ViewRequest]) -> list[pd.Timestamp]:
    """Every distinct ``created_timestamp`` of the views read, ascending (see
    ``duckdb_join.knowledge_times``)."""
    from pyspark.sql import functions as F

    spark = spark_session()
    found: set[pd.Timestamp] = set()
    for view in views:
        if view.created_timestamp_column:
            raw = spark.read.parquet(view.path)
            micros = F.unix_micros(_micros_column(raw, view.created_timestamp_column)).alias("c")
            for row in raw.select(micros).where(F.col("c").isNotNull()).distinct().collect():
                found.add(pd.Timestamp(from_micros(row[0])))
    return sorted(found)
