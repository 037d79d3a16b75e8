"""Request-time feature distance, version 1 (immutable once locked)."""

import pandas as pd

from featurelock import request_feature


@request_feature(entity="flight", inputs=("distance",), dtype="float64", owner="delay-team")
def distance_v1(distance: pd.Series) -> pd.Series:
    """Great-circle distance of the route, in miles, as sent with the request.

    Entity: flight. Inputs: distance (miles).
    Null policy: null when distance is null.
    Owner: delay-team.
    """
    return distance.astype("float64")
