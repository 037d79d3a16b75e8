"""Feature visits_7d, version 1 (immutable once locked: change it by adding visits_7d_v2)."""

from datetime import timedelta

from featurelock import sql_feature


@sql_feature(
    entity="customer",
    view="customer_daily",
    source="visits",
    dtype="Int64",
    ttl=timedelta(days=2),
    owner="you",
    lookback=timedelta(days=7),  # its value at t reads visits in [t - 7 days, t): builds stay incremental
)
def visits_7d_v1() -> str:
    """Number of visits of the customer in the 7 days before t.

    Entity: customer. Inputs: visits.customer, visits.event_timestamp.
    Window: visits in [t - 7 days, t); a visit at t is not counted.
    Null policy: never null on the grid (0 when there was no visit).
    Owner: you.
    """
    return """
        WITH points AS (
            SELECT customer, event_timestamp AS t, 0 AS visit, TRUE AS is_grid FROM grid
            UNION ALL
            SELECT customer, event_timestamp, 1, FALSE FROM visits
        ),
        windowed AS (
            SELECT customer, t, is_grid, sum(visit) OVER w AS n
            FROM points
            WINDOW w AS (
                PARTITION BY customer ORDER BY t
                RANGE BETWEEN INTERVAL 7 DAY PRECEDING AND INTERVAL 1 MICROSECOND PRECEDING
            )
        )
        SELECT customer, t AS event_timestamp, coalesce(n, 0)::BIGINT AS value
        FROM windowed
        WHERE is_grid
    """
