"""Lineage of a feature version: the services that name it and the training runs that used it."""

from __future__ import annotations

from dataclasses import dataclass

from featurelock.features.catalog import discover
from featurelock.features.lockfile import read_lock
from featurelock.features.project import Project
from featurelock.training.runs import list_runs, read_run


@dataclass(frozen=True)
class Lineage:
    ref: str
    fingerprint: str | None
    deprecated: bool
    services: list[str]
    runs: list[str]


def lineage(project: Project, ref: str) -> Lineage:
    """Where ``ref`` (``name@vN``) is used. Unknown refs raise NotFoundError with the known ones."""
    catalog = discover(project)
    catalog.spec(ref)
    entry = read_lock(project.lock_file).get(ref)
    services = sorted(name for name, spec in project.services.items() if ref in spec.all_refs)
    runs = []
    for run in list_runs(project):
        _, record = read_run(project, run)
        if ref in record.dataset.feature_fingerprints:
            runs.append(run)
    return Lineage(
        ref, entry.fingerprint if entry else None, bool(entry and entry.deprecated), services, runs
    )
