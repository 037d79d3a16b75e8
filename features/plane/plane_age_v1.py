"""Feature plane_age, version 1 (immutable once locked: change it by adding plane_age_v2)."""

from datetime import timedelta

from featurelock import sql_feature


@sql_feature(
    entity="plane",
    view="plane_specs",
    source="planes",
    dtype="Int64",
    ttl=timedelta(0),
    owner="fleet-team",
)
def plane_age_v1() -> str:
    """Age of the plane in 2013, in years (2013 minus the year it was manufactured).

    Entity: plane (tailnum). Inputs: planes.year. Static: effective from 2013-01-01, no expiry.
    Null policy: null when the manufacturing year is unknown (70 planes); missing for a
    tailnum that is null or not in the planes table.
    Owner: fleet-team.
    """
    return """
        SELECT tailnum, event_timestamp, 2013 - year AS value
        FROM planes
    """
