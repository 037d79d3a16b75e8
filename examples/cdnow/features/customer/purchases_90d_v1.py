"""Feature purchases_90d, version 1 (immutable once locked: change it by adding purchases_90d_v2)."""

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
def purchases_90d_v1() -> str:
    """Number of purchase lines of the customer in the 90 days before t.

    Entity: customer. Inputs: purchases.customer, purchases.event_timestamp.
    Window: purchases in [t - 90 days, t) (a purchase on the snapshot's day is not counted).
    Null policy: never null on the grid (0 without purchases).
    Owner: crm-team.
    """
    return """
        WITH points AS (
            SELECT customer, event_timestamp AS t, 0 AS n, TRUE AS is_grid FROM grid
            UNION ALL
            SELECT customer, event_timestamp, 1, FALSE FROM purchases
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
