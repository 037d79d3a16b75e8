"""Population weekly_customers, version 1 (immutable once locked: change it with a _v2)."""

from featurelock import population


@population(id="snapshot_id", keys=("customer",), inputs=(), sources=("purchases",), owner="crm-team")
def weekly_customers_v1() -> str:
    """Weekly snapshots of every customer with at least one purchase before the snapshot.

    Row id: customer and snapshot date. Prediction time: the snapshot (midnight UTC, every 7 days
    from 1997-01-01). Label: 1 if the customer buys in [t, t + 90 days). Labels read data after t;
    features never do. Snapshots without a full 90 days of log after them are excluded (the log
    ends 1998-06-30).
    """
    return """
        WITH span AS (
            SELECT min(event_timestamp) AS lo, max(event_timestamp) AS last_day FROM purchases
        ),
        times AS (
            SELECT unnest(generate_series(lo, last_day, INTERVAL 7 DAY)) AS t, last_day FROM span
        ),
        firsts AS (SELECT customer, min(event_timestamp) AS first_purchase FROM purchases GROUP BY customer),
        snapshots AS (
            SELECT f.customer, s.t
            FROM firsts AS f JOIN times AS s ON s.t > f.first_purchase
            WHERE s.t + INTERVAL 90 DAY <= s.last_day + INTERVAL 1 DAY
        ),
        buyers AS (
            SELECT DISTINCT s.customer, s.t
            FROM snapshots AS s JOIN purchases AS p
              ON p.customer = s.customer
             AND p.event_timestamp >= s.t AND p.event_timestamp < s.t + INTERVAL 90 DAY
        )
        SELECT s.customer || '-' || strftime(s.t, '%Y%m%d') AS snapshot_id,
               s.t AS event_timestamp,
               s.customer,
               CASE WHEN b.customer IS NULL THEN 0 ELSE 1 END AS label
        FROM snapshots AS s LEFT JOIN buyers AS b ON b.customer = s.customer AND b.t = s.t
    """
