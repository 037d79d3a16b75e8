"""Population nyc_departures_2013, version 1 (immutable once locked: change it with a _v2)."""

from featurelock import LocalDateWindow, OneOf, population


@population(
    id="flight_id",
    keys=("origin", "dest", "carrier", "tailnum"),
    inputs=("sched_dep_time", "distance"),
    sources=("flights",),
    filters=(
        OneOf("origin", ("EWR", "JFK", "LGA")),
        LocalDateWindow("sched_dep_time", "2013-01-01", "2014-01-01", "America/New_York"),
    ),
    owner="delay-team",
)
def nyc_departures_2013_v1() -> str:
    """Non-cancelled departures from EWR, JFK and LGA scheduled in 2013 (New York time).

    Row id: the flight's natural key. Prediction time: scheduled departure - 2 h.
    Label: 1 if the departure delay is 15 minutes or more.
    Cancelled flights are excluded: the model predicts the delay of a flight that operates;
    cancellation is a different outcome with its own causes.
    2013-01-01 and 2014-01-01 New York midnight are 05:00 UTC.
    """
    return """
        SELECT flight_id,
               event_timestamp - INTERVAL 2 HOUR AS event_timestamp,
               origin, dest, carrier, tailnum,
               event_timestamp AS sched_dep_time, distance,
               CASE WHEN dep_delay >= 15 THEN 1 ELSE 0 END AS label
        FROM flights
        WHERE NOT cancelled
          AND origin IN ('EWR', 'JFK', 'LGA')
          AND event_timestamp >= TIMESTAMP '2013-01-01 05:00:00'
          AND event_timestamp < TIMESTAMP '2014-01-01 05:00:00'
    """
