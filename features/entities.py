"""Entities: what a feature describes, and the join keys it is looked up by.

A feature module lives in the folder of its entity (``features/<entity>/``). In Feast each join
key is an ``Entity`` of its own (``origin``, ``dest``, ``carrier``, ``tailnum``); the ``route``
entity is the pair (origin, dest).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EntitySpec:
    name: str
    join_keys: tuple[str, ...]
    description: str


ENTITIES: dict[str, EntitySpec] = {
    e.name: e
    for e in (
        EntitySpec("origin", ("origin",), "NYC departure airport (FAA code): EWR, JFK or LGA."),
        EntitySpec("carrier", ("carrier",), "Airline (two-letter carrier code)."),
        EntitySpec("route", ("origin", "dest"), "Route: departure and destination airports."),
        EntitySpec("plane", ("tailnum",), "Plane, by tail number (null for 2,512 flights)."),
        EntitySpec("flight", ("flight_id",), "One scheduled flight; request-time features only."),
    )
}

#: Descriptions of the Feast entities, one per join key.
JOIN_KEYS: dict[str, str] = {
    "origin": "Departure airport (FAA code).",
    "dest": "Destination airport (FAA code).",
    "carrier": "Airline (two-letter carrier code).",
    "tailnum": "Plane tail number.",
}
