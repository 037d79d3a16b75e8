"""CDNOW's feature view: weekly snapshots of every customer.

The grid is every 7 days from the first day of the log (1997-01-01, midnight UTC) to a week past
its last day, for every customer from the first snapshot after their first purchase on.
"""

from featurelock import View

CUSTOMER_WEEKLY = View(
    "customer_weekly",
    "customer",
    """
    WITH span AS (
        SELECT min(event_timestamp) AS lo, max(event_timestamp) + INTERVAL 7 DAY AS hi FROM purchases
    ),
    times AS (SELECT unnest(generate_series(lo, hi, INTERVAL 7 DAY)) AS event_timestamp FROM span),
    firsts AS (SELECT customer, min(event_timestamp) AS first_purchase FROM purchases GROUP BY customer)
    SELECT f.customer, t.event_timestamp
    FROM firsts AS f JOIN times AS t ON t.event_timestamp > f.first_purchase
    """,
    "Weekly purchase history of the customer (one row per customer and snapshot).",
)
