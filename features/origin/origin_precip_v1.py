"""Feature origin_precip, version 1 (immutable once locked: change it by adding origin_precip_v2)."""

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
def origin_precip_v1() -> str:
    """Precipitation (inches) in the hour observed at the departure airport at the hour.

    Entity: origin. Inputs: weather.precip at weather.event_timestamp (observation hour, UTC).
    Null policy: null when the observation has no precip; missing when no observation lies
    within the 2-hour ttl before the prediction time.
    Owner: weather-team.
    """
    return """
        SELECT origin, event_timestamp, precip AS value
        FROM weather
    """
