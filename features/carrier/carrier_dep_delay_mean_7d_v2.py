"""Feature carrier_dep_delay_mean_7d, version 2: cancelled flights excluded (v1 counted them as 0)."""

from datetime import timedelta

from featurelock import sql_feature


@sql_feature(
    entity="carrier",
    view="carrier_stats",
    source="flights",
    dtype="float64",
    ttl=timedelta(hours=1),
    owner="delay-team",
)
def carrier_dep_delay_mean_7d_v2() -> str:
    """Mean departure delay (minutes) of the carrier's flights that departed in the 7 days before t.

    Entity: carrier. Inputs: flights.carrier, flights.dep_delay, flights.dep_utc.
    Window: flights whose actual departure lies in [t - 7 days, t); cancelled flights never
    departed and are excluded.
    Null policy: null when no flight of the carrier departed in the window.
    Owner: delay-team.
    """
    return """
        WITH points AS (
            SELECT carrier, event_timestamp AS t, NULL::BIGINT AS delay, TRUE AS is_grid
            FROM grid
            UNION ALL
            SELECT carrier, dep_utc, dep_delay, FALSE
            FROM flights
            WHERE dep_utc IS NOT NULL
        ),
        windowed AS (
            SELECT carrier, t, is_grid,
                   sum(delay) OVER w AS delay_sum,
                   count(delay) OVER w AS departed
            FROM points
            WINDOW w AS (
                PARTITION BY carrier ORDER BY t
                RANGE BETWEEN INTERVAL 7 DAY PRECEDING AND INTERVAL 1 MICROSECOND PRECEDING
            )
        )
        SELECT carrier, t AS event_timestamp, delay_sum::DOUBLE / departed AS value
        FROM windowed
        WHERE is_grid
    """
