"""Feature views (none yet): feature versions with the same entity and grid, one Feast FeatureView each.

Example: ``View("customer_daily", "customer", "<SQL of the grid: keys and event_timestamp>", "...")``.
Feature versions then live one per module in ``features/<entity>/<name>_v1.py``
(``@sql_feature(entity=..., view=..., source=..., dtype=..., ttl=..., owner=...)``).
"""
