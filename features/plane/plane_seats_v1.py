"""Feature plane_seats, version 1 (immutable once locked: change it by adding plane_seats_v2)."""

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
def plane_seats_v1() -> str:
    """Number of seats of the plane.

    Entity: plane (tailnum). Inputs: planes.seats. Static: effective from 2013-01-01, no expiry.
    Null policy: missing for a tailnum that is null or not in the planes table.
    Owner: fleet-team.
    """
    return """
        SELECT tailnum, event_timestamp, seats AS value
        FROM planes
    """
