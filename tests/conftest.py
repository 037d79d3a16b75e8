"""Shared helpers for the test suite (kept out of Feast's scanner: tests/ is outside feature_repo/)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest


def ts(text: str) -> pd.Timestamp:
    """A UTC timestamp from ISO text ('2013-03-10T12:00Z')."""
    return pd.Timestamp(text).tz_convert("UTC") if pd.Timestamp(text).tzinfo else pd.Timestamp(text, tz="UTC")


def utc_series(values: list[str | None]) -> pd.Series:
    return pd.Series([ts(v) if v else pd.NaT for v in values], dtype="datetime64[ns, UTC]")


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh, private data directory (FEATURELOCK_HOME)."""
    monkeypatch.setenv("FEATURELOCK_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


REPO_ROOT = Path(__file__).resolve().parents[1]
INITIAL_KNOWLEDGE_TIME = pd.Timestamp("2014-01-02T00:00:00Z")  # declared by features/sources.py
DEFAULT_AT = pd.Timestamp("2013-12-30T18:00:00Z")  # the parity time serving/examples.py declares


def nyc(home: Path | None = None):
    """The nycflights13 project (the repository root) on ``home`` (default: $FEATURELOCK_HOME)."""
    from featurelock.features.project import Project

    return Project(REPO_ROOT, home)


def nyc_module(relative: str):
    """A module of the nycflights13 project (e.g. ``features/sources.py``), loaded as the engine
    loads it: by path, under a name private to the project (never a top-level ``features``)."""
    from featurelock.features.project import load_module

    return load_module(REPO_ROOT, REPO_ROOT / relative)


def prepare_home(home: Path) -> None:
    """Ingest nycflights13, build the feature tables and apply, into ``home``."""
    from featurelock.data.ingest import ingest_sources
    from featurelock.features import registration
    from featurelock.features.build import build_feature_tables
    from featurelock.features.lockfile import check_lock
    from featurelock.training.dataset import raw_store

    project = nyc(home)
    ingest_sources(raw_store(project))
    build_feature_tables(check_lock(project), raw_store(project), project.feature_tables_dir)
    registration.apply(project)


@pytest.fixture(scope="session")
def real_home(tmp_path_factory) -> Iterator[Path]:
    """A session-wide data directory with the real data, features built and applied."""
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


class PrivateRedis:
    """A redis-server of the test's own on a free loopback port, to stop and start at will."""

    def __init__(self) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.proc = None

    def start(self) -> PrivateRedis:
        import subprocess
        import time

        import redis

        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200):
            try:
                if redis.Redis(host="127.0.0.1", port=self.port).ping():
                    return self
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise AssertionError(f"private redis-server on port {self.port} did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


# A private data directory with the real data, a small promoted model and a materialized store
# (the serving tests and the notebook share it).
@pytest.fixture(scope="session")
def served_home(real_home, tmp_path_factory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("served")
    for part in ("raw", "features"):
        shutil.copytree(real_home / part, home / part)
    before = os.environ["FEATURELOCK_HOME"]
    os.environ["FEATURELOCK_HOME"] = str(home)
    try:
        from featurelock.features import registration
        from featurelock.serving.materialize import materialize
        from featurelock.training.model import RunConfig
        from featurelock.training.runs import promote, train_run

        registration.apply(nyc())
        run = train_run(nyc(), RunConfig(service="delay_model_v1", params={"max_iter": 30}))
        promote(nyc(), run.run_id)
        materialize(nyc(), end=DEFAULT_AT)
        yield home
    finally:
        os.environ["FEATURELOCK_HOME"] = before


@pytest.fixture(scope="session")
def spark():
    """The one Spark session of the test run (local[2], shuffle partitions 2, UI off, loopback);
    tests that need it skip, naming the reason, only where Spark cannot start (no Java)."""
    from featurelock.stores.spark_session import spark_missing, spark_session

    missing = spark_missing()
    if missing:
        pytest.skip(f"Spark unavailable: {missing}")
    return spark_session()
