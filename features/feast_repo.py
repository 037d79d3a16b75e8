"""The Feast repository: its config per profile, and apply/plan run in-process.

``feature_repo/feature_store.yaml`` uses paths relative to ``feature_repo/``; when
``FEATURELOCK_HOME`` is set, featurelock points the registry and online store there instead
(Feast's ``${VAR}`` expansion has no defaults, so the override is done here, not in the yaml).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from features.errors import ValidationError
from features.paths import FEATURE_REPO, data_home

PROFILES = {"local": "feature_store.yaml", "production": "feature_store.production.yaml"}


def check_profile(profile: str) -> str:
    if profile not in PROFILES:
        raise ValidationError(
            f"profile={profile!r} is not a profile; expected one of {sorted(PROFILES)} "
            "(set it with --profile or FEATURELOCK_PROFILE)."
        )
    return profile


#: Offline stores selectable for comparison: ours (the default in the yaml) and Feast's built-in.
OFFLINE_STORES = {
    "featurelock": {"type": "features.stores.asof_duckdb.FeaturelockDuckDBOfflineStore"},
    "feast-duckdb": {"type": "duckdb"},
}


def raw_config(
    profile: str = "local", offline: str | None = None, threads: int | None = None
) -> dict[str, Any]:
    """The profile's yaml as a dict, with data paths made absolute under the data directory.

    ``offline`` swaps the offline store (``featurelock`` or ``feast-duckdb``) for comparisons.
    """
    path = FEATURE_REPO / PROFILES[check_profile(profile)]
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    home = data_home()
    registry = config.get("registry")
    if isinstance(registry, dict) and registry.get("registry_type", "file") == "file":
        registry["path"] = str(home / Path(registry["path"]).name)
    online = config.get("online_store", {})
    if str(online.get("type", "")).endswith(("sqlite", "SqliteOnlineStore")):
        online["path"] = str(home / Path(online["path"]).name)
    if profile == "production":
        _fill_production(config)
    if offline is not None:
        if offline not in OFFLINE_STORES:
            raise ValidationError(
                f"offline={offline!r} is not a store; expected one of {sorted(OFFLINE_STORES)}."
            )
        config["offline_store"] = dict(OFFLINE_STORES[offline])
    if threads is not None and config["offline_store"]["type"] == OFFLINE_STORES["featurelock"]["type"]:
        config["offline_store"]["threads"] = int(threads)
    return config


def _fill_production(config: dict[str, Any]) -> None:
    """Servers from the environment (defaults: this machine's local PostgreSQL and Redis)."""
    from features.pg import pg_settings

    pg = pg_settings()
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


def repo_config(profile: str = "local", offline: str | None = None, threads: int | None = None) -> Any:
    from feast.repo_config import RepoConfig

    config = RepoConfig(**raw_config(profile, offline, threads))
    config.repo_path = FEATURE_REPO
    return config


def feature_store(profile: str = "local", offline: str | None = None, threads: int | None = None) -> Any:
    """A Feast FeatureStore for the profile, on the featurelock data directory."""
    from feast import FeatureStore

    if profile == "production":
        from features.pg import connect

        connect().close()  # fail fast, naming host and port, before Feast wraps the error
    return FeatureStore(repo_path=str(FEATURE_REPO), config=repo_config(profile, offline, threads))


@contextlib.contextmanager
def _inside_repo() -> Iterator[None]:
    before = Path.cwd()
    if str(FEATURE_REPO) not in sys.path:
        sys.path.insert(0, str(FEATURE_REPO))  # Feast imports definitions.py by module name
    # A cached import would skip the lock check and keep the data paths of an earlier
    # FEATURELOCK_HOME: Feast must import the definitions afresh on every apply/plan.
    sys.modules.pop("definitions", None)
    try:
        yield
    finally:
        os.chdir(before)


def apply(profile: str = "local") -> None:
    """``feast apply`` on the featurelock repo (the lock check runs when definitions load)."""
    from feast.repo_operations import apply_total

    data_home().mkdir(parents=True, exist_ok=True)
    if profile == "production":
        from features.pg import ensure_schema

        ensure_schema()
    before = os.environ.get("FEATURELOCK_PROFILE")
    os.environ["FEATURELOCK_PROFILE"] = profile  # definitions.py builds the profile's sources
    try:
        with _inside_repo():
            apply_total(repo_config(profile), FEATURE_REPO, skip_source_validation=True)
    finally:
        if before is None:
            os.environ.pop("FEATURELOCK_PROFILE", None)
        else:
            os.environ["FEATURELOCK_PROFILE"] = before


def plan(profile: str = "local") -> None:
    from feast.repo_operations import plan as feast_plan

    data_home().mkdir(parents=True, exist_ok=True)
    with _inside_repo():
        feast_plan(repo_config(profile), FEATURE_REPO, skip_source_validation=False)
