"""New York wall-clock times to UTC, checked on the two DST days of 2013 and on real rows."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.conftest import nyc_module, ts

_SOURCES = nyc_module("features/sources.py")
flights_frame = _SOURCES.flights_frame
local_clock_to_utc = _SOURCES.local_clock_to_utc
weather_frame = _SOURCES.weather_frame


def s(values):
    return pd.Series(values)


def test_spring_forward_day_uses_edt_after_and_est_before():
    out = local_clock_to_utc(s([2013, 2013, 2013]), s([3, 3, 3]), s([9, 10, 10]), s([500, 130, 500]))
    # 05:00 EST on the 9th = 10:00Z; 01:30 EST on the 10th = 06:30Z; 05:00 EDT on the 10th = 09:00Z
    assert out.tolist() == [ts("2013-03-09T10:00Z"), ts("2013-03-10T06:30Z"), ts("2013-03-10T09:00Z")]


def test_nonexistent_and_ambiguous_wall_times_need_a_hint():
    with pytest.raises(ValueError, match=r"ambiguous or do not exist.*hint_utc"):
        local_clock_to_utc(s([2013]), s([3]), s([10]), s([230]))
    with pytest.raises(ValueError, match=r"ambiguous or do not exist"):
        local_clock_to_utc(s([2013]), s([11]), s([3]), s([130]))
    hint = pd.Series([ts("2013-11-03T05:00Z"), ts("2013-11-03T06:00Z")])
    out = local_clock_to_utc(s([2013, 2013]), s([11, 11]), s([3, 3]), s([130, 130]), hint)
    assert out.tolist() == [ts("2013-11-03T05:30Z"), ts("2013-11-03T06:30Z")]


def test_hint_that_disagrees_is_an_error():
    with pytest.raises(ValueError, match=r"disagree with their UTC hour"):
        local_clock_to_utc(s([2013]), s([1]), s([1]), s([515]), pd.Series([ts("2013-01-01T11:00Z")]))


def test_flights_frame_on_real_rows():
    raw = pd.DataFrame(
        {
            "year": [2013, 2013, 2013],
            "month": [3, 3, 12],
            "day": [10, 9, 31],
            "dep_time": [454.0, None, 5.0],
            "sched_dep_time": [500, 2359, 2359],
            "dep_delay": [-6.0, None, 6.0],
            "arr_time": [None, None, 400.0],
            "sched_arr_time": [800, 330, 350],
            "arr_delay": [None, None, 10.0],
            "carrier": ["US", "B6", "B6"],
            "flight": [1433, 727, 745],
            "tailnum": ["N555UW", None, "N3ACAA"],
            "origin": ["LGA", "JFK", "JFK"],
            "dest": ["CLT", "BQN", "PSE"],
            "air_time": [None, None, 200.0],
            "distance": [544, 1576, 1617],
            "hour": [5, 23, 23],
            "minute": [0, 59, 59],
            "time_hour": ["2013-03-10T09:00:00Z", "2013-03-10T04:00:00Z", "2014-01-01T04:00:00Z"],
        }
    )
    out = flights_frame(raw)
    assert out["flight_id"].tolist() == [
        "20130310-US1433-LGA-0500",
        "20130309-B60727-JFK-2359",
        "20131231-B60745-JFK-2359",
    ]
    assert out["event_timestamp"].tolist() == [
        ts("2013-03-10T09:00Z"),
        ts("2013-03-10T04:59Z"),
        ts("2014-01-01T04:59Z"),
    ]
    # actual departure = scheduled + delay, across midnight (00:05 local on Jan 1st 2014)
    assert out["dep_utc"].iloc[0] == ts("2013-03-10T08:54Z")
    assert pd.isna(out["dep_utc"].iloc[1])
    assert out["dep_utc"].iloc[2] == ts("2014-01-01T05:05Z")
    assert out["cancelled"].tolist() == [False, True, False]


def test_weather_frame_keeps_both_fall_back_hours():
    raw = pd.DataFrame(
        {
            "origin": ["EWR", "EWR"],
            "year": [2013, 2013],
            "month": [11, 11],
            "day": [3, 3],
            "hour": [1, 1],
            "temp": [50.0, 49.0],
            "time_hour": ["2013-11-03T05:00:00Z", "2013-11-03T06:00:00Z"],
        }
    )
    out = weather_frame(raw)
    assert out["event_timestamp"].tolist() == [ts("2013-11-03T05:00Z"), ts("2013-11-03T06:00Z")]
    assert "time_hour" not in out.columns
