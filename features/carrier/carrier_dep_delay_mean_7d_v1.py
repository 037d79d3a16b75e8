"""Feature carrier_dep_delay_mean_7d, version 1 (superseded by v2; kept servable, never edited)."""

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
def carrier_dep_delay_mean_7d_v1() -> str:
    """Mean departure delay (minutes) of the carrier over the 7 days before t, cancellations as 0.

    Entity: carrier. Inputs: flights.carrier, flights.dep_delay, flights.dep_utc,
    flights.event_timestamp (scheduled departure).
    Window: a departed flight counts at its actual departure, a cancelled flight at its
    scheduled departure with delay 0 (the defect v2 corrects), within [t - 7 days, t).
    Null policy: null when no flight of the carrier falls in the window.
    Owner: delay-team.
    """
    return """
        WITH points AS (
            SELECT carrier, event_timestamp AS t, NULL::BIGINT AS delay, TRUE AS is_grid
            FROM grid
            UNION ALL
            SELECT carrier, coalesce(dep_utc, event_timestamp), coalesce(dep_delay, 0), FALSE
            FROM flights
        ),
        windowed AS (
            SELECT carrier, t, is_grid,
                   sum(delay) OVER w AS delay_sum,
                   count(delay) OVER w AS flights
            FROM points
            WINDOW w AS (
                PARTITION BY carrier ORDER BY t
                RANGE BETWEEN INTERVAL 7 DAY PRECEDING AND INTERVAL 1 MICROSECOND PRECEDING
            )
        )
        SELECT carrier, t AS event_timestamp, delay_sum::DOUBLE / flights AS value
        FROM windowed
        WHERE is_grid
    """
