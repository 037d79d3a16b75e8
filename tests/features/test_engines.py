"""Feature tables on Spark equal DuckDB's bit for bit; a feature that would not is refused at lock.

The cross-engine check compares IEEE bits, so a floating-point sum (whose value depends on the
order its terms are added in, which differs between DuckDB's and Spark's window code) is caught.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from featurelock.core.errors import DefinitionError, LockError
from featurelock.data.ingest import ingest_sources
from featurelock.features.catalog import discover
from featurelock.features.engines import cross_engine_difference, first_difference, project_engines
from featurelock.features.lockfile import add_new_versions, check_lock
from featurelock.features.project import Project
from featurelock.features.spark_build import to_spark_sql
from featurelock.features.trial import sample_tables
from featurelock.scaffold import init_project
from featurelock.training.dataset import raw_store
from tests.conftest import REPO_ROOT

FLOAT_SUM = '''"""Feature amount_sum_30d, version {v}: the customer's spend over 30 days before t."""

from datetime import timedelta

from featurelock import sql_feature


@sql_feature(entity="customer", view="customer_daily", source="visits", dtype="float64",
             ttl=timedelta(days=2), owner="you")
def amount_sum_30d_v{v}() -> str:
    """Spend of the customer in the 30 days before t ({how}).

    Entity: customer. Inputs: visits.amount. Null policy: null without visits. Owner: you.
    """
    return """
        WITH points AS (
            SELECT customer, event_timestamp AS t, NULL AS amount, TRUE AS is_grid FROM grid
            UNION ALL
            SELECT customer, event_timestamp, {term}, FALSE FROM visits
        ),
        windowed AS (
            SELECT customer, t, is_grid, sum(amount) OVER w AS total FROM points
            WINDOW w AS (PARTITION BY customer ORDER BY t
                         RANGE BETWEEN INTERVAL 30 DAY PRECEDING AND INTERVAL 1 MICROSECOND PRECEDING)
        )
        SELECT customer, t AS event_timestamp, {value} AS value FROM windowed WHERE is_grid
    """
