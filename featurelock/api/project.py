"""Projects and their versions: open, check the lock, compute one feature, lock, drop, deprecate,
lineage, a new project."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from featurelock.features.declare import Service
from featurelock.features.project import Project

if TYPE_CHECKING:
    from featurelock.features.lockfile import LockEntry
    from featurelock.training.lineage import Lineage


def open_project(path: str | Path | None = None, home: str | Path | None = None) -> Project:
    """The project at ``path`` (else ``$FEATURELOCK_PROJECT``, else the working directory or a
    parent); its data directory is ``home``, else ``$FEATURELOCK_HOME``, else ``feature_repo/data``.

    Parameters
    ----------
    path : str or Path, optional
        The project's root, or a folder inside it.
    home : str or Path, optional
        The data directory.
    """
    return Project.find(path, home)


def new_project(directory: str | Path, empty: bool = False) -> Path:
    """Write a new project into ``directory`` (missing or empty) and lock its versions; returns its
    root (``featurelock init``).

    Parameters
    ----------
    directory : str or Path
        Where to write it.
    empty : bool
        The skeleton only: nothing declared, nothing locked.
    """
    from featurelock.scaffold import init_project

    return init_project(directory, empty=empty)


def check_lock(project: Project) -> dict[str, str]:
    """Refuse any edit of a locked version (``LockError``, naming it and the fix), as ``featurelock
    lock`` and ``feast apply`` do; returns every version's fingerprint (``name@vN`` -> ``sha256:...``).

    Parameters
    ----------
    project : Project
        The project, as ``open_project`` gives it.
    """
    from featurelock.features.lockfile import check_lock as check

    return dict(check(project).fingerprints())


def lock(project: Project) -> list[str]:
    """Add every new feature and population version to ``features.lock`` (after a trial run of its
    SQL); never rewrites an entry. Returns the versions added (``featurelock lock``).

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    """
    from featurelock.features.lockfile import add_new_versions

    return add_new_versions(project)


def drop(project: Project, refs: list[str]) -> list[str]:
    """Take versions that were never published (never committed, applied or trained on) out of
    ``features.lock``, all or none; returns them (``featurelock lock --drop``).

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    refs : list of str
        The versions, ``name@vN``.
    """
    from featurelock.features.lockfile import drop_versions

    return drop_versions(project, list(refs))


def deprecate(project: Project, ref: str) -> LockEntry:
    """Mark a locked version deprecated: it stays locked, servable and reproducible.

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    ref : str
        The version, ``name@vN``.
    """
    from featurelock.features.lockfile import deprecate as mark

    return mark(project, ref)


def lineage(project: Project, ref: str) -> Lineage:
    """The services and runs that use a version, its fingerprint and state.

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    ref : str
        The version, ``name@vN``.
    """
    from featurelock.training.lineage import lineage as find

    return find(project, ref)


def compute_feature(
    project: Project,
    ref: str,
    tables: Mapping[str, pd.DataFrame],
    grid: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One feature version's values over hand-built raw tables: a project's unit test of its SQL.

    Parameters
    ----------
    project : Project
        The project, as ``open_project`` gives it (its lock is checked first).
    ref : str
        The version, ``name@vN``.
    tables : mapping of str to DataFrame
        Raw tables by source name, with the source's columns and a UTC ``event_timestamp``.
    grid : DataFrame, optional
        The view's join keys and ``event_timestamp`` to compute at (default: the view's own grid).

    Returns
    -------
    DataFrame
        The join keys, ``event_timestamp`` and the column ``<name>_v<N>``.
    """
    from featurelock.features.build import compute_feature as compute
    from featurelock.features.lockfile import check_lock as check

    return compute(check(project), ref, tables, grid=grid)


def services(project: Project) -> dict[str, Service]:
    """The project's feature services by name.

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    """
    return dict(project.services)
