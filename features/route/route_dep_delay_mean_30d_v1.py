"""Feature route_dep_delay_mean_30d, version 1 (immutable once locked: change it by adding _v2)."""

from datetime import timedelta

from featurelock import sql_feature


@sql_feature(
    entity="route",
    view="route_stats",
    source="flights",
    dtype="float64",
    ttl=timedelta(days=1),
    owner="delay-team",
)
def route_dep_delay_mean_30d_v1() -> str:
    """Mean departure delay (minutes) of the route's flights that departed in the 30 days before t.

    Entity: route (origin, dest). Inputs: flights.origin, flights.dest, flights.dep_delay,
    flights.dep_utc. Window: actual departures in [t - 30 days, t); cancelled flights excluded.
    Null policy: null when no flight of the route departed in the window.
    Owner: delay-team.
    """
    return """
        WITH points AS (
            SELECT origin, dest, event_timestamp AS t, NULL::BIGINT AS delay, TRUE AS is_grid
            FROM grid
            UNION ALL
            SELECT origin, dest, dep_utc, dep_delay, FALSE
            FROM flights
            WHERE dep_utc IS NOT NULL
        ),
        windowed AS (
            SELECT origin, dest, t, is_grid,
                   sum(delay) OVER w AS delay_sum,
                   count(delay) OVER w AS departed
            FROM points
            WINDOW w AS (
                PARTITION BY origin, dest ORDER BY t
                RANGE BETWEEN INTERVAL 30 DAY PRECEDING AND INTERVAL 1 MICROSECOND PRECEDING
            )
        )
        SELECT origin, dest, t AS event_timestamp, delay_sum::DOUBLE / departed AS value
        FROM windowed
        WHERE is_grid
    """
