"""Lineage of a feature version: the services that name it and the training runs that used it."""

from __future__ import annotations

from dataclasses import dataclass

from features.catalog import discover
from features.lockfile import read_lock
from features.services import SERVICES
from training.runs import list_runs, read_run


@dataclass(frozen=True)
class Lineage:
    ref: str
    fingerprint: str | None
    deprecated: bool
    services: list[str]
    runs: list[str]


def lineage(ref: str) -> Lineage:
    """Where ``ref`` (``name@vN``) is used. Unknown refs raise NotFoundError with the known ones."""
    catalog = discover()
    catalog.spec(ref)
    entry = read_lock().get(ref)
    services = sorted(name for name, spec in SERVICES.items() if ref in spec.all_refs)
    runs = []
    for run in list_runs():
        _, record = read_run(run)
        defs = record["dataset"]["inputs"]["feature definitions"]
        if any(f["ref"] == ref for f in [*defs["features"], *defs["request_features"]]):
            runs.append(run)
    return Lineage(
        ref, entry.fingerprint if entry else None, bool(entry and entry.deprecated), services, runs
    )
