"""The PostgreSQL offline store (real server) against the same brute-force oracle as the DuckDB one."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pandas as pd
import pytest
from feast import Entity, FeatureView, Field, ValueType
from feast.infra.offline_stores.contrib.postgres_offline_store.postgres_source import PostgreSQLSource
from feast.types import Float64, Int64, String

from featurelock.stores.pg import PgSettings, connect, replace_table
from featurelock.stores.pg_offline import FeaturelockPostgreSQLOfflineStore
from tests.conftest import ts
from tests.training.test_offline_store_oracle import (
    CARRIER_ROWS,
    CARRIER_TTL,
    ENTITY_ROWS,
    K1,
    K2,
    ROUTE_ROWS,
    ROUTE_TTL,
    brute_force,
    entity_df,
)

SCHEMA = f"fl_oracle_{os.getpid()}"

pytestmark = pytest.mark.slow  # a real server


@pytest.fixture(scope="module")
def settings():
    s = PgSettings(
        "127.0.0.1", int(os.environ.get("FEATURELOCK_PG_PORT", "5432")), "test", "postgres", "", SCHEMA
    )
    route = pd.DataFrame(
        ROUTE_ROWS, columns=["origin", "dest", "event_timestamp", "created_timestamp", "x", "y"]
    )
    route["event_timestamp"] = route["event_timestamp"].map(ts)
    route["x"] = route["x"].astype("Int64")
    carrier = pd.DataFrame(CARRIER_ROWS, columns=["carrier", "event_timestamp", "created_timestamp", "z"])
    carrier["event_timestamp"] = carrier["event_timestamp"].map(ts)
    replace_table(route.iloc[::-1], "route_view", settings=s)
    replace_table(carrier, "carrier_view", settings=s)
    yield s
    with connect(s) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')


def views():
    ents = {
        k: Entity(name=k, join_keys=[k], value_type=ValueType.STRING) for k in ("origin", "dest", "carrier")
    }

    def source(name):
        return PostgreSQLSource(
            name=name,
            table=f"{SCHEMA}.{name}",
            timestamp_field="event_timestamp",
            created_timestamp_column="created_timestamp",
        )

    route = FeatureView(
        name="route_view",
        entities=[ents["origin"], ents["dest"]],
        ttl=ROUTE_TTL,
        schema=[
            Field(name="origin", dtype=String),
            Field(name="dest", dtype=String),
            Field(name="x", dtype=Int64),
            Field(name="y", dtype=Float64),
        ],
        source=source("route_view"),
    )
    carrier = FeatureView(
        name="carrier_view",
        entities=[ents["carrier"]],
        ttl=CARRIER_TTL,
        schema=[Field(name="carrier", dtype=String), Field(name="z", dtype=Float64)],
        source=source("carrier_view"),
    )
    return [route, carrier]


@pytest.mark.parametrize("as_of", [K1, K2], ids=["as-of-K1", "as-of-K2"])
def test_postgres_store_equals_brute_force_cell_for_cell(settings, as_of):
    config = SimpleNamespace(
        offline_store=SimpleNamespace(
            host=settings.host,
            port=settings.port,
            database=settings.database,
            user=settings.user,
            password=settings.password,
            db_schema=settings.schema,
        )
    )
    refs = ["route_view:x", "route_view:y", "carrier_view:z"]
    out = FeaturelockPostgreSQLOfflineStore.get_historical_features(
        config, views(), refs, entity_df(as_of), None, "test"
    ).to_df()
    assert len(out) == len(ENTITY_ROWS)  # one row per entity row: no duplicates on the exact tie
    expected = []
    for origin, dest, carrier, when in ENTITY_ROWS:
        route = brute_force(ROUTE_ROWS, 2, (origin, dest), ts(when), ROUTE_TTL, as_of) or (None, None)
        carr = brute_force(CARRIER_ROWS, 1, (carrier,), ts(when), CARRIER_TTL, as_of) or (None,)
        expected.append((*route, *carr))
    got = [
        tuple(None if pd.isna(v) else v for v in row) for row in out[["x", "y", "z"]].itertuples(index=False)
    ]
    assert got == expected
