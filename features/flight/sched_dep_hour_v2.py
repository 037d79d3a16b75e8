"""Request-time feature sched_dep_hour, version 2 (immutable once locked)."""

from datetime import datetime
from zoneinfo import ZoneInfo

from featurelock import request_feature

NEW_YORK = ZoneInfo("America/New_York")


@request_feature(entity="flight", inputs=("sched_dep_time",), dtype="Int64", owner="delay-team", per_row=True)
def sched_dep_hour_v2(sched_dep_time: datetime | None) -> int | None:
    """Local (America/New_York) hour of the scheduled departure, 0-23; v1's values, one row at a time.

    Entity: flight. Inputs: sched_dep_time, an aware datetime in UTC (featurelock converts any offset).
    Null policy: null when sched_dep_time is null.
    Owner: delay-team.
    """
    if sched_dep_time is None:
        return None
    return sched_dep_time.astimezone(NEW_YORK).hour
