"""Feature purchases_90d, version 2: distinct purchase days (v1 counted every line of a day)."""

from datetime import timedelta

from featurelock import sql_feature


@sql_feature(
    entity="customer",
    view="customer_weekly",
    source="purchases",
    dtype="Int64",
    ttl=timedelta(days=7),
    owner="crm-team",
)
def purchases_90d_v2() -> str:
    """Number of distinct days on which the customer bought, in the 90 days before t.

    Entity: customer. Inputs: purchases.customer, purchases.event_timestamp.
    Window: purchase days in [t - 90 days, t). Several lines on one day are one visit to the shop;
    v1 counted each line, so a customer who split an order looked twice as active.
    Null policy: never null on the grid (0 without purchases).
    Owner: crm-team.
    """
    return """
        WITH days AS (SELECT DISTINCT customer, event_timestamp FROM purchases),
        points AS (
            SELECT customer, event_timestamp AS t, 0 AS n, TRUE AS is_grid FROM grid
            UNION ALL
            SELECT customer, event_timestamp, 1, FALSE FROM days
        ),
        windowed AS (
            SELECT customer, t, is_grid, sum(n) OVER w AS total
            FROM points
            WINDOW w AS (
                PARTITION BY customer ORDER BY t
                RANGE BETWEEN INTERVAL 90 DAY PRECEDING AND INTERVAL 1 MICROSECOND PRECEDING
            )
        )
        SELECT customer, t AS event_timestamp, coalesce(total, 0)::BIGINT AS value
        FROM windowed
        WHERE is_grid
    """
