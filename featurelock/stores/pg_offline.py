"""A Feast PostgreSQL offline store with the stock store's three defects fixed (production profile).

Selected with ``offline_store: {type: featurelock.stores.pg_offline.FeaturelockPostgreSQLOfflineStore, ...}``.
Feast's stock store (1) builds its entity row id by concatenating casted values, so keys that
concatenate alike collide and a null key makes the id NULL; (2) duplicates output rows on exact
ties; (3) has no as_of. Here: (1) each entity row is numbered (its position), no concatenation;
(2) each entity row takes exactly one feature row per view, by ``LATERAL ... LIMIT 1`` under the
total order (event time, knowledge time, MD5 of the values as text, all descending), the same
order as the DuckDB store; (3) ``featurelock_as_of`` in the entity frame, as locally (see ``retrieval``).
The point-in-time SQL runs inside PostgreSQL; nothing goes through DuckDB's postgres extension.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
from feast.infra.offline_stores.contrib.postgres_offline_store.postgres import (
    PostgreSQLOfflineStore,
    PostgreSQLOfflineStoreConfig,
)
from feast.infra.offline_stores.offline_store import RetrievalJob
from pydantic import StrictStr

from featurelock.stores.pg import PgSettings, connect
from featurelock.stores.pit import ViewRequest, tie_break_sql, ttl_micros
from featurelock.stores.retrieval import historical_retrieval

STORE_TYPE = "featurelock.stores.pg_offline.FeaturelockPostgreSQLOfflineStore"


class FeaturelockPostgreSQLOfflineStoreConfig(PostgreSQLOfflineStoreConfig):
    type: StrictStr = STORE_TYPE  # type: ignore[assignment]
    require_as_of: bool = False  # True: refuse a retrieval whose entity_df has no featurelock_as_of


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _settings(config: Any) -> PgSettings:
    o = config.offline_store
    return PgSettings(o.host, int(o.port), o.database, o.user, o.password, o.db_schema)


def _table_of(source: Any, schema: str) -> str:
    table = source.get_table_query_string() if hasattr(source, "get_table_query_string") else source.table
    return table if "." in table or table.startswith("(") else f"{_q(schema)}.{_q(table)}"


def pit_sql(views: list[ViewRequest], as_of: pd.Timestamp | None) -> str:
    selects, joins = ["e.fl_row"], []
    for i, v in enumerate(views):
        feats = [_q(f) for f in v.features]
        where = [f"f.{_q(k)} = e.{_q(ent)}" for k, ent in v.join_key_map.items()]
        where.append("f.event_timestamp <= e.event_timestamp")
        micros = ttl_micros(v.ttl)
        if micros:
            where.append(f"f.event_timestamp >= e.event_timestamp - interval '{micros} microseconds'")
        if as_of is not None:
            where.append(f"f.created_timestamp <= timestamptz '{as_of.isoformat()}'")
        tie = tie_break_sql([f"f.{c}" for c in feats], "{}::text")
        cols = ", ".join(f"f.{c} AS {_q(f'v{i}_' + name)}" for c, name in zip(feats, v.features, strict=True))
        joins.append(
            f"LEFT JOIN LATERAL (SELECT {cols} FROM {v.path} AS f WHERE {' AND '.join(where)} "
            f"ORDER BY f.event_timestamp DESC, f.created_timestamp DESC, {tie} DESC "
            f"LIMIT 1) AS v{i} ON TRUE"
        )
        selects += [f"v{i}.{_q(f'v{i}_' + name)}" for name in v.features]
    return f"SELECT {', '.join(selects)} FROM fl_entity AS e {' '.join(joins)} ORDER BY e.fl_row"


def point_in_time_join_pg(
    settings: PgSettings,
    entity_df: pd.DataFrame,
    views: list[ViewRequest],
    ts_col: str,
    as_of: pd.Timestamp | None,
) -> pd.DataFrame:
    keys = sorted({c for v in views for c in v.join_key_map.values()})
    upload = pd.DataFrame({"fl_row": np.arange(len(entity_df), dtype=np.int64)})
    upload["event_timestamp"] = (
        entity_df[ts_col].dt.tz_convert("UTC").dt.strftime("%Y-%m-%d %H:%M:%S.%f+00").to_numpy()
    )
    for k in keys:
        upload[k] = entity_df[k].to_numpy()
    buffer = io.StringIO()
    upload.to_csv(buffer, index=False, header=False, na_rep="\\N")
    buffer.seek(0)
    columns = ", ".join(["fl_row bigint", "event_timestamp timestamptz", *(f"{_q(k)} text" for k in keys)])
    with connect(settings) as conn:
        conn.execute(f"CREATE TEMP TABLE fl_entity ({columns}) ON COMMIT DROP")
        with conn.cursor().copy("COPY fl_entity FROM STDIN WITH (FORMAT csv, NULL '\\N')") as copy:
            copy.write(buffer.read())
        cur = conn.execute(pit_sql(views, as_of))
        rows = cur.fetchall()
    out = entity_df.reset_index(drop=True).copy(deep=False)
    position = 1
    for v in views:
        for name, output in zip(v.features, v.output_names, strict=True):
            values = [r[position] for r in rows]
            out[output] = pd.Series(values, dtype=object if name in v.string_features else "float64")
            position += 1
    return out


def knowledge_times_pg(settings: PgSettings, views: list[ViewRequest]) -> list[pd.Timestamp]:
    """Every distinct ``created_timestamp`` of the views' tables, ascending (see
    ``duckdb_join.knowledge_times``)."""
    found: set[pd.Timestamp] = set()
    with connect(settings) as conn:
        for v in views:
            rows = conn.execute(
                f"SELECT DISTINCT created_timestamp FROM {v.path} WHERE created_timestamp IS NOT NULL"
            ).fetchall()
            found.update(pd.Timestamp(r[0]).tz_convert("UTC") for r in rows)
    return sorted(found)


class FeaturelockPostgreSQLOfflineStore(PostgreSQLOfflineStore):
    supports_filter_by_created_timestamp = True  # knowledge per row (retrieval.join_row_knowledge)

    @staticmethod
    def get_historical_features(
        config: Any,
        feature_views: list[Any],
        feature_refs: list[str],
        entity_df: pd.DataFrame | str,
        registry: Any,
        project: str,
        full_feature_names: bool = False,
        **kwargs: Any,
    ) -> RetrievalJob:
        settings = _settings(config)
        return historical_retrieval(
            config,
            feature_views,
            feature_refs,
            entity_df,
            full_feature_names,
            bool(kwargs.get("filter_by_created_timestamp")),
            join=lambda df, views, ts_col, as_of: point_in_time_join_pg(settings, df, views, ts_col, as_of),
            knowledge_times=lambda views: knowledge_times_pg(settings, views),
            locate=lambda source: _table_of(source, settings.schema),
            registry=registry,
            project=project,
        )
