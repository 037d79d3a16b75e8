"""Feast objects generated from a project's declarations (entities, sources, views, services),
and their registration: ``apply`` and ``plan`` hand them to Feast in process.

``feast_definitions(root)`` is what a project's ``feature_repo/definitions.py`` binds at module
level. It runs the lock check first, so ``feast apply`` and ``feast plan`` refuse an edited
version. Feature-table paths are stored relative to the data directory (``features/<view>.parquet``),
so a copied or moved data directory reads its own tables.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from featurelock.core.errors import DefinitionError, FeaturelockError
from featurelock.core.settings import Profile, check_profile
from featurelock.data.schema import CREATED_TS, EVENT_TS
from featurelock.features.catalog import Catalog
from featurelock.features.feast_repo import production_settings, repo_config
from featurelock.features.lockfile import check_lock
from featurelock.features.project import Project


def _source(view: Any, profile: Profile, project: Project) -> Any:
    """The view's Feast source: a Parquet file locally, a PostgreSQL table (in the project's own
    schema) in production."""
    if profile == Profile.PRODUCTION:
        from feast.infra.offline_stores.contrib.postgres_offline_store.postgres_source import PostgreSQLSource

        return PostgreSQLSource(
            name=view.source_name,
            table=f"{production_settings(project).schema}.{view.name}",
            timestamp_field=EVENT_TS,
            created_timestamp_column=CREATED_TS,
            description=f"Feature table of view {view.name}, loaded by `featurelock features build`.",
        )
    from feast import FileSource

    return FileSource(
        name=view.source_name,
        path=f"features/{view.name}.parquet",  # relative: lies in the data directory
        timestamp_field=EVENT_TS,
        created_timestamp_column=CREATED_TS,
        description=f"Feature table of view {view.name}, built by `featurelock features build`.",
    )


def feast_definitions(
    root: str | Path | Project, catalog: Catalog | None = None, profile: Profile | None = None
) -> dict[str, Any]:
    """Name -> Feast object, for every entity, source, view and service; what a project's
    ``feature_repo/definitions.py`` binds when Feast imports it. Checks the lock first.

    ``profile`` (default: ``$FEATURELOCK_PROFILE`` or ``local``: the user's setting under plain
    ``feast apply``) only chooses where the feature tables are read from; entities, views, services
    and fingerprints are the same on every profile.
    """
    project = root if isinstance(root, Project) else Project(root)
    try:
        catalog = check_lock(project, catalog)
    except FeaturelockError as exc:
        if Path(sys.argv[0]).name == "feast":  # plain `feast apply`/`plan`: our words, no traceback
            raise SystemExit(
                f"featurelock refuses to register this repository ({type(exc).__name__}):\n{exc}"
            ) from None
        raise
    return feast_objects(
        project, catalog, check_profile(profile or os.environ.get("FEATURELOCK_PROFILE", "local"))
    )


def feast_objects(project: Project, catalog: Catalog, profile: Profile) -> dict[str, Any]:
    """Name -> Feast object generated from a checked ``catalog`` for ``profile``."""
    from feast import Entity, FeatureService, FeatureView, Field, ValueType
    from feast.types import Float64, Int64, String

    feast_types = {"float64": Float64, "Int64": Int64, "string": String}
    fingerprints = catalog.fingerprints()
    entities = {
        key.name: Entity(
            name=key.name, join_keys=[key.name], value_type=ValueType.STRING, description=key.description
        )
        for key in project.join_keys.values()
    }
    objects: dict[str, Any] = {f"entity_{k}": e for k, e in entities.items()}
    views: dict[str, Any] = {}
    for view in catalog.views():
        specs = sorted(catalog.view_features(view.name), key=lambda s: (s.name, s.version))
        source = _source(view, profile, project)
        join_keys = project.view_join_keys(view.name)
        fields = [Field(name=k, dtype=String) for k in join_keys] + [
            Field(
                name=s.column,
                dtype=feast_types[s.dtype],
                description=s.description,
                tags={"ref": s.ref, "fingerprint": fingerprints[s.ref], "owner": s.owner},
            )
            for s in specs
        ]
        views[view.name] = FeatureView(
            name=view.name,
            entities=[entities[k] for k in join_keys],
            ttl=specs[0].ttl,
            schema=fields,
            source=source,
            online=True,
            description=view.description,
            tags={"entity": view.entity},
        )
        objects[f"source_{view.name}"] = source
        objects[view.name] = views[view.name]
    for service in project.services.values():
        projections = []
        by_view: dict[str, list[str]] = {}
        for ref in service.features:
            spec = catalog.spec(ref)
            if spec.view is None:
                raise DefinitionError(
                    f"Service {service.name!r} lists request feature {ref} among Feast features."
                )
            by_view.setdefault(spec.view, []).append(spec.column)
        for view_name, columns in by_view.items():
            projections.append(views[view_name][columns])
        objects[service.name] = FeatureService(
            name=service.name,
            features=projections,
            description=service.description,
            tags={
                "features": ",".join(service.features),
                "request_features": ",".join(service.request_features),
            },
        )
    return objects


def repo_contents(project: Project, profile: Profile, catalog: Catalog, config: Any) -> Any:
    """The repository featurelock registers: the Feast objects generated from the checked catalog
    for ``profile``, as Feast's ``RepoContents`` (sorted by name, as Feast collects a module's).

    Given to Feast in process, with every setting an argument: Feast's own import of
    ``feature_repo/definitions.py`` is for plain ``feast apply``, where the user's environment
    (``FEATURELOCK_PROFILE``, ``FEATURELOCK_HOME``) chooses the profile and data directory."""
    from feast import Entity, FeatureService, FeatureView
    from feast import Project as FeastProject
    from feast.data_source import DataSource
    from feast.repo_contents import RepoContents
    from feast.repo_operations import get_repo_files

    others = sorted(
        str(p.relative_to(project.feature_repo))
        for p in get_repo_files(project.feature_repo)
        if p.name != "definitions.py"
    )
    if others:  # Feast would remove from the registry what featurelock does not hand it
        raise DefinitionError(
            f"{project.feature_repo} holds Python files besides definitions.py: {others}. featurelock "
            "registers only the definitions it generates from features/, and applying would remove "
            "any other object from the registry. Declare them under features/, or move them out of "
            "feature_repo/ (or list them in feature_repo/.feastignore)."
        )
    objects = feast_objects(project, catalog, profile)
    ordered = [objects[name] for name in sorted(objects)]
    description = getattr(config, "project_description", None) or ""
    return RepoContents(
        projects=[FeastProject(name=config.project, description=description)],
        data_sources=[o for o in ordered if isinstance(o, DataSource)],
        entities=[o for o in ordered if isinstance(o, Entity)],
        feature_views=[o for o in ordered if isinstance(o, FeatureView)],
        feature_services=[o for o in ordered if isinstance(o, FeatureService)],
        on_demand_feature_views=[],
        stream_feature_views=[],
        label_views=[],
        permissions=[],
    )


def _repo_and_store(project: Project, profile: Profile, catalog: Catalog) -> tuple[Any, Any]:
    """The generated repository and a Feast store on the project's data directory, from one config."""
    from feast import FeatureStore

    project.home.mkdir(parents=True, exist_ok=True)
    config = repo_config(project, profile)
    return repo_contents(project, profile, catalog, config), FeatureStore(config=config)


