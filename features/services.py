"""Feature services: the exact feature versions a model uses.

A model's feature list is its service's Feast refs (in this order) followed by its request-time
features. A service, once a model is trained on it, is not edited: add a new service instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from features.errors import NotFoundError


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    features: tuple[str, ...]  # Feast-served feature versions, in model order
    request_features: tuple[str, ...]  # computed from the entity row / request
    description: str

    @property
    def all_refs(self) -> tuple[str, ...]:
        return (*self.features, *self.request_features)


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

SERVICES: dict[str, ServiceSpec] = {
    s.name: s
    for s in (
        ServiceSpec(
            "delay_model_v1",
            ("carrier_dep_delay_mean_7d@v1", *_COMMON),
            _REQUEST,
            "Departure-delay model, first release (carrier delay mean counts cancellations as 0).",
        ),
        ServiceSpec(
            "delay_model_v2",
            ("carrier_dep_delay_mean_7d@v2", *_COMMON),
            _REQUEST,
            "Departure-delay model with the corrected carrier delay mean (cancellations excluded).",
        ),
    )
}


def check_service(name: str) -> ServiceSpec:
    if name not in SERVICES:
        raise NotFoundError(f"service={name!r} is not a feature service; expected one of {sorted(SERVICES)}.")
    return SERVICES[name]
