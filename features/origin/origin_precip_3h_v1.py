"""Feature origin_precip_3h, version 1 (immutable once locked: change it by adding _v2)."""

from datetime import timedelta

from featurelock import sql_feature


@sql_feature(
    entity="origin",
    view="origin_activity",
    source="weather",
    dtype="float64",
    ttl=timedelta(hours=1),
    owner="weather-team",
)
def origin_precip_3h_v1() -> str:
    """Precipitation (inches) at the departure airport summed over the 3 hours before t.

    Entity: origin. Inputs: weather.precip, weather.event_timestamp.
    Window: observations with event_timestamp in [t - 3h, t); summed exactly in DECIMAL.
    Null policy: null when no observation with a precipitation value lies in the window.
    Owner: weather-team.
    """
    return """
        WITH points AS (
            SELECT origin, event_timestamp AS t, NULL::DECIMAL(9, 2) AS precip, TRUE AS is_grid
            FROM grid
            UNION ALL
            SELECT origin, event_timestamp, precip::DECIMAL(9, 2), FALSE
            FROM weather
        ),
        windowed AS (
            SELECT origin, t, is_grid,
                   sum(precip) OVER w AS precip_sum,
                   count(precip) OVER w AS observations
            FROM points
            WINDOW w AS (
                PARTITION BY origin ORDER BY t
                RANGE BETWEEN INTERVAL 3 HOUR PRECEDING AND INTERVAL 1 MICROSECOND PRECEDING
            )
        )
        SELECT origin, t AS event_timestamp,
               CASE WHEN observations > 0 THEN precip_sum::DOUBLE END AS value
        FROM windowed
        WHERE is_grid
    """
