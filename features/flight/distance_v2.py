"""Request-time feature distance, version 2 (immutable once locked)."""

from featurelock import request_feature


@request_feature(entity="flight", inputs=("distance",), dtype="float64", owner="delay-team", per_row=True)
def distance_v2(distance: float | None) -> float | None:
    """Great-circle distance of the route, in miles, as sent with the request; v1's values, one row
    at a time.

    Entity: flight. Inputs: distance (miles).
    Null policy: null when distance is null.
    Owner: delay-team.
    """
    return distance
