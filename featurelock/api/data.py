"""Data and features: ingest raw batches, build the feature tables, register them with Feast."""

from __future__ import annotations

from typing import TYPE_CHECKING

from featurelock.core.progress import Progress, lines_of
from featurelock.core.settings import Profile, check_profile
from featurelock.features.project import Project
from featurelock.results import Registered

if TYPE_CHECKING:
    from featurelock.data.store import IngestResult
    from featurelock.features.build import ViewTable
    from featurelock.features.catalog import Catalog


def _server_first(project: Project, profile: Profile) -> None:
    """The production profile's yaml and server are checked before anything is written locally."""
    if profile == Profile.PRODUCTION:
        from featurelock.features.feast_repo import production_settings
        from featurelock.stores.pg import connect

        connect(production_settings(project)).close()


def ingest(
    project: Project,
    file: str | None = None,
    table: str | None = None,
    knowledge_time: str | None = None,
    profile: Profile = Profile.LOCAL,
    progress: Progress | None = None,
) -> list[IngestResult]:
    """Load the project's sources (or, with ``file``, one batch of ``table`` known at
    ``knowledge_time``) into the raw store; on the production profile, into PostgreSQL too.

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    file : str, optional
        A Parquet or CSV batch to append (with ``table`` and ``knowledge_time``).
    table : str, optional
        The raw table the batch belongs to.
    knowledge_time : str, optional
        The batch's knowledge time, ISO 8601 with a UTC offset.
    profile : str
        ``local`` (default), ``production`` or ``spark``.
    progress : Progress, optional
        Receives the steps and their lines.
    """
    from featurelock.data.ingest import ingest_file, ingest_sources
    from featurelock.training.dataset import raw_store

    out = lines_of(progress)
    store = raw_store(project)
    _server_first(project, profile)
    with out.step("ingest raw tables"):
        if file:
            results = [ingest_file(str(table), file, knowledge_time, store)]
        else:
            results = ingest_sources(store, progress=out.say)
        for r in results:
            out.say(
                f"    {r.table:<9} {r.status:<9} {r.rows:>8,} rows  known at {r.knowledge_time.isoformat()}"
            )
    if profile == Profile.PRODUCTION:
        from featurelock.features.publish import publish_raw

        with out.step("load the raw tables into PostgreSQL"):
            publish_raw(project, store, progress=out.say)
    return results


def build_features(
    project: Project, full: bool = False, profile: Profile = Profile.LOCAL, progress: Progress | None = None
) -> list[ViewTable]:
    """Check the lock, then build one table per feature view (incrementally unless ``full``); on the
    production profile, load them into PostgreSQL.

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    full : bool
        Recompute every view at every knowledge time from nothing (the same tables).
    profile : str
        ``local`` (default), ``production`` or ``spark`` (builds with Spark).
    progress : Progress, optional
        Receives the steps and their lines.
    """
    return _build(project, full, profile, lines_of(progress))[1]


def _build(project: Project, full: bool, profile: Profile, out: Progress) -> tuple[Catalog, list[ViewTable]]:
    """The lock checked (once), then the tables built: the catalog checked, and the tables."""
    from featurelock.features.build import build_feature_tables
    from featurelock.features.lockfile import check_lock
    from featurelock.training.dataset import raw_store

    _server_first(project, profile)
    with out.step("check features.lock"):
        catalog = check_lock(project)
        out.say(
            f"    {len(catalog.specs)} feature versions and {len(catalog.populations)} population(s), "
            "all locked and unchanged"
        )
    engine = check_profile(profile).build_engine
    how = "from nothing" if full else "incremental"
    with out.step(f"build feature tables ({'Spark' if engine == 'spark' else 'DuckDB'}, {how})"):
        tables = build_feature_tables(
            catalog, raw_store(project), project.feature_tables_dir, engine=engine, full=full
        )
        for t in tables:
            out.say(f"    {t.view:<16} {t.rows:>9,} rows -> {t.path}")
    if profile == Profile.PRODUCTION:
        from featurelock.features.publish import publish_feature_tables

        with out.step("load the feature tables into PostgreSQL"):
            publish_feature_tables(project, progress=out.say)
    return catalog, tables


def apply(
    project: Project, profile: Profile = Profile.LOCAL, progress: Progress | None = None
) -> list[ViewTable]:
    """Build the feature tables, then ``feast apply`` (the lock is checked when Feast loads the
    definitions).

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    profile : str
        ``local`` (default), ``production`` or ``spark``.
    progress : Progress, optional
        Receives the steps and their lines.
    """
    from featurelock.features import registration

    out = lines_of(progress)
    catalog, tables = _build(project, False, profile, out)
    with out.step(f"feast apply (profile {profile})"):
        registration.apply(project, profile, catalog)  # the catalog just checked
    return tables


def plan(project: Project, profile: Profile = Profile.LOCAL) -> None:
    """``feast plan`` on the project's repository (Feast prints the plan).

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    profile : str
        ``local`` (default), ``production`` or ``spark``.
    """
    from featurelock.features import registration

    registration.plan(project, profile)


def registered(project: Project, profile: Profile = Profile.LOCAL) -> Registered:
    """The feature views and services registered in Feast's registry, by name.

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    profile : str
        ``local`` (default), ``production`` or ``spark``.
    """
    from featurelock.features import feast_repo

    store = feast_repo.feature_store(project, profile)
    views = [
        (view.name, str(view.ttl), [f.name for f in view.features])
        for view in sorted(store.list_feature_views(), key=lambda v: v.name)
    ]
    services = [
        (fs.name, fs.tags.get("features", ""))
        for fs in sorted(store.list_feature_services(), key=lambda x: x.name)
    ]
    return Registered(views, services)
