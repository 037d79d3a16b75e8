"""Projects are found like git and dbt find theirs, load side by side, and declare everything."""

from __future__ import annotations

import sys

import pytest

from featurelock.core.errors import DefinitionError, NotFoundError
from featurelock.features.catalog import discover
from featurelock.features.project import Project, find_project_root
from featurelock.scaffold import init_project
from tests.conftest import REPO_ROOT


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return init_project(tmp_path_factory.mktemp("p") / "tiny")


def test_found_from_the_working_directory_and_its_parents(tiny, monkeypatch):
    monkeypatch.delenv("FEATURELOCK_PROJECT", raising=False)
    monkeypatch.chdir(tiny / "features" / "customer")
    assert find_project_root() == tiny
    monkeypatch.setenv("FEATURELOCK_PROJECT", str(REPO_ROOT))
    assert find_project_root() == REPO_ROOT  # the variable wins over the working directory
    assert find_project_root(tiny) == tiny  # and an explicit path over both


def test_no_project_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("FEATURELOCK_PROJECT", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NotFoundError, match=r"No featurelock project in .* or its parents.*featurelock init"):
        find_project_root()
    with pytest.raises(NotFoundError, match=r"project='/nowhere' is not a featurelock project"):
        find_project_root("/nowhere")


def test_two_projects_load_side_by_side(tiny):
    a, b = discover(Project(REPO_ROOT)), discover(Project(tiny))
    assert "plane_age@v1" in a.specs and "plane_age@v1" not in b.specs
    assert list(b.specs) == ["visits_7d@v1"] and list(b.populations) == ["customer_days@v1"]
    assert sorted(Project(tiny).services) == ["return_model_v1"]
    assert a.spec("origin_temp@v1").function.__module__ != b.spec("visits_7d@v1").function.__module__
    assert not any(name == "features" or name.startswith("features.") for name in sys.modules)


def test_data_directory_is_the_project_s_unless_featurelock_home_says_otherwise(tiny, tmp_path, monkeypatch):
    monkeypatch.delenv("FEATURELOCK_HOME", raising=False)
    assert Project(tiny).home == tiny / "feature_repo" / "data"
    monkeypatch.setenv("FEATURELOCK_HOME", str(tmp_path / "elsewhere"))
    assert Project(tiny).home == tmp_path / "elsewhere"


def test_a_name_declared_twice_is_refused(tiny, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny, copy)
    (copy / "features" / "more.py").write_text(
        "from featurelock import JoinKey\nCUSTOMER = JoinKey('customer', 'Another description.')\n"
    )
    with pytest.raises(DefinitionError, match=r"JoinKey 'customer' is declared twice"):
        _ = Project(copy).join_keys


def test_init_refuses_a_non_empty_directory(tiny):
    from featurelock.core.errors import ValidationError

    with pytest.raises(ValidationError, match=r"exists and is not empty"):
        init_project(tiny)


def test_init_writes_the_same_project_every_time(tmp_path):
    a, b = init_project(tmp_path / "a"), init_project(tmp_path / "b")
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert [p for p in files if (a / p).read_bytes() != (b / p).read_bytes()] == [
        p
        for p in files
        if p.suffix in (".yaml", ".md")  # the project name differs, nothing else
    ]
    assert (a / "raw" / "visits.csv").read_text().count("\n") == 626