def apply(project: Project, profile: Profile = Profile.LOCAL, catalog: Catalog | None = None) -> None:
    """``feast apply`` of the project's generated definitions for ``profile`` (the lock checked
    first, unless the caller hands its checked ``catalog``); the data directory remembers the
    versions applied."""
    from feast.repo_operations import apply_total_with_repo_instance

    from featurelock.features.lockfile import check_lock, remember_applied

    catalog = catalog or check_lock(project)
    if profile == Profile.PRODUCTION:
        from featurelock.stores.pg import ensure_schema

        ensure_schema(production_settings(project))
    repo, store = _repo_and_store(project, profile, catalog)
    apply_total_with_repo_instance(
        store, store.config.project, store.registry, repo, skip_source_validation=True
    )
    remember_applied(project, catalog)  # the data directory remembers what it applied


def plan(project: Project, profile: Profile = Profile.LOCAL) -> None:
    """``feast plan`` of the project's generated definitions for ``profile`` (printed by Feast)."""
    import click

    from featurelock.features.lockfile import check_lock
    from featurelock.stores.feast_private import provider_of

    repo, store = _repo_and_store(project, profile, check_lock(project))
    provider = provider_of(store)
    for view in repo.feature_views:  # as Feast's plan: each view's source must suit the offline store
        provider.validate_data_source(store.config, view.batch_source)
    registry_diff, infra_diff, _ = store.plan(repo)
    click.echo(registry_diff.to_string())
    click.echo(infra_diff.to_string())
