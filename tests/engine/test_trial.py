"""A version whose SQL does not run is refused by `featurelock lock`, naming its module; a build
error names the module too."""

from __future__ import annotations

import shutil

import pytest

from featurelock.core.errors import DefinitionError, LockError
from featurelock.features.build import compute_view
from featurelock.features.catalog import discover
from featurelock.features.lockfile import add_new_versions
from featurelock.features.project import Project
from featurelock.scaffold import init_project
from tests.engine.test_data_home import prepare

BROKEN = '''"""Feature visits_7d, version 2 (with a typo)."""

from datetime import timedelta

from featurelock import sql_feature


@sql_feature(entity="customer", view="customer_daily", source="visits", dtype="Int64",
             ttl=timedelta(days=2), owner="you")
def visits_7d_v2() -> str:
    """Visits in the 7 days before t (a typo in the column name).

    Entity: customer. Null policy: never null. Owner: you.
    """
    return "SELECT customer, event_timestamp, cusotmer_visits AS value FROM grid"
'''


@pytest.fixture
def tiny(tmp_path):
    return init_project(tmp_path / "tiny")


def test_lock_refuses_a_version_whose_sql_does_not_compile(tiny):
    (tiny / "features" / "customer" / "visits_7d_v2.py").write_text(BROKEN)
    before = (tiny / "features.lock").read_text()
    with pytest.raises(
        LockError, match=r"features/customer/visits_7d_v2.py: its SQL does not run.*cusotmer_visits"
    ):
        add_new_versions(Project(tiny))
    assert (tiny / "features.lock").read_text() == before  # the version number is not used up


def test_lock_runs_the_trial_on_a_sample_of_the_ingested_data(tiny, tmp_path):
    project = Project(tiny, tmp_path / "home")
    prepare(project)
    good = BROKEN.replace("cusotmer_visits", "0::BIGINT").replace("with a typo", "zero")
    (tiny / "features" / "customer" / "visits_7d_v2.py").write_text(good)
    assert add_new_versions(project) == ["visits_7d@v2"]


def test_a_population_must_yield_its_declared_columns(tiny):
    path = tiny / "training" / "customer_days_v2.py"
    text = (tiny / "training" / "customer_days_v1.py").read_text()
    path.write_text(text.replace("customer_days_v1", "customer_days_v2").replace(" AS label", " AS outcome"))
    with pytest.raises(LockError, match=r"training/customer_days_v2.py: its SQL does not yield .*label"):
        add_new_versions(Project(tiny))


def test_a_build_error_names_the_module(tiny, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny, copy)
    (copy / "features" / "customer" / "visits_7d_v2.py").write_text(BROKEN)
    project = Project(copy)
    catalog = discover(project)
    from featurelock.features.trial import sample_tables

    tables = sample_tables(catalog)  # empty tables of the declared schemas
    with pytest.raises(DefinitionError, match=r"features/customer/visits_7d_v2.py: its SQL failed in DuckDB"):
        compute_view(tables, project.views["customer_daily"], ("customer",), [catalog.spec("visits_7d@v2")])


@pytest.mark.parametrize(
    ("lookback", "refused"), [("timedelta(days=2)", True), ("timedelta(days=7)", False)], ids=["2d", "7d"]
)
def test_issue19_lock_tries_a_declared_lookback(tiny, tmp_path, lookback, refused):
    """visits_7d_v1's SQL reads visits in [t - 7 days, t): a lookback of 2 days is refused (a value
    changes when older visits are dropped), 7 days locks."""
    project = Project(tiny, tmp_path / "home")
    prepare(project)
    text = (
        (tiny / "features" / "customer" / "visits_7d_v1.py")
        .read_text()
        .replace("visits_7d_v1", "visits_7d_v2")
    )
    text = text.replace("lookback=timedelta(days=7)", f"lookback={lookback}")
    (tiny / "features" / "customer" / "visits_7d_v2.py").write_text(text)
    before = (tiny / "features.lock").read_text()
    if refused:
        with pytest.raises(
            LockError,
            match=r"features/customer/visits_7d_v2.py: lookback=2 days, 0:00:00 is too short: "
            r"at \(customer='c\d+', event_timestamp=.*\) the value is \d+ with every row and \d+ "
            r"without the rows older than .*",
        ):
            add_new_versions(project)
        assert (tiny / "features.lock").read_text() == before
    else:
        assert add_new_versions(project) == ["visits_7d@v2"]
