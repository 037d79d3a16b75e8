"""Request-time feature sched_dep_hour, version 1 (immutable once locked)."""

import pandas as pd

from featurelock import request_feature


@request_feature(entity="flight", inputs=("sched_dep_time",), dtype="Int64", owner="delay-team")
def sched_dep_hour_v1(sched_dep_time: pd.Series) -> pd.Series:
    """Local (America/New_York) hour of the scheduled departure, 0-23.

    Entity: flight. Inputs: sched_dep_time, a timezone-aware timestamp (any offset).
    Null policy: null when sched_dep_time is null.
    Owner: delay-team.
    """
    return sched_dep_time.dt.tz_convert("America/New_York").dt.hour.astype("Int64")
