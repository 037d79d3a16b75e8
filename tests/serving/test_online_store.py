"""The monotonic SQLite online store: older rows never win, corrections do, ttl applies on read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pandas as pd
import pytest
from feast import Entity, FeatureView, Field, FileSource, ValueType
from feast.protos.feast.types.EntityKey_pb2 import EntityKey
from feast.protos.feast.types.Value_pb2 import Value
from feast.types import Float64, String

from featurelock.core.errors import StoreUnavailableError
from featurelock.stores.duckdb_join import ViewRequest, point_in_time_join
from featurelock.stores.retrieval import AS_OF_COLUMN
from featurelock.stores.sqlite_online import (
    FeaturelockSqliteOnlineStore,
    FeaturelockSqliteOnlineStoreConfig,
)

T0 = datetime(2013, 6, 1, 12, tzinfo=UTC)
K1, K2 = datetime(2014, 1, 2, tzinfo=UTC), datetime(2014, 2, 1, tzinfo=UTC)
TTL = timedelta(hours=2)


@pytest.fixture
def store(tmp_path):
    config = SimpleNamespace(
        project="t",
        repo_path=tmp_path,
        entity_key_serialization_version=3,
        registry=SimpleNamespace(enable_online_feature_view_versioning=False),
        online_store=FeaturelockSqliteOnlineStoreConfig(
            path=str(tmp_path / "online.db"), busy_timeout_seconds=0.2
        ),
    )
    view = FeatureView(
        name="carrier_stats",
        entities=[Entity(name="carrier", join_keys=["carrier"], value_type=ValueType.STRING)],
        ttl=TTL,
        schema=[Field(name="carrier", dtype=String), Field(name="x", dtype=Float64)],
        source=FileSource(name="s", path=str(tmp_path / "x.parquet"), timestamp_field="event_timestamp"),
    )
    s = FeaturelockSqliteOnlineStore()
    s.update(config, [], [view], [], [], False)
    return s, config, view


def key(carrier: str) -> EntityKey:
    return EntityKey(join_keys=["carrier"], entity_values=[Value(string_val=carrier)])


def write(s, config, view, carrier, x, event, created):
    s.online_write_batch(config, view, [(key(carrier), {"x": Value(double_val=x)}, event, created)], None)


def read(s, config, view, carrier, at):
    ts, values = s.read_at(config, view, [key(carrier)], ["x"], at)[0]
    return None if values is None else (values["x"].double_val, ts)


def test_older_row_written_later_never_replaces_a_newer_one(store):
    s, config, view = store
    write(s, config, view, "AA", 2.0, T0 + timedelta(hours=1), K1)
    write(s, config, view, "AA", 1.0, T0, K2)  # older event, even with a later knowledge time
    assert read(s, config, view, "AA", T0 + timedelta(hours=1)) == (2.0, T0 + timedelta(hours=1))


def test_same_time_correction_with_later_knowledge_time_replaces(store):
    s, config, view = store
    write(s, config, view, "AA", 1.0, T0, K1)
    write(s, config, view, "AA", 1.5, T0, K2)
    assert read(s, config, view, "AA", T0) == (1.5, T0)
    write(s, config, view, "AA", 9.0, T0, K1)  # a replay of the original batch does not undo it
    assert read(s, config, view, "AA", T0) == (1.5, T0)


def test_ttl_and_future_rule_match_the_offline_join(store, tmp_path):
    s, config, view = store
    write(s, config, view, "AA", 1.0, T0, K1)
    table = pd.DataFrame(
        {
            "carrier": ["AA"],
            "event_timestamp": [pd.Timestamp(T0)],
            "created_timestamp": [pd.Timestamp(K1)],
            "x": [1.0],
        }
    )
    table.to_parquet(tmp_path / "x.parquet", index=False)
    times = [T0 - timedelta(seconds=1), T0, T0 + TTL, T0 + TTL + timedelta(seconds=1)]
    online = [read(s, config, view, "AA", t) for t in times]
    assert [None if o is None else o[0] for o in online] == [None, 1.0, 1.0, None]
    entity = pd.DataFrame({"carrier": ["AA"] * 4, "event_timestamp": pd.to_datetime(times, utc=True)})
    entity[AS_OF_COLUMN] = pd.Timestamp(K1)
    req = ViewRequest(
        "carrier_stats", str(tmp_path / "x.parquet"), {"carrier": "carrier"}, ("x",), ("x",), TTL
    )
    offline = point_in_time_join(entity, [req], as_of=pd.Timestamp(K1))["x"].tolist()
    assert [None if pd.isna(v) else v for v in offline] == [None if o is None else o[0] for o in online]


def test_unknown_entity_is_missing_not_an_error(store):
    s, config, view = store
    assert read(s, config, view, "ZZ", T0) is None


def test_locked_database_is_reported_as_unavailable(store):
    import sqlite3

    s, config, view = store
    write(s, config, view, "AA", 1.0, T0, K1)
    blocker = sqlite3.connect(config.online_store.path)
    blocker.execute("BEGIN EXCLUSIVE")
    with pytest.raises(StoreUnavailableError, match=r"could not be read .*database is locked.*retry"):
        read(s, config, view, "AA", T0)
    blocker.rollback()
    blocker.close()
    assert read(s, config, view, "AA", T0) == (1.0, T0)


def test_compiled_preprocessing_is_bit_identical_or_not_used():
    import numpy as np

    from featurelock.serving.fast_path import FastPredictor
    from featurelock.training.model import make_pipeline
    from tests.training.test_model import SPECS

    columns = ["a_v1", "b_v1", "sched_dep_dow_v1"]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    x[:, 2] = rng.integers(0, 7, 300)
    x[rng.random(x.shape) < 0.1] = np.nan
    y = (rng.random(300) < 0.3).astype(int)
    for name in ("hist_gradient_boosting", "logistic_regression"):
        params = {"max_iter": 10} if name.startswith("hist") else {}
        pipe = make_pipeline(SPECS[name], params, 0, columns, {"sched_dep_dow_v1": "onehot"}).fit(x, y)
        fast = FastPredictor(pipe, 3)
        assert fast.compiled
        probe = rng.normal(size=(500, 3))
        probe[:, 2] = rng.integers(-2, 9, 500)  # unknown days of week too
        probe[rng.random(probe.shape) < 0.2] = np.nan
        # each row as scikit-learn computes it alone (a linear model's batch may round otherwise)
        alone = np.vstack([pipe.predict_proba(probe[i : i + 1]) for i in range(len(probe))])
        assert np.array_equal(fast.predict_proba(probe), alone)
        assert np.array_equal(fast.research_proba(probe), alone)


def test_a_read_without_a_time_is_an_error_not_now(store):
    from featurelock.core.errors import ValidationError

    s, config, view = store
    write(s, config, view, "AA", 1.0, T0, K1)
    with pytest.raises(ValidationError, match=r"at is None: a point-in-time read needs the time"):
        s.read_at(config, view, [key("AA")], ["x"], None)
    with pytest.raises(ValidationError, match=r"is naive; pass a timezone-aware datetime"):
        s.read_at(config, view, [key("AA")], ["x"], datetime(2013, 6, 1, 12))
