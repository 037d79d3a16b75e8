"""Feature origin_visib, version 1 (immutable once locked: change it by adding origin_visib_v2)."""

from datetime import timedelta

from featurelock import sql_feature


@sql_feature(
    entity="origin",
    view="origin_weather",
    source="weather",
    dtype="float64",
    ttl=timedelta(hours=2),
    owner="weather-team",
)
def origin_visib_v1() -> str:
    """Visibility (miles) observed at the departure airport at the hour.

    Entity: origin. Inputs: weather.visib at weather.event_timestamp (observation hour, UTC).
    Null policy: null when the observation has no visib; missing when no observation lies
    within the 2-hour ttl before the prediction time.
    Owner: weather-team.
    """
    return """
        SELECT origin, event_timestamp, visib AS value
        FROM weather
    """
