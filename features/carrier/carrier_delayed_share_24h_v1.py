"""Feature carrier_delayed_share_24h, version 1 (immutable once locked: change it by adding _v2)."""

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
def carrier_delayed_share_24h_v1() -> str:
    """Share of the carrier's flights departed in the 24 hours before t that left 15+ minutes late.

    Entity: carrier. Inputs: flights.carrier, flights.dep_delay, flights.dep_utc.
    Window: flights whose actual departure lies in [t - 24h, t); cancelled flights excluded.
    Null policy: null when no flight of the carrier departed in the window.
    Owner: delay-team.
    """
    return """
        WITH points AS (
            SELECT carrier, event_timestamp AS t, NULL::INTEGER AS late, TRUE AS is_grid
            FROM grid
            UNION ALL
            SELECT carrier, dep_utc, CASE WHEN dep_delay >= 15 THEN 1 ELSE 0 END, FALSE
            FROM flights
            WHERE dep_utc IS NOT NULL
        ),
        windowed AS (
            SELECT carrier, t, is_grid,
                   sum(late) OVER w AS late_count,
                   count(late) OVER w AS departed
            FROM points
            WINDOW w AS (
                PARTITION BY carrier ORDER BY t
                RANGE BETWEEN INTERVAL 24 HOUR PRECEDING AND INTERVAL 1 MICROSECOND PRECEDING
            )
        )
        SELECT carrier, t AS event_timestamp, late_count::DOUBLE / departed AS value
        FROM windowed
        WHERE is_grid
    """
