"""Point-in-time join with DuckDB's native ASOF JOIN (the engine of our Feast offline store).

Semantics (Feast's, made total, plus an as-of knowledge time):
- rows with ``created_timestamp > as_of`` are invisible;
- for each (keys, event_timestamp) the row with the newest ``created_timestamp`` wins, and exact
  ties are broken by the greatest MD5 of the row's feature values, rendered as text and joined
  with ``|`` (null as ``NULL``), so a tie is never arbitrary;
- each entity row gets the newest feature row with ``event_timestamp <= entity timestamp``,
  dropped if older than the view's ttl (``feature_ts + ttl >= entity_ts``; ttl 0 = no expiry);
- one output row per input row, in input order (duplicates kept); a null key matches nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

ROW = "__fl_row"


@dataclass(frozen=True)
class ViewRequest:
    """What to read from one feature view."""

    name: str
    path: str  # Parquet file (or glob) of the view's feature table
    join_key_map: dict[str, str]  # feature-table key -> entity_df column
    features: tuple[str, ...]  # feature columns to read
    output_names: tuple[str, ...]  # names in the output (same length as features)
    ttl: timedelta
    timestamp_field: str = "event_timestamp"
    created_timestamp_column: str | None = "created_timestamp"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _connect(threads: int | None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def _load_view(con: duckdb.DuckDBPyConnection, i: int, view: ViewRequest, as_of: pd.Timestamp | None) -> None:
    """Create ``fv<i>``: the view's rows known at as_of, one per (keys, event_timestamp).

    The total tie order (created_timestamp, then the MD5 of the values) is only evaluated when the
    visible rows hold duplicate (keys, event_timestamp) pairs, e.g. after a correction batch.
    """
    keys = ", ".join(_q(k) for k in view.join_key_map)
    feats = [_q(f) for f in view.features]
    created = _q(view.created_timestamp_column) if view.created_timestamp_column else None
    where = f"WHERE {created} <= TIMESTAMPTZ '{as_of.isoformat()}'" if created and as_of is not None else ""
    con.execute(
        f"CREATE TEMP TABLE raw{i} AS SELECT {keys}, {_q(view.timestamp_field)}::TIMESTAMPTZ AS __ts, "
        f"{created or 'NULL::TIMESTAMPTZ'} AS __created, {', '.join(feats)} "
        f"FROM read_parquet('{view.path}') {where}"
    )
    duplicated = con.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM raw{i} GROUP BY {keys}, __ts HAVING count(*) > 1)"
    ).fetchone()[0]
    if not duplicated:
        con.execute(f"CREATE TEMP VIEW fv{i} AS SELECT * EXCLUDE (__created) FROM raw{i}")
        return
    values = ", ".join(f"coalesce(CAST({f} AS VARCHAR), 'NULL')" for f in feats)
    con.execute(
        f"CREATE TEMP TABLE fv{i} AS SELECT * EXCLUDE (__created) FROM raw{i} "
        f"QUALIFY row_number() OVER (PARTITION BY {keys}, __ts "
        f"ORDER BY __created DESC NULLS LAST, md5(concat_ws('|', {values})) DESC) = 1"
    )


def point_in_time_join(
    entity_df: pd.DataFrame,
    views: Sequence[ViewRequest],
    event_timestamp_col: str = "event_timestamp",
    as_of: pd.Timestamp | None = None,
    threads: int | None = None,
    value_timestamps: bool = False,
) -> pa.Table:
    """Entity columns, then each view's features in request order (optionally ``__ts__<view>``)."""
    con = _connect(threads)
    frame = entity_df.copy()
    frame[ROW] = np.arange(len(frame), dtype="int64")
    con.register("entity", frame)
    selects = [f"e.{_q(c)}" for c in entity_df.columns]
    joins = []
    ets = f"e.{_q(event_timestamp_col)}"
    for i, view in enumerate(views):
        _load_view(con, i, view, as_of)
        on = [f"e.{_q(ent)} = fv{i}.{_q(key)}" for key, ent in view.join_key_map.items()]
        on.append(f"{ets} >= fv{i}.__ts")
        joins.append(f"ASOF LEFT JOIN fv{i} ON {' AND '.join(on)}")
        if view.ttl > timedelta(0):
            micros = int(view.ttl / timedelta(microseconds=1))
            alive = f"fv{i}.__ts + to_microseconds({micros}) >= {ets}"
        else:
            alive = "TRUE"
        for feature, out in zip(view.features, view.output_names, strict=True):
            selects.append(f"CASE WHEN {alive} THEN fv{i}.{_q(feature)} END AS {_q(out)}")
        if value_timestamps:
            selects.append(f"CASE WHEN {alive} THEN fv{i}.__ts END AS {_q('__ts__' + view.name)}")
    sql = f"SELECT {', '.join(selects)} FROM entity AS e {' '.join(joins)} ORDER BY e.{ROW}"
    table = con.sql(sql).to_arrow_table()
    con.close()
    return table
