"""Feature days_since_last_purchase, version 1 (immutable once locked)."""

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
def days_since_last_purchase_v1() -> str:
    """Whole days from the customer's last purchase before t to t.

    Entity: customer. Inputs: purchases.customer, purchases.event_timestamp (a purchase's day).
    Window: all purchases before t (a purchase on the snapshot's day is not yet seen).
    Null policy: null when the customer bought nothing before t (not on the grid: it starts after
    the first purchase).
    Owner: crm-team.
    """
    return """
        WITH points AS (
            SELECT customer, event_timestamp AS t, NULL::TIMESTAMP AS bought, TRUE AS is_grid FROM grid
            UNION ALL
            SELECT customer, event_timestamp, event_timestamp, FALSE FROM purchases
        ),
        windowed AS (
            SELECT customer, t, is_grid, max(bought) OVER w AS last_purchase
            FROM points
            WINDOW w AS (
                PARTITION BY customer ORDER BY t
                RANGE BETWEEN UNBOUNDED PRECEDING AND INTERVAL 1 MICROSECOND PRECEDING
            )
        )
        SELECT customer, t AS event_timestamp, date_diff('day', last_purchase, t)::BIGINT AS value
        FROM windowed
        WHERE is_grid
    """
