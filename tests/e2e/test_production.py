"""The production profile on the real servers: PostgreSQL (registry, offline store) and Redis.

Isolation: a PostgreSQL schema and a Redis database number of this test session only, dropped and
flushed at the end.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import redis

from featurelock.core.errors import StoreUnavailableError
from featurelock.data.store import RawStore
from featurelock.features import feast_repo, registration
from featurelock.features.publish import publish_feature_tables, publish_raw
from featurelock.serving.parity import parity
from featurelock.serving.predictor import Predictor
from featurelock.stores.pg import connect, pg_settings
from featurelock.training.dataset import build_training_set
from featurelock.training.entity_rows import Request
from featurelock.training.model import RunConfig
from featurelock.training.runs import promote, train_run
from tests.conftest import DEFAULT_AT, REPO_ROOT, PrivateRedis, nyc

pytestmark = pytest.mark.slow
SERVICE = "delay_model_v1"
REDIS_DB = "14"


@pytest.fixture(scope="module")
def prod_home(real_home, tmp_path_factory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("prod")
    for part in ("raw", "features"):
        shutil.copytree(real_home / part, home / part)
    saved = {
        k: os.environ.get(k) for k in ("FEATURELOCK_HOME", "FEATURELOCK_PG_SCHEMA", "FEATURELOCK_REDIS_DB")
    }
    os.environ.update(
        FEATURELOCK_HOME=str(home),
        FEATURELOCK_PG_SCHEMA=f"fl_test_{os.getpid()}",
        FEATURELOCK_REDIS_DB=REDIS_DB,
    )
    client = redis.Redis(host="127.0.0.1", port=6379, db=int(REDIS_DB))
    client.flushdb()
    try:
        publish_raw(nyc(), RawStore(nyc().raw_dir, nyc().sources))
        publish_feature_tables(nyc())
        registration.apply(nyc(), "production")
        registration.apply(nyc(), "local")
        promote(nyc(), train_run(nyc(), RunConfig(service=SERVICE, params={"max_iter": 20})).run_id)
        yield home
    finally:
        with connect() as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{pg_settings().schema}" CASCADE')
        client.flushdb()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_training_set_hash_is_the_same_on_postgres_and_duckdb(prod_home):
    local = build_training_set(nyc(), SERVICE, profile="local")
    production = build_training_set(nyc(), SERVICE, profile="production")
    assert production.sha256 == local.sha256
    assert production.manifest.rows == 328_521


def test_parity_on_redis_and_same_online_values_as_sqlite(prod_home):
    report = parity(nyc(), sample=1000, profile="production")
    assert report.mismatches == 0, report.examples
    parity(nyc(), sample=10, profile="local")  # materializes SQLite to the same time
    at = datetime.fromisoformat(report.at)
    keys = ("origin", "dest", "carrier", "tailnum")
    flights = [
        Request(
            dict(zip(keys, ("JFK", "LAX", "AA", "N338AA"), strict=True)),
            {"sched_dep_time": at, "distance": 2475.0},
            at,
        ),
        Request(
            dict(zip(keys, ("EWR", "ORD", "UA", None), strict=True)),
            {"sched_dep_time": at, "distance": 719.0},
            at,
        ),
    ]
    on_redis = Predictor.load(nyc(), None, "production").online(flights)
    on_sqlite = Predictor.load(nyc(), None, "local").online(flights)
    assert on_redis == on_sqlite
    assert on_redis[0]["carrier_dep_delay_mean_7d_v1"][0] is not None


def test_postgres_unreachable_names_host_and_port_and_writes_nothing(prod_home, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    monkeypatch.setenv("FEATURELOCK_PG_PORT", str(closed))
    datasets = prod_home / "datasets"
    before = sorted(datasets.rglob("*")) if datasets.exists() else []
    with pytest.raises(StoreUnavailableError, match=rf"PostgreSQL at 127.0.0.1:{closed} .* is unreachable"):
        build_training_set(nyc(), SERVICE, profile="production")
    assert (sorted(datasets.rglob("*")) if datasets.exists() else []) == before


def _apply_in_subprocess(repo: Path, home: Path) -> subprocess.Popen:
    env = {**os.environ, "FEATURELOCK_HOME": str(home), "PYTHONPATH": str(repo)}
    code = (
        "import sys; from featurelock.features import registration;"
        "from featurelock.features.project import Project;"
        "registration.apply(Project(sys.argv[1]), 'production')"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, str(repo)],
        env=env,
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_concurrent_applies_leave_the_sql_registry_consistent(prod_home):
    procs = [_apply_in_subprocess(REPO_ROOT, prod_home) for _ in range(2)]
    results = [(*p.communicate(timeout=300), p.returncode) for p in procs]
    assert any(code == 0 for _, _, code in results), results
    store = feast_repo.feature_store(nyc(), "production")
    assert sorted(v.name for v in store.list_feature_views()) == [
        "carrier_stats",
        "origin_activity",
        "origin_weather",
        "origin_weather_known",
        "plane_specs",
        "route_stats",
    ]
    assert sorted(s.name for s in store.list_feature_services()) == [
        "delay_model_v1",
        "delay_model_v2",
        "delay_model_v3",
        "delay_model_v4",
    ]


def test_lock_is_enforced_before_the_sql_registry_is_touched(prod_home, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(REPO_ROOT, repo, ignore=shutil.ignore_patterns(".venv", ".git", "data", "__pycache__"))
    path = repo / "features/plane/plane_seats_v1.py"
    path.write_text(path.read_text().replace("seats AS value", "seats + 1 AS value"))
    out = _apply_in_subprocess(repo, prod_home)
    _, stderr = out.communicate(timeout=300)
    assert out.returncode != 0
    assert "plane_seats@v1 changed after it was locked" in stderr and "add `plane_seats_v2`" in stderr


def test_api_answers_503_while_redis_is_down_and_recovers(prod_home, monkeypatch):
    from fastapi.testclient import TestClient

    from featurelock.serving import predictor as predictor_module
    from featurelock.serving.app import create_app
    from featurelock.serving.materialize import materialize

    DEMO_FLIGHTS = [dict(r) for r in nyc().examples.requests]
    monkeypatch.setattr(predictor_module, "MARKS_EVERY_SECONDS", 0.0)  # check the marks every call

    server = PrivateRedis()
    port = server.port
    monkeypatch.setenv("FEATURELOCK_REDIS", f"127.0.0.1:{port}")
    monkeypatch.setenv("FEATURELOCK_HOME", str(prod_home))
    (prod_home / "materialize.production.json").unlink(missing_ok=True)
    server.start()
    try:
        materialize(nyc(), end=DEFAULT_AT, profile="production")
        with TestClient(create_app(nyc(), None, "production")) as client:
            first = client.post("/predict", json=DEMO_FLIGHTS[0])
            assert first.status_code == 200 and first.json()["missing_features"] == []
            server.stop()
            down = client.post("/predict", json=DEMO_FLIGHTS[0])
            assert down.status_code == 503
            assert f"Redis online store at 127.0.0.1:{port} is unavailable" in down.json()["detail"]
            assert client.get("/health").status_code == 503
            server.start()  # back, empty (it keeps nothing on disk): issue 20 item 4, before: answered
            lost = client.post("/predict", json=DEMO_FLIGHTS[0])  # with every feature missing
            assert lost.status_code == 503 and "lost what materialize wrote" in lost.json()["detail"]
            materialize(nyc(), end=DEFAULT_AT, profile="production")  # refilled: answers again
            again = client.post("/predict", json=DEMO_FLIGHTS[0])
            assert again.status_code == 200 and again.json()["missing_features"] == []
    finally:
        server.stop()
        (prod_home / "materialize.production.json").unlink(missing_ok=True)


def test_issue13_item15_a_never_applied_production_profile_is_one_line(monkeypatch, tmp_path):
    """Before: a psycopg traceback ("no schema has been selected to create in")."""
    from featurelock.core.errors import NotFoundError

    monkeypatch.setenv("FEATURELOCK_PG_SCHEMA", "featurelock_never_applied")
    with pytest.raises(
        NotFoundError, match=r"never applied here: PostgreSQL at .* has no schema 'featurelock_never"
    ):
        feast_repo.feature_store(nyc(tmp_path / "home"), "production")


def test_issue13_item12_production_ingest_with_postgres_down_writes_nothing_locally(
    monkeypatch, tmp_path, capsys
):
    """Before: the local raw tables were written, then the PostgreSQL load failed."""
    from featurelock.cli import main

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    monkeypatch.setenv("FEATURELOCK_PG_PORT", str(closed))
    monkeypatch.setenv("FEATURELOCK_HOME", str(tmp_path / "home"))
    for command in (["ingest"], ["features", "build"]):
        assert main(["--profile", "production", *command, "--project", str(REPO_ROOT)]) == 2
        err = capsys.readouterr().err
        assert f"PostgreSQL at 127.0.0.1:{closed}" in err and "Traceback" not in err
        assert not (tmp_path / "home" / "raw").exists() and not (tmp_path / "home" / "features").exists()