'''
INEXACT = {"how": "summed in floating point", "term": "amount", "value": "total"}
EXACT = {
    "how": "summed exactly in cents",
    "term": "round(amount * 100)::BIGINT",
    "value": "total::DOUBLE / 100",
}


def visits_of_wide_magnitudes(path: Path, rows: int = 400) -> None:
    """One customer's hourly visits with amounts from 0.01 to 10^9: a float sum of them depends on
    the order its terms are added in."""
    rng = random.Random(11)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    lines = ["visit_id,event_timestamp,customer,amount"]
    for i in range(rows):
        amount = round(rng.uniform(-1, 1) * 10 ** rng.randint(-2, 9), 2)
        when = start + timedelta(hours=3 * i)
        lines.append(f"v{i:04d},{when.strftime('%Y-%m-%dT%H:%M:%SZ')},c01,{amount}")
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def spark_project(tmp_path):
    """A new project that declares Spark (a feature_store.spark.yaml), with wide-magnitude visits."""
    root = init_project(tmp_path / "p")
    spark_yaml = (REPO_ROOT / "feature_repo" / "feature_store.spark.yaml").read_text()
    (root / "feature_repo" / "feature_store.spark.yaml").write_text(
        spark_yaml.replace("project: nycflights13", "project: p")
    )
    visits_of_wide_magnitudes(root / "raw" / "visits.csv")
    project = Project(root, tmp_path / "home")
    ingest_sources(raw_store(project))
    return project


def test_project_engines_follow_the_spark_profile_file(tmp_path):
    root = init_project(tmp_path / "q")
    assert project_engines(Project(root)) == ("duckdb",)
    assert project_engines(Project(REPO_ROOT)) == ("duckdb", "spark")


def test_range_frames_become_one_interval_type_for_spark():
    sql = (
        "SELECT sum(x) OVER (ORDER BY t RANGE BETWEEN INTERVAL 24 HOUR PRECEDING "
        "AND INTERVAL 1 MICROSECOND PRECEDING) FROM a"
    )
    out = to_spark_sql(sql)
    assert "INTERVAL '1 00:00:00.000000' DAY TO SECOND PRECEDING" in out
    assert "INTERVAL '0 00:00:00.000001' DAY TO SECOND PRECEDING" in out


def test_first_difference_compares_bits_not_values():
    keys = ("k",)
    a = pd.DataFrame({"k": ["x", "y"], "event_timestamp": [1, 2], "v": [0.0, float("nan")]})
    assert first_difference(a, a.copy(), keys) is None
    b = a.copy()
    b.loc[0, "v"] = -0.0  # equal as numbers, not as bits
    assert first_difference(a, b, keys) == "v at (k=x, event_timestamp=1): 0.0 vs -0.0 (1 of 2 rows differ)"


@pytest.mark.slow
@pytest.mark.spark
@pytest.mark.parametrize("root", [REPO_ROOT, REPO_ROOT / "examples" / "cdnow"], ids=["nycflights13", "cdnow"])
def test_every_view_of_both_projects_is_the_same_on_spark(spark, root, tmp_path):
    """Every feature version of both projects on a sample of their real data (the first rows of
    each raw table): each view's table equal bit for bit on DuckDB and Spark."""
    project = Project(root, tmp_path / "home")
    ingest_sources(raw_store(project))
    catalog = check_lock(project)
    tables = sample_tables(catalog)
    checked = 0
    for view in catalog.views():
        specs = catalog.view_features(view.name)
        assert cross_engine_difference(tables, view, project.view_join_keys(view.name), specs) is None
        checked += len(specs)
    assert checked == len([s for s in catalog.specs.values() if s.view is not None])


@pytest.mark.slow
@pytest.mark.spark
def test_a_float_sum_is_caught_by_the_cross_engine_check_and_refused_at_lock(spark, spark_project):
    features = spark_project.root / "features" / "customer"
    before = (spark_project.root / "features.lock").read_text()
    (features / "amount_sum_30d_v1.py").write_text(FLOAT_SUM.format(v=1, **INEXACT))
    catalog = discover(spark_project)
    view = spark_project.views["customer_daily"]
    difference = cross_engine_difference(
        sample_tables(catalog), view, ("customer",), [catalog.spec("amount_sum_30d@v1")]
    )
    assert difference is not None and difference.startswith(
        "DuckDB vs spark: amount_sum_30d_v1 at (customer=c01"
    )
    with pytest.raises(
        LockError,
        match=r"amount_sum_30d_v1.py: computes different values on the project's engines \(DuckDB vs spark: "
        r"amount_sum_30d_v1 at \(customer=c01.*aggregate exactly",
    ):
        add_new_versions(spark_project)
    assert (spark_project.root / "features.lock").read_text() == before
    # the same feature summed exactly (integer cents, one division) is the same on both and locks
    (features / "amount_sum_30d_v1.py").unlink()
    (features / "amount_sum_30d_v2.py").write_text(FLOAT_SUM.format(v=2, **EXACT))
    assert add_new_versions(spark_project) == ["amount_sum_30d@v2"]


@pytest.mark.slow
@pytest.mark.spark
def test_sql_spark_cannot_run_is_refused_at_lock_naming_the_module(spark, spark_project):
    """DuckDB-only SQL (a list comprehension) is refused before it is locked, with Spark's reason."""
    text = FLOAT_SUM.format(v=1, **EXACT).replace(
        "total::DOUBLE / 100 AS value", "len([y FOR y IN [1, 2, 3] IF y > 1])::DOUBLE AS value"
    )
    (spark_project.root / "features" / "customer" / "amount_sum_30d_v1.py").write_text(text)
    with pytest.raises(LockError, match=r"amount_sum_30d_v1.py: its SQL does not run on every engine"):
        add_new_versions(spark_project)
    with pytest.raises(DefinitionError, match=r"its SQL does not run on Spark"):
        catalog = discover(spark_project)
        from featurelock.features.build import compute_view

        compute_view(
            sample_tables(catalog),
            spark_project.views["customer_daily"],
            ("customer",),
            [catalog.spec("amount_sum_30d@v1")],
            engine="spark",
        )


def test_a_project_declaring_spark_cannot_lock_where_spark_cannot_run(tmp_path, monkeypatch):
    root = init_project(tmp_path / "r")
    spark_yaml = (REPO_ROOT / "feature_repo" / "feature_store.spark.yaml").read_text()
    (root / "feature_repo" / "feature_store.spark.yaml").write_text(spark_yaml.replace("nycflights13", "r"))
    (root / "features" / "customer" / "amount_sum_30d_v2.py").write_text(FLOAT_SUM.format(v=2, **EXACT))
    monkeypatch.setattr(
        "featurelock.stores.spark_session.spark_missing", lambda: "Java is not installed (test)"
    )
    before = (root / "features.lock").read_text()
    with pytest.raises(
        LockError, match=r"This project declares Spark \(.*feature_store.spark.yaml\).*Java is not installed"
    ):
        add_new_versions(Project(root))
    assert (root / "features.lock").read_text() == before
