"""A project's Feast repository: its config per profile, and apply/plan run in-process.

``feature_repo/feature_store.yaml`` (and ``feature_store.<profile>.yaml``) name featurelock's store
classes and relative paths; relative paths lie in the data directory (``featurelock.core.home``),
for plain ``feast`` as for featurelock. featurelock fills in the absolute data directory of the
project it was opened on, and the server settings of the production profile.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from featurelock.core.errors import ValidationError
from featurelock.core.settings import Profile, check_profile
from featurelock.features.project import Project

if TYPE_CHECKING:
    pass

DUCKDB_STORE = "featurelock.stores.duckdb_offline.FeaturelockDuckDBOfflineStore"
SPARK_STORE = "featurelock.stores.spark_offline.FeaturelockSparkOfflineStore"


def load_yaml(path: Path) -> dict[str, Any]:
    """A profile's ``feature_store*.yaml``, refused in one line when it is not one."""
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "not UTF-8 text"
        raise ValidationError(
            f"{path} is not YAML ({where}); restore the file (`featurelock init` writes one to copy from)."
        ) from exc
    if not isinstance(config, dict) or not isinstance(config.get("offline_store"), dict):
        raise ValidationError(
            f"{path} is not a Feast repo config (no offline_store mapping); restore the file "
            "(`featurelock init` writes one to copy from)."
        )
    return config


def feast_project(project: Project, profile: Profile) -> str:
    """The Feast project name the profile's yaml declares (how Feast keys a shared registry and Redis)."""
    return str(load_yaml(yaml_path(project, profile)).get("project") or project.name)


def production_settings(project: Project) -> Any:
    """PostgreSQL settings of the project's production profile: its own schema on the server."""
    from featurelock.stores.pg import pg_settings

    return pg_settings(feast_project(project, Profile.PRODUCTION))


def yaml_path(project: Project, profile: Profile) -> Path:
    name = (
        "feature_store.yaml" if check_profile(profile) == Profile.LOCAL else f"feature_store.{profile}.yaml"
    )
    path = project.feature_repo / name
    if not path.exists():
        raise ValidationError(
            f"profile={str(profile)!r} needs {path}, which this project does not have; add it (see the "
            "root project's feature_repo/) or use --profile local."
        )
    return path


#: Offline stores selectable for comparison: ours (the default in the yaml) and Feast's built-in.
OFFLINE_STORES = {
    "featurelock": {"type": DUCKDB_STORE},
    "feast-duckdb": {"type": "duckdb"},
    "featurelock-spark": {"type": SPARK_STORE},
}


def raw_config(
    project: Project, profile: Profile = Profile.LOCAL, offline: str | None = None, threads: int | None = None
) -> dict[str, Any]:
    """The profile's yaml as a dict, with data paths made absolute under the project's data directory.

    ``offline`` swaps the offline store (``featurelock`` or ``feast-duckdb``) for comparisons. Feast's
    own DuckDB store reads the registry's relative source paths from the working directory: use it
    from the data directory (``os.chdir(project.home)``).
    """
    config = load_yaml(yaml_path(project, profile))
    home = project.home
    registry = config.get("registry")
    if isinstance(registry, dict) and registry.get("registry_type", "file") == "file":
        registry["path"] = str(home / registry["path"])
    online = config.get("online_store", {})
    if str(online.get("type", "")).endswith(("sqlite", "SqliteOnlineStore")):
        online["path"] = str(home / online["path"])
    if profile == Profile.PRODUCTION:
        _fill_production(config, str(config.get("project") or project.name))
    if offline is not None:
        if offline not in OFFLINE_STORES:
            raise ValidationError(
                f"offline={offline!r} is not a store; expected one of {sorted(OFFLINE_STORES)}."
            )
        config["offline_store"] = dict(OFFLINE_STORES[offline])
    if config["offline_store"]["type"] in (DUCKDB_STORE, SPARK_STORE):
        config["offline_store"]["data_home"] = str(home)
        if threads is not None and config["offline_store"]["type"] == DUCKDB_STORE:
            config["offline_store"]["threads"] = int(threads)
    return config


def _fill_production(config: dict[str, Any], name: str) -> None:
    """Servers from the environment (defaults: this machine's local PostgreSQL and Redis); the
    project's own PostgreSQL schema (Redis keys carry the Feast project already)."""
    import importlib.util

    from featurelock.stores.pg import pg_settings

    lacking = [m for m in ("psycopg", "redis") if importlib.util.find_spec(m) is None]
    if lacking:
        raise ValidationError(
            f"the production profile needs the Python packages {lacking} (PostgreSQL and Redis clients), "
            "which this environment lacks; install them with `pip install 'featurelock[production]'`."
        )

    pg = pg_settings(name)
    config["registry"]["path"] = (
        pg.sqlalchemy_url() + f"?options=-csearch_path%3D{pg.schema}"  # the registry lives in our schema
    )
    redis = os.environ.get("FEATURELOCK_REDIS", "127.0.0.1:6379")
    redis_db = os.environ.get("FEATURELOCK_REDIS_DB", "0")
    config["online_store"]["connection_string"] = f"{redis},db={int(redis_db)}"
    config["offline_store"].update(
        host=pg.host,
        port=pg.port,
        database=pg.database,
        db_schema=pg.schema,
        user=pg.user,
        password=pg.password,
    )


def repo_config(
    project: Project, profile: Profile = Profile.LOCAL, offline: str | None = None, threads: int | None = None
) -> Any:
    from feast.repo_config import RepoConfig

    config = RepoConfig(**raw_config(project, profile, offline, threads))
    config.repo_path = project.feature_repo
    return config


def feature_store(
    project: Project, profile: Profile = Profile.LOCAL, offline: str | None = None, threads: int | None = None
) -> Any:
    """A Feast FeatureStore for the project and profile, on the project's data directory."""
    from feast import FeatureStore

    if profile == Profile.PRODUCTION:
        from featurelock.stores.pg import check_applied

        check_applied(production_settings(project))  # one line (host, port; never applied), not Feast's
    return FeatureStore(
        repo_path=str(project.feature_repo), config=repo_config(project, profile, offline, threads)
    )
