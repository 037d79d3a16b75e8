"""Issue 20, item 10: projects on the same team servers never meet. Each project's tables live in a
PostgreSQL schema of its own (Redis keys and the SQL registry carry the Feast project already), so
two projects with a view of the same name keep their own values; a profile a project does not
declare is refused in one line before anything is written."""

from __future__ import annotations

import os

import pytest

from featurelock.cli import main
from featurelock.data.ingest import ingest_sources
from featurelock.features import registration
from featurelock.features.build import build_feature_tables
from featurelock.features.lockfile import check_lock
from featurelock.features.project import Project
from featurelock.features.publish import publish_feature_tables, publish_raw
from featurelock.scaffold import init_project
from featurelock.stores.pg import connect, project_schema
from featurelock.training.dataset import build_training_set, raw_store
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow  # real servers


def shop(tmp_path, name: str, keep: int) -> Project:
    root = init_project(tmp_path / name)
    production = (REPO_ROOT / "feature_repo" / "feature_store.production.yaml").read_text()
    (root / "feature_repo" / "feature_store.production.yaml").write_text(
        production.replace("project: nycflights13", f"project: {name}")
    )
    csv = root / "raw" / "visits.csv"
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join(lines[: keep + 1]) + "\n")  # another shop: fewer visits
    project = Project(root, tmp_path / f"home-{name}")
    ingest_sources(raw_store(project))
    build_feature_tables(check_lock(project), raw_store(project), project.feature_tables_dir)
    return project


def test_issue20_item10_two_projects_with_a_view_of_the_same_name_keep_their_own_tables(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("FEATURELOCK_PG_SCHEMA", raising=False)
    monkeypatch.setenv("FEATURELOCK_REDIS_DB", "13")
    names = (f"shopa{os.getpid()}", f"shopb{os.getpid()}")
    a, b = shop(tmp_path, names[0], 10_000), shop(tmp_path, names[1], 300)  # all ~625 visits; 300
    try:
        local = {}
        for project in (a, b):
            registration.apply(project, "local")
            local[project.root.name] = build_training_set(project, "return_model_v1").sha256
        for project in (a, b):  # b after a: with one shared schema, b's tables would replace a's
            publish_raw(project, raw_store(project))
            publish_feature_tables(project)
            registration.apply(project, "production")
        assert local[names[0]] != local[names[1]]
        for project in (a, b):
            built = build_training_set(project, "return_model_v1", profile="production")
            assert built.sha256 == local[project.root.name], project.root.name
        with connect() as conn:
            found = conn.execute(
                "SELECT table_schema FROM information_schema.tables WHERE table_name = 'customer_daily' "
                "AND table_schema = ANY(%s) ORDER BY 1",
                ([project_schema(n) for n in names],),
            ).fetchall()
        assert [r[0] for r in found] == sorted(project_schema(n) for n in names)
    finally:
        with connect() as conn:
            for name in names:
                conn.execute(f'DROP SCHEMA IF EXISTS "{project_schema(name)}" CASCADE')


def test_issue20_item10_a_profile_the_project_does_not_declare_is_refused_before_anything(tmp_path, capsys):
    root = init_project(tmp_path / "bare")
    home = tmp_path / "home"
    code = main(["--profile", "production", "ingest", "--project", str(root)])
    err = capsys.readouterr().err
    assert code == 2
    assert "profile='production' needs" in err and "feature_store.production.yaml" in err
    assert not (root / "feature_repo" / "data" / "raw").exists() and not home.exists()
