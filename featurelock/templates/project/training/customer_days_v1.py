"""Population customer_days, version 1 (immutable once locked: change it with a _v2)."""

from featurelock import population


@population(id="row_id", keys=("customer",), inputs=(), sources=("visits",), owner="you")
def customer_days_v1() -> str:
    """One row per customer and UTC day: at midnight, will the customer visit during that day?

    Row id: customer and date. Prediction time: midnight UTC. Label: 1 if a visit falls in
    [t, t + 1 day) (labels read after t; features never do). Days without a full day of data
    after them are excluded.
    """
    return """
        WITH days AS (SELECT DISTINCT date_trunc('day', event_timestamp) AS day FROM visits),
        customers AS (SELECT DISTINCT customer FROM visits),
        span AS (SELECT max(event_timestamp) AS last_visit FROM visits)
        SELECT c.customer || '-' || strftime(d.day, '%Y%m%d') AS row_id,
               d.day AS event_timestamp,
               c.customer,
               CASE WHEN EXISTS (
                   SELECT 1 FROM visits v
                   WHERE v.customer = c.customer
                     AND v.event_timestamp >= d.day AND v.event_timestamp < d.day + INTERVAL 1 DAY
               ) THEN 1 ELSE 0 END AS label
        FROM customers c CROSS JOIN days d CROSS JOIN span
        WHERE d.day + INTERVAL 1 DAY <= span.last_visit
    """
