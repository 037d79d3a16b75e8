"""Every feature version on small hand-built frames, against hand-computed values.

Windows are half-open [t - w, t): a fact exactly w old counts; a fact at t, or 1 s after, does not.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from featurelock.features.build import compute_feature
from featurelock.features.catalog import discover
from featurelock.features.request_values import request_column
from tests.conftest import nyc, ts, utc_series

CATALOG = discover(nyc())


def feature(ref: str):
    return CATALOG.spec(ref)


def values(frame: pd.DataFrame, column: str) -> list:
    return [None if pd.isna(v) else v for v in frame[column].tolist()]


def grid(keys: dict[str, list[str]], times: list[str]) -> pd.DataFrame:
    data = {k: v for k, v in keys.items()}
    data["event_timestamp"] = utc_series(times)
    return pd.DataFrame(data)


# ---- origin weather: value at the observation hour --------------------------------------------------

WEATHER = pd.DataFrame(
    {
        "origin": ["EWR", "EWR", "JFK"],
        "event_timestamp": utc_series(["2013-11-03T05:00Z", "2013-11-03T06:00Z", "2013-11-03T05:00Z"]),
        "temp": [50.0, None, 48.2],
        "wind_speed": [10.35702, 0.0, None],
        "visib": [10.0, 2.5, None],
        "precip": [0.0, 0.03, None],
    }
)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("origin_temp@v1", [50.0, None, 48.2]),
        ("origin_wind_speed@v1", [10.35702, 0.0, None]),
        ("origin_visib@v1", [10.0, 2.5, None]),
        ("origin_precip@v1", [0.0, 0.03, None]),
    ],
)
def test_weather_features_take_the_observation_of_the_hour_nulls_kept(ref, expected):
    # 2013-11-03 is the fall-back DST day: 05:00Z and 06:00Z are both 01:00 local; both are kept.
    out = compute_feature(CATALOG, ref, {"weather": WEATHER})
    assert out["origin"].tolist() == ["EWR", "EWR", "JFK"]
    assert out["event_timestamp"].tolist() == [
        ts("2013-11-03T05:00Z"),
        ts("2013-11-03T06:00Z"),
        ts("2013-11-03T05:00Z"),
    ]
    assert values(out, feature(ref).column) == expected
    assert out[feature(ref).column].dtype == "float64"


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("origin_temp@v2", [50.0, None, 48.2]),
        ("origin_wind_speed@v2", [10.35702, 0.0, None]),
        ("origin_visib@v2", [10.0, 2.5, None]),
        ("origin_precip@v2", [0.0, 0.03, None]),
    ],
)
def test_weather_v2_is_known_one_hour_after_its_label(ref, expected):
    """Issue 13, item 9: the reading labelled HH:00 is taken up to HH:51, so v2 makes it known at
    HH+1:00 (v1, kept unchanged above, uses the label and may see a reading from after t)."""
    out = compute_feature(CATALOG, ref, {"weather": WEATHER})
    assert out["event_timestamp"].tolist() == [
        ts("2013-11-03T06:00Z"),
        ts("2013-11-03T07:00Z"),
        ts("2013-11-03T06:00Z"),
    ]
    assert values(out, feature(ref).column) == expected


# ---- origin precipitation over [t - 3h, t) ----------------------------------------------------------


def test_origin_precip_3h_window_edges_and_nulls():
    weather = pd.DataFrame(
        {
            "origin": ["EWR"] * 5 + ["JFK"],
            "event_timestamp": utc_series(
                [
                    "2013-03-10T06:00Z",  # exactly 3h before t=09:00: counts
                    "2013-03-10T07:00Z",
                    "2013-03-10T08:59:59Z",
                    "2013-03-10T09:00Z",  # at t: does not count
                    "2013-03-10T09:00:01Z",  # after t: does not count
                    "2013-03-10T05:00Z",  # JFK: 4h before t, outside the window
                ]
            ),
            "precip": [0.01, 0.02, None, 0.50, 0.70, 0.30],
        }
    )
    g = grid(
        {"origin": ["EWR", "JFK", "EWR"]}, ["2013-03-10T09:00Z", "2013-03-10T09:00Z", "2013-03-10T10:00Z"]
    )
    out = compute_feature(CATALOG, "origin_precip_3h@v1", {"weather": weather}, grid=g)
    got = values(out, "origin_precip_3h_v1")
    # EWR@09: 0.01 + 0.02 (the null observation adds nothing); JFK@09: no observation -> null;
    # EWR@10: window [07:00, 10:00) holds 0.02, null, 0.50, 0.70 -> 1.22.
    assert got[0] == 0.03  # summed exactly in DECIMAL, then converted: no float drift
    assert got[1] == 1.22
    assert got[2] is None
    assert out["origin"].tolist() == ["EWR", "EWR", "JFK"]


def test_origin_precip_3h_v2_counts_a_reading_from_one_hour_after_its_label():
    weather = pd.DataFrame(
        {
            "origin": ["EWR"] * 4,
            "event_timestamp": utc_series(
                [
                    "2013-03-10T05:00Z",  # known 06:00, exactly 3h before t=09:00: counts
                    "2013-03-10T07:00Z",  # known 08:00: counts
                    "2013-03-10T08:00Z",  # known 09:00 = t: does not count (v1 counted it)
                    "2013-03-10T04:59:59Z",  # known 05:59:59: outside the window
                ]
            ),
            "precip": [0.01, 0.02, 0.50, 0.30],
        }
    )
    g = grid({"origin": ["EWR"]}, ["2013-03-10T09:00Z"])
    assert values(
        compute_feature(CATALOG, "origin_precip_3h@v2", {"weather": weather}, grid=g), "origin_precip_3h_v2"
    ) == [0.03]
    assert values(
        compute_feature(CATALOG, "origin_precip_3h@v1", {"weather": weather}, grid=g), "origin_precip_3h_v1"
    ) == [0.52]


# ---- origin departures over [t - 1h, t) -------------------------------------------------------------


def test_origin_departures_1h_counts_actual_departures_only():
    flights = pd.DataFrame(
        {
            "origin": ["LGA", "LGA", "LGA", "LGA", "LGA", "EWR"],
            "dep_utc": utc_series(
                [
                    "2013-03-10T11:00Z",  # exactly 1h before t: counts
                    "2013-03-10T11:30Z",
                    "2013-03-10T12:00Z",  # at t: no
                    "2013-03-10T12:00:01Z",  # after t: no
                    None,  # cancelled: never departed
                    "2013-03-10T11:59:59Z",
                ]
            ),
        }
    )
    g = grid({"origin": ["LGA", "EWR", "JFK"]}, ["2013-03-10T12:00Z"] * 3)
    out = compute_feature(CATALOG, "origin_departures_1h@v1", {"flights": flights}, grid=g)
    assert out["origin"].tolist() == ["EWR", "JFK", "LGA"]
    assert values(out, "origin_departures_1h_v1") == [1, 0, 2]
    assert str(out["origin_departures_1h_v1"].dtype) == "Int64"


# ---- carrier delay mean over [t - 7 days, t): v1 counts cancellations as 0, v2 excludes them --------

CARRIER_FLIGHTS = pd.DataFrame(
    {
        "carrier": ["AA", "AA", "AA", "AA", "AA", "UA"],
        # scheduled departure (event time); actual departure = scheduled + delay
        "event_timestamp": utc_series(
            [
                "2013-03-03T11:50Z",
                "2013-03-08T10:00Z",
                "2013-03-09T12:00Z",
                "2013-03-10T11:00Z",
                "2013-03-10T11:40Z",
                "2013-03-05T00:00Z",
            ]
        ),
        "dep_utc": utc_series(
            [
                "2013-03-03T12:00Z",  # exactly 7 days (168 h, across the DST change) before t
                "2013-03-08T10:30Z",
                None,  # cancelled, scheduled inside the window
                "2013-03-10T12:00Z",  # departs at t: not yet
                "2013-03-10T12:00:01Z",  # departs 1 s after t
                "2013-03-05T00:05Z",
            ]
        ),
        "dep_delay": pd.array([10, 30, None, 60, 20, 5], dtype="Int64"),
    }
)
CARRIER_GRID = grid(
    {"carrier": ["AA", "AA", "UA", "DL"]},
    ["2013-03-10T12:00Z", "2013-03-10T12:00:01Z", "2013-03-10T12:00Z", "2013-03-10T12:00Z"],
)


def test_carrier_dep_delay_mean_7d_v1_counts_cancelled_as_zero():
    out = compute_feature(
        CATALOG, "carrier_dep_delay_mean_7d@v1", {"flights": CARRIER_FLIGHTS}, grid=CARRIER_GRID
    )
    assert out["carrier"].tolist() == ["AA", "AA", "DL", "UA"]
    got = values(out, "carrier_dep_delay_mean_7d_v1")
    # AA@12:00:00 -> (10 + 30 + 0) / 3. AA@12:00:01: the 03-03T12:00 departure is now 1 s too old,
    # the 12:00:00 departure is in -> (30 + 0 + 60) / 3. DL has no flight; UA one.
    assert got[0] == pytest.approx(40 / 3)
    assert got[1] == pytest.approx(30.0)
    assert got[2] is None
    assert got[3] == pytest.approx(5.0)


def test_carrier_dep_delay_mean_7d_v2_excludes_cancelled():
    out = compute_feature(
        CATALOG, "carrier_dep_delay_mean_7d@v2", {"flights": CARRIER_FLIGHTS}, grid=CARRIER_GRID
    )
    got = values(out, "carrier_dep_delay_mean_7d_v2")
    # AA@12:00:00 -> (10 + 30) / 2 ; AA@12:00:01 -> (30 + 60) / 2
    assert got == [20.0, 45.0, None, 5.0]


def test_seven_day_window_is_168_hours_across_dst():
    # 2013-03-03T12:00Z is 07:00 EST; 2013-03-10T12:00Z is 08:00 EDT. In UTC it is exactly 7 days old
    # and counts; one second earlier it would not.
    flights = CARRIER_FLIGHTS.iloc[[0]].copy()
    g = grid({"carrier": ["AA", "AA"]}, ["2013-03-10T12:00Z", "2013-03-10T12:00:01Z"])
    out = compute_feature(CATALOG, "carrier_dep_delay_mean_7d@v2", {"flights": flights}, grid=g)
    assert values(out, "carrier_dep_delay_mean_7d_v2") == [10.0, None]


# ---- carrier share delayed 15+ over [t - 24h, t) ----------------------------------------------------


def test_carrier_delayed_share_24h():
    flights = pd.DataFrame(
        {
            "carrier": ["B6"] * 6,
            "dep_utc": utc_series(
                [
                    "2013-11-02T12:00Z",  # exactly 24h before t, delay 15 -> late, counts
                    "2013-11-03T01:00Z",  # delay 14 -> on time
                    "2013-11-03T06:30Z",  # delay 90 -> late (DST fall-back night)
                    "2013-11-03T11:00Z",  # delay -5 -> on time
                    "2013-11-03T12:00Z",  # at t: excluded
                    None,  # cancelled: excluded
                ]
            ),
            "dep_delay": pd.array([15, 14, 90, -5, 200, None], dtype="Int64"),
        }
    )
    g = grid({"carrier": ["B6", "B6"]}, ["2013-11-03T12:00Z", "2013-11-02T12:00Z"])
    out = compute_feature(CATALOG, "carrier_delayed_share_24h@v1", {"flights": flights}, grid=g)
    assert out["event_timestamp"].tolist() == [ts("2013-11-02T12:00Z"), ts("2013-11-03T12:00Z")]
    assert values(out, "carrier_delayed_share_24h_v1") == [None, 0.5]


# ---- route delay mean over [t - 30 days, t) ---------------------------------------------------------


def test_route_dep_delay_mean_30d_keys_on_origin_and_dest():
    flights = pd.DataFrame(
        {
            "origin": ["JFK", "JFK", "JFK", "EWR", "JFK"],
            "dest": ["LAX", "LAX", "LAX", "LAX", "SFO"],
            "dep_utc": utc_series(
                [
                    "2013-02-08T00:00Z",  # exactly 30 days before t: counts
                    "2013-02-07T23:59:59Z",  # 1 s too old
                    "2013-03-09T23:00Z",
                    "2013-03-01T00:00Z",  # other route (EWR-LAX)
                    "2013-03-01T00:00Z",  # other route (JFK-SFO)
                ]
            ),
            "dep_delay": pd.array([12, 1000, -2, 50, 7], dtype="Int64"),
        }
    )
    g = grid({"origin": ["JFK", "EWR", "JFK"], "dest": ["LAX", "LAX", "SFO"]}, ["2013-03-10T00:00Z"] * 3)
    out = compute_feature(CATALOG, "route_dep_delay_mean_30d@v1", {"flights": flights}, grid=g)
    assert list(zip(out["origin"], out["dest"], strict=True)) == [
        ("EWR", "LAX"),
        ("JFK", "LAX"),
        ("JFK", "SFO"),
    ]
    assert values(out, "route_dep_delay_mean_30d_v1") == [50.0, 5.0, 7.0]


# ---- plane specs (static) ---------------------------------------------------------------------------

PLANES = pd.DataFrame(
    {
        "tailnum": ["N10156", "N102UW", "N1NULL"],
        "event_timestamp": utc_series(["2013-01-01T00:00Z"] * 3),
        "year": pd.array([2004, 1998, None], dtype="Int64"),
        "seats": pd.array([55, 182, 2], dtype="Int64"),
    }
)


def test_plane_age_null_when_year_unknown():
    out = compute_feature(CATALOG, "plane_age@v1", {"planes": PLANES})
    assert values(out, "plane_age_v1") == [9, 15, None]
    assert str(out["plane_age_v1"].dtype) == "Int64"


def test_plane_seats():
    out = compute_feature(CATALOG, "plane_seats@v1", {"planes": PLANES})
    assert out["tailnum"].tolist() == ["N10156", "N102UW", "N1NULL"]
    assert values(out, "plane_seats_v1") == [55, 182, 2]


# ---- request-time features --------------------------------------------------------------------------


def test_sched_dep_hour_and_dow_are_local_new_york_time_on_dst_days():
    sched = pd.Series(
        pd.to_datetime(
            [
                "2013-03-10T09:00:00+00:00",  # 05:00 EDT, Sunday (spring forward day)
                "2013-03-09T10:00:00+00:00",  # 05:00 EST, Saturday
                "2013-11-03T05:30:00+00:00",  # 01:30 EDT (first pass), Sunday
                "2013-11-03T06:30:00+00:00",  # 01:30 EST (second pass), Sunday
                "2013-12-31T23:59:00-05:00",  # sent with a New York offset: Tuesday 23h
            ],
            utc=True,
        )
    )
    sched = pd.concat([sched, pd.Series([pd.NaT], dtype="datetime64[ns, UTC]")], ignore_index=True)
    hour = CATALOG.spec("sched_dep_hour@v1").function(sched)
    dow = CATALOG.spec("sched_dep_dow@v1").function(sched)
    assert [None if pd.isna(v) else v for v in hour] == [5, 5, 1, 1, 23, None]
    assert [None if pd.isna(v) else v for v in dow] == [6, 5, 6, 6, 1, None]
    assert str(hour.dtype) == "Int64" and str(dow.dtype) == "Int64"


def test_v2_row_functions_give_v1s_values_on_dst_days():
    """sched_dep_hour@v2 and sched_dep_dow@v2 are row functions (per_row=True): the same hand-computed
    values as v1, one row at a time, through the one offline rule (request_values.request_column)."""
    sched = pd.Series(
        pd.to_datetime(
            [
                "2013-03-10T09:00:00+00:00",
                "2013-03-09T10:00:00+00:00",
                "2013-11-03T05:30:00+00:00",
                "2013-11-03T06:30:00+00:00",
                "2013-12-31T23:59:00-05:00",
                None,
            ],
            utc=True,
        )
    )
    hour = request_column(CATALOG.spec("sched_dep_hour@v2"), [sched], ["timestamp"])
    dow = request_column(CATALOG.spec("sched_dep_dow@v2"), [sched], ["timestamp"])
    assert [None if pd.isna(v) else v for v in hour] == [5, 5, 1, 1, 23, None]
    assert [None if pd.isna(v) else v for v in dow] == [6, 5, 6, 6, 1, None]
    assert str(hour.dtype) == "Int64" and str(dow.dtype) == "Int64"
    distance = request_column(CATALOG.spec("distance@v2"), [pd.Series([1400.0, None])], ["float"])
    assert distance.dtype == "float64" and distance.iloc[0] == 1400.0 and math.isnan(distance.iloc[1])


def test_distance_passes_miles_through_as_float():
    out = CATALOG.spec("distance@v1").function(pd.Series(pd.array([1400, None], dtype="Int64")))
    assert out.dtype == "float64"
    assert out.iloc[0] == 1400.0 and math.isnan(out.iloc[1])


def test_every_feature_version_has_a_test_here():
    import inspect
    import sys

    text = inspect.getsource(sys.modules[__name__])
    untested = [ref for ref in CATALOG.specs if f'"{ref}"' not in text]
    assert untested == []
