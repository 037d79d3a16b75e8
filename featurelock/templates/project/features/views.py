"""Feature views: feature versions with the same entity and grid (one Feast FeatureView each)."""

from featurelock import View

CUSTOMER_DAILY = View(
    "customer_daily",
    "customer",
    """
    WITH keys AS (SELECT DISTINCT customer FROM visits),
    span AS (
        SELECT date_trunc('day', min(event_timestamp)) AS lo,
               date_trunc('day', max(event_timestamp)) + INTERVAL 1 DAY AS hi
        FROM visits
    ),
    times AS (SELECT unnest(generate_series(lo, hi, INTERVAL 1 DAY)) AS event_timestamp FROM span)
    SELECT customer, event_timestamp FROM keys CROSS JOIN times
    """,
    "Daily rolling visit statistics of the customer (one row per customer and UTC midnight).",
)
