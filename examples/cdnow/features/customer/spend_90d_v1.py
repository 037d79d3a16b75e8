"""Feature spend_90d, version 1 (immutable once locked: change it by adding spend_90d_v2)."""

from datetime import timedelta

from featurelock import sql_feature


@sql_feature(
    entity="customer",
    view="customer_weekly",
    source="purchases",
    dtype="float64",
    ttl=timedelta(days=7),
    owner="crm-team",
)
def spend_90d_v1() -> str:
    """Dollars the customer spent in the 90 days before t.

    Entity: customer. Inputs: purchases.customer, purchases.dollars, purchases.event_timestamp.
    Window: purchases in [t - 90 days, t). Summed exactly, in whole cents, then divided once.
    Null policy: never null on the grid (0.0 without purchases).
    Owner: crm-team.
    """
    return """
        WITH points AS (
            SELECT customer, event_timestamp AS t, 0::BIGINT AS cents, TRUE AS is_grid FROM grid
            UNION ALL
            SELECT customer, event_timestamp, round(dollars * 100)::BIGINT, FALSE FROM purchases
        ),
        windowed AS (
            SELECT customer, t, is_grid, sum(cents) OVER w AS total
            FROM points
            WINDOW w AS (
                PARTITION BY customer ORDER BY t
                RANGE BETWEEN INTERVAL 90 DAY PRECEDING AND INTERVAL 1 MICROSECOND PRECEDING
            )
        )
        SELECT customer, t AS event_timestamp, coalesce(total, 0)::DOUBLE / 100 AS value
        FROM windowed
        WHERE is_grid
    """
