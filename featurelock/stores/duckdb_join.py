"""Point-in-time join with DuckDB's native ASOF JOIN (the engine of our DuckDB offline store).

Semantics: the rule of ``featurelock.stores.pit`` (Feast's, made total, plus an as-of knowledge time):
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

import duckdb
import numpy as np
import pandas as pd

from featurelock.core.errors import ValidationError
from featurelock.core.sql import string_literal
from featurelock.stores.pit import EVENT_CEIL_SQL, ViewRequest, tie_break_sql, ttl_micros

ROW = "__fl_row"


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
    keys = [_q(k) for k in view.join_key_map]
    key_cols = [f"{_q(view.column(k))} AS {_q(k)}" for k in view.join_key_map]
    feats = [_q(f) for f in view.features]
    feat_cols = [f"{_q(view.column(f))} AS {_q(f)}" for f in view.features]
    created = f"{_q(view.created_timestamp_column)}::TIMESTAMPTZ" if view.created_timestamp_column else None
    where = f"WHERE {created} <= TIMESTAMPTZ '{as_of.isoformat()}'" if created and as_of is not None else ""
    con.execute(
        f"CREATE TEMP TABLE raw{i} AS SELECT {', '.join([*key_cols, ''])}"
        f"{EVENT_CEIL_SQL.format(_q(view.timestamp_field))} AS __ts, "
        f"{created or 'NULL::TIMESTAMPTZ'} AS __created, {', '.join(feat_cols)} "
        f"FROM read_parquet({string_literal(view.path)}) {where}"
    )
    group = ", ".join([*keys, "__ts"])
    duplicated = con.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM raw{i} GROUP BY {group} HAVING count(*) > 1)"
    ).fetchone()[0]
    if not duplicated:
        con.execute(f"CREATE TEMP VIEW fv{i} AS SELECT * EXCLUDE (__created) FROM raw{i}")
        return
    tie = tie_break_sql(feats, "CAST({} AS VARCHAR)")
    con.execute(
        f"CREATE TEMP TABLE fv{i} AS SELECT * EXCLUDE (__created) FROM raw{i} "
        f"QUALIFY row_number() OVER (PARTITION BY {group} "
        f"ORDER BY __created DESC NULLS LAST, {tie} DESC) = 1"
    )


def damaged_table(view: str, path: str) -> ValidationError:
    """The one-line refusal of a feature table that cannot be read (nothing is changed)."""
    return ValidationError(
        f"The feature table of view {view!r} ({path}) cannot be read as Parquet with its declared "
        "columns: it was damaged or replaced behind featurelock's back. Run `featurelock features build "
        "--full` to write it again from the raw store."
    )


def knowledge_times(views: Sequence[ViewRequest]) -> list[pd.Timestamp]:
    """Every distinct ``created_timestamp`` of the views read, ascending (empty if no view has one).
    The newest is the as_of of a retrieval that gave none; all of them bound the knowledge slices
    of a retrieval with knowledge per row (``retrieval.join_row_knowledge``)."""
    con = _connect(None)
    found: set[pd.Timestamp] = set()
    for view in views:
        if view.created_timestamp_column:
            column = f"{_q(view.created_timestamp_column)}::TIMESTAMPTZ"
            try:
                rows = con.execute(
                    f"SELECT DISTINCT {column} FROM read_parquet({string_literal(view.path)}) "
                    f"WHERE {column} IS NOT NULL"
                ).fetchall()
            except duckdb.Error as exc:
                con.close()
                raise damaged_table(view.name, view.path) from exc
            found.update(pd.Timestamp(r[0]).tz_convert("UTC") for r in rows)
    con.close()
    return sorted(found)


def _dictionary(values: pd.Series) -> tuple[np.ndarray, pd.DataFrame]:
    """Integer codes of a key column (-1 for null) and the code -> value dictionary."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = pd.DataFrame({"code": np.arange(len(uniques), dtype=np.int32), "value": np.asarray(uniques)})
    return codes.astype(np.int32), table


def point_in_time_join(
    entity_df: pd.DataFrame,
    views: Sequence[ViewRequest],
    event_timestamp_col: str = "event_timestamp",
    as_of: pd.Timestamp | None = None,
    threads: int | None = None,
    value_timestamps: bool = False,
) -> pd.DataFrame:
    """``entity_df``'s columns, then each view's features in request order (optionally ``__ts__<view>``).

    Plan, per view: join keys become int32 codes (one dictionary per entity column, shared by
    the feature table through a join on the value), DuckDB runs one ASOF LEFT JOIN of (row, codes,
    timestamp) against the view's visible rows, and the features come back with their row numbers
    and are put in input order with an Arrow ``take``. Strings never make a round trip and each
    join sorts only its own narrow columns; at 10 million entity rows that is what keeps memory
    and time in bounds.
    """
    con = _connect(threads)
    con.execute("SET preserve_insertion_order = false")
    n = len(entity_df)
    rows = np.arange(n, dtype=np.int64)
    stamps = entity_df[event_timestamp_col].reset_index(drop=True)
    dictionaries: dict[str, np.ndarray] = {}
    for column in sorted({c for v in views for c in v.join_key_map.values()}):
        codes, table = _dictionary(entity_df[column].reset_index(drop=True))
        dictionaries[column] = codes
        con.register(f"dict_{column}", table)
    out = entity_df.reset_index(drop=True).copy(deep=False)
    for i, view in enumerate(views):
        try:
            _load_view(con, i, view, as_of)
        except duckdb.Error as exc:
            con.close()
            raise damaged_table(view.name, view.path) from exc
        pairs = list(view.join_key_map.items())  # (feature-table key, entity column)
        entity = pd.DataFrame({ROW: rows, "__ts": stamps})
        for j, (_, column) in enumerate(pairs):
            entity[f"k{j}"] = dictionaries[column]
        con.register(f"entity{i}", entity)
        mapped = [f"d{j}.code AS k{j}" for j in range(len(pairs))]
        dict_joins = " ".join(
            f"JOIN dict_{column} AS d{j} ON f.{_q(key)} = d{j}.value" for j, (key, column) in enumerate(pairs)
        )
        feats = [f"f.{_q(f)}" for f in view.features]
        con.execute(
            f"CREATE TEMP TABLE coded{i} AS SELECT {', '.join([*mapped, 'f.__ts', *feats])} "
            f"FROM fv{i} AS f {dict_joins}"
        )
        on = [f"e.k{j} = c.k{j}" for j in range(len(pairs))]
        on.append("e.__ts >= c.__ts")
        micros = ttl_micros(view.ttl)
        alive = f"c.__ts + to_microseconds({micros}) >= e.__ts" if micros else "TRUE"
        selects = [f"e.{ROW}"]
        selects += [
            f"CASE WHEN {alive} THEN c.{_q(f)} END AS {_q(o)}"
            for f, o in zip(view.features, view.output_names, strict=True)
        ]
        if value_timestamps:
            selects.append(f"CASE WHEN {alive} THEN c.__ts END AS {_q('__ts__' + view.name)}")
        sql = (
            f"SELECT {', '.join(selects)} FROM entity{i} AS e "
            f"ASOF LEFT JOIN coded{i} AS c ON {' AND '.join(on)}"
        )
        result = con.sql(sql).to_arrow_table()
        order = np.empty(n, dtype=np.int64)
        order[result.column(ROW).to_numpy()] = np.arange(n, dtype=np.int64)
        result = result.take(order).drop_columns([ROW])
        for name, values in zip(result.column_names, result.columns, strict=True):
            out[name] = values.to_pandas()
        con.execute(f"DROP TABLE coded{i}")
    con.close()
    return out
