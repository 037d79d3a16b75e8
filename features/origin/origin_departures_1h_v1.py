"""Feature origin_departures_1h, version 1 (immutable once locked: change it by adding _v2)."""

from datetime import timedelta

from featurelock import sql_feature


@sql_feature(
    entity="origin",
    view="origin_activity",
    source="flights",
    dtype="Int64",
    ttl=timedelta(hours=1),
    owner="delay-team",
)
def origin_departures_1h_v1() -> str:
    """Number of flights that actually departed from the airport in the hour before t.

    Entity: origin. Inputs: flights.origin, flights.dep_utc (actual departure, UTC).
    Window: departures in [t - 1h, t); cancelled flights never depart and are not counted.
    Null policy: never null (0 when nothing departed).
    Owner: delay-team.
    """
    return """
        WITH points AS (
            SELECT origin, event_timestamp AS t, NULL::TIMESTAMP AS departed_at, TRUE AS is_grid
            FROM grid
            UNION ALL
            SELECT origin, dep_utc, dep_utc, FALSE
            FROM flights
            WHERE dep_utc IS NOT NULL
        ),
        windowed AS (
            SELECT origin, t, is_grid, count(departed_at) OVER w AS departures
            FROM points
            WINDOW w AS (
                PARTITION BY origin ORDER BY t
                RANGE BETWEEN INTERVAL 1 HOUR PRECEDING AND INTERVAL 1 MICROSECOND PRECEDING
            )
        )
        SELECT origin, t AS event_timestamp, departures AS value
        FROM windowed
        WHERE is_grid
    """
