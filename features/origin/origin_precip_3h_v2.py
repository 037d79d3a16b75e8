"""Feature origin_precip_3h, version 2: each hourly reading counted from one hour after its label
(v1 counted it from the label, up to 51 minutes before the reading was taken)."""

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
def origin_precip_3h_v2() -> str:
    """Precipitation (inches) at the departure airport summed over the 3 hours before t.

    Entity: origin. Inputs: weather.precip, known at weather.event_timestamp + 1 hour (the label
    HH:00 is not when the reading was taken: up to HH:51).
    Window: observations known in [t - 3h, t); summed exactly in DECIMAL.
    Null policy: null when no observation with a precipitation value lies in the window.
    Owner: weather-team.
    """
    return """
        WITH points AS (
            SELECT origin, event_timestamp AS t, NULL::DECIMAL(9, 2) AS precip, TRUE AS is_grid
            FROM grid
            UNION ALL
            SELECT origin, event_timestamp + INTERVAL 1 HOUR, precip::DECIMAL(9, 2), FALSE
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
