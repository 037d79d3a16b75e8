"""nycflights13's feature views: groups of feature versions with the same entity and grid.

A view's ``grid`` is the set of (join keys, event_timestamp) rows its feature table holds; its
SQL runs over the raw tables as known at a batch's knowledge time. Timestamps inside DuckDB are
naive UTC. A view's grid SQL is part of the fingerprint of every feature in it.

Rolling features sit on a regular grid (hourly, or daily) starting at midnight UTC of the day
of the first flight; the point-in-time join then picks the newest grid row at or before the
prediction time, whose window ``[t - w, t)`` ends before that time.
"""

from __future__ import annotations

from featurelock import View


def _regular_grid(keys: str, step: str) -> str:
    return f"""
        WITH keys AS (SELECT DISTINCT {keys} FROM flights),
        span AS (
            SELECT date_trunc('day', min(event_timestamp)) AS lo,
                   date_trunc('hour', max(event_timestamp)) + INTERVAL 1 HOUR AS hi
            FROM flights
        ),
        times AS (SELECT unnest(generate_series(lo, hi, INTERVAL {step})) AS event_timestamp FROM span)
        SELECT {keys}, event_timestamp FROM keys CROSS JOIN times
    """


VIEWS = tuple(
    (
        View(
            "origin_weather",
            "origin",
            "SELECT origin, event_timestamp FROM weather",
            "Hourly weather observed at the departure airport (one row per observation).",
        ),
        View(
            "origin_weather_known",
            "origin",
            "SELECT origin, event_timestamp + INTERVAL 1 HOUR AS event_timestamp FROM weather",
            "Hourly weather at the departure airport, each reading at the hour after its label (when it "
            "was surely taken: nycflights13 labels readings HH:00 that are taken up to HH:51).",
        ),
        View(
            "origin_activity",
            "origin",
            _regular_grid("origin", "1 HOUR"),
            "Hourly rolling activity and precipitation at the departure airport.",
        ),
        View(
            "carrier_stats",
            "carrier",
            _regular_grid("carrier", "1 HOUR"),
            "Hourly rolling departure-delay statistics of the airline.",
        ),
        View(
            "route_stats",
            "route",
            _regular_grid("origin, dest", "1 DAY"),
            "Daily rolling departure-delay statistics of the route (origin, dest).",
        ),
        View(
            "plane_specs",
            "plane",
            "SELECT tailnum, event_timestamp FROM planes",
            "Static attributes of the plane (effective from the start of the data's year).",
        ),
    )
)
ORIGIN_WEATHER, ORIGIN_WEATHER_KNOWN, ORIGIN_ACTIVITY, CARRIER_STATS, ROUTE_STATS, PLANE_SPECS = VIEWS
