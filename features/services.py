"""nycflights13's feature services: the exact feature versions a model uses.

A model's feature list is its service's Feast refs (in this order) followed by its request-time
features. A service, once a model is trained on it, is not edited: add a new service instead.
"""

from featurelock import Service

_COMMON = (
    "origin_temp@v1",
    "origin_wind_speed@v1",
    "origin_visib@v1",
    "origin_precip@v1",
    "origin_precip_3h@v1",
    "origin_departures_1h@v1",
    "carrier_delayed_share_24h@v1",
    "route_dep_delay_mean_30d@v1",
    "plane_age@v1",
    "plane_seats@v1",
)
_REQUEST = ("sched_dep_hour@v1", "sched_dep_dow@v1", "distance@v1")
_TRAINING = {
    "population": "nyc_departures_2013@v1",
    "model": "hist_gradient_boosting",
    "baseline": "logistic_regression",
    "holdout_from": "2013-11-01T00:00:00-04:00",  # Nov-Dec flights are held out
    "seed": 2013,
}

DELAY_MODEL_V1 = Service(
    name="delay_model_v1",
    features=("carrier_dep_delay_mean_7d@v1", *_COMMON),
    request_features=_REQUEST,
    description="Departure-delay model, first release (carrier delay mean counts cancellations as 0).",
    **_TRAINING,
)
DELAY_MODEL_V2 = Service(
    name="delay_model_v2",
    features=("carrier_dep_delay_mean_7d@v2", *_COMMON),
    request_features=_REQUEST,
    description="Departure-delay model with the corrected carrier delay mean (cancellations excluded).",
    **_TRAINING,
)
_WEATHER_KNOWN = tuple(
    ref.replace("@v1", "@v2")
    if ref.startswith(("origin_temp", "origin_wind", "origin_visib", "origin_precip"))
    else ref
    for ref in _COMMON
)
DELAY_MODEL_V3 = Service(
    name="delay_model_v3",
    features=("carrier_dep_delay_mean_7d@v2", *_WEATHER_KNOWN),
    request_features=_REQUEST,
    description=(
        "delay_model_v2 with the weather read when it was surely known (one hour after its label): "
        "v1/v2 may see a reading up to 51 minutes after the prediction time."
    ),
    **_TRAINING,
)
DELAY_MODEL_V4 = Service(
    name="delay_model_v4",
    features=("carrier_dep_delay_mean_7d@v1", *_COMMON),
    request_features=("sched_dep_hour@v2", "sched_dep_dow@v2", "distance@v2"),
    description=(
        "delay_model_v1 with its request features as row functions (v2: v1's values, one request at a "
        "time without pandas): the same training values and model, cheaper to serve."
    ),
    **_TRAINING,
)
