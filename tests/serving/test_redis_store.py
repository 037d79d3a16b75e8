"""The monotonic Redis online store (real redis-server): same rules and same answers as SQLite."""

from __future__ import annotations

import shutil
from datetime import timedelta
from types import SimpleNamespace

import pytest
import redis

from featurelock.core.errors import StoreUnavailableError
from featurelock.stores.redis_online import FeaturelockRedisOnlineStore, FeaturelockRedisOnlineStoreConfig
from featurelock.stores.sqlite_online import FeaturelockSqliteOnlineStore, FeaturelockSqliteOnlineStoreConfig
from tests.conftest import PrivateRedis
from tests.serving.test_online_store import K1, K2, T0, TTL, key, read, write

DB = 13  # this suite's own Redis database number, flushed before and after

pytestmark = pytest.mark.slow  # a real server


def redis_config(tmp_path, connection: str):
    return SimpleNamespace(
        project="t",
        repo_path=tmp_path,
        entity_key_serialization_version=3,
        registry=SimpleNamespace(enable_online_feature_view_versioning=False),
        online_store=FeaturelockRedisOnlineStoreConfig(connection_string=connection),
    )


@pytest.fixture
def view(tmp_path):
    from feast import Entity, FeatureView, Field, FileSource, ValueType
    from feast.types import Float64, String

    return FeatureView(
        name="carrier_stats",
        entities=[Entity(name="carrier", join_keys=["carrier"], value_type=ValueType.STRING)],
        ttl=TTL,
        schema=[Field(name="carrier", dtype=String), Field(name="x", dtype=Float64)],
        source=FileSource(name="s", path=str(tmp_path / "x.parquet"), timestamp_field="event_timestamp"),
    )


@pytest.fixture
def redis_store(tmp_path, view):
    client = redis.Redis(host="127.0.0.1", port=6379, db=DB)
    client.flushdb()
    yield FeaturelockRedisOnlineStore(), redis_config(tmp_path, f"127.0.0.1:6379,db={DB}"), view
    client.flushdb()


@pytest.fixture
def sqlite_store(tmp_path, view):
    config = SimpleNamespace(
        project="t",
        repo_path=tmp_path,
        entity_key_serialization_version=3,
        registry=SimpleNamespace(enable_online_feature_view_versioning=False),
        online_store=FeaturelockSqliteOnlineStoreConfig(path=str(tmp_path / "o.db")),
    )
    store = FeaturelockSqliteOnlineStore()
    store.update(config, [], [view], [], [], False)
    return store, config, view


WRITES = [  # carrier, value, event, created: in an adversarial order
    ("AA", 2.0, T0 + timedelta(hours=1), K1),
    ("AA", 1.0, T0, K2),  # older event written later: must not win
    ("UA", 5.0, T0, K1),
    ("UA", 5.5, T0, K2),  # same-time correction: must win (Feast's Redis store skips it)
    ("UA", 9.0, T0, K1),  # replay of the original: must not undo the correction
    ("DL", 7.0, T0 - timedelta(hours=3), K1),  # will be past its ttl at T0
]
READS = [(c, T0 + d) for c in ("AA", "UA", "DL", "ZZ") for d in (timedelta(0), timedelta(hours=1), TTL)]


def answers(store, config, view):
    for carrier, x, event, created in WRITES:
        write(store, config, view, carrier, x, event, created)
    return [read(store, config, view, carrier, at) for carrier, at in READS]


def test_redis_and_sqlite_give_identical_answers(redis_store, sqlite_store):
    got = answers(*redis_store)
    assert got == answers(*sqlite_store)
    by = dict(zip(READS, got, strict=True))
    assert by[("AA", T0 + timedelta(hours=1))] == (2.0, T0 + timedelta(hours=1))
    assert by[("AA", T0)] is None  # the stored value is from the future at T0
    assert by[("UA", T0)] == (5.5, T0)
    assert by[("UA", T0 + TTL)] == (5.5, T0)  # exactly ttl old: kept
    assert by[("DL", T0)] is None  # older than ttl
    assert by[("ZZ", T0)] is None


def test_redis_down_is_503_and_recovers_on_a_private_server(tmp_path, view):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed; .ci/run needs it (Debian package redis-server)")
    server = PrivateRedis().start()
    port = server.port
    store, config = FeaturelockRedisOnlineStore(), redis_config(tmp_path, f"127.0.0.1:{port}")
    try:
        write(store, config, view, "AA", 1.0, T0, K1)
        assert read(store, config, view, "AA", T0) == (1.0, T0)
        server.stop()
        with pytest.raises(
            StoreUnavailableError, match=rf"Redis online store at 127.0.0.1:{port} is unavailable"
        ):
            read(store, config, view, "AA", T0)
        with pytest.raises(StoreUnavailableError, match=r"retry when it is back"):
            write(store, config, view, "AA", 2.0, T0, K2)
        server.start()  # back (empty: this server keeps nothing on disk)
        write(store, config, view, "AA", 3.0, T0, K1)
        assert read(store, config, view, "AA", T0) == (3.0, T0)
    finally:
        server.stop()
        store._client = None


def test_keys_are_isolated_per_database(redis_store):
    store, config, view = redis_store
    write(store, config, view, "AA", 1.0, T0, K1)
    assert redis.Redis(host="127.0.0.1", port=6379, db=DB).dbsize() == 1
    assert key("AA").entity_values[0].string_val == "AA"


@pytest.mark.parametrize("which", ["redis", "sqlite"])
def test_issue13_item11_a_rewound_view_takes_older_rows_again(redis_store, sqlite_store, which):
    """Before: Feast's Redis delete left our (event, created) fields behind, so after
    `materialize --rewind` every older row was refused and parity reported 704 mismatches."""
    store, config, view = redis_store if which == "redis" else sqlite_store
    write(store, config, view, "AA", 2.0, T0 + timedelta(hours=1), K1)
    store.update(
        config,
        tables_to_delete=[view],
        tables_to_keep=[],
        entities_to_delete=[],
        entities_to_keep=[],
        partial=True,
    )
    store.update(
        config,
        tables_to_delete=[],
        tables_to_keep=[view],
        entities_to_delete=[],
        entities_to_keep=[],
        partial=True,
    )
    assert read(store, config, view, "AA", T0 + timedelta(hours=1)) is None  # emptied
    write(store, config, view, "AA", 1.0, T0, K1)  # the rewind writes the older row
    assert read(store, config, view, "AA", T0) == (1.0, T0)


@pytest.mark.parametrize("which", ["redis", "sqlite"])
def test_materialize_marks_live_in_the_store(redis_store, sqlite_store, which):
    store, config, _ = redis_store if which == "redis" else sqlite_store
    assert store.read_marker(config, "carrier_stats") is None
    store.write_marker(config, "carrier_stats", "abc")
    assert store.read_marker(config, "carrier_stats") == "abc"
    store.write_marker(config, "carrier_stats", None)
    assert store.read_marker(config, "carrier_stats") is None
