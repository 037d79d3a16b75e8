"""Incremental feature builds: a build continues from the previous generation, recomputes only
what new batches can reach (for features with a lookback), and gives exactly the tables a build
from nothing (``full=True``) gives: the same generation name, byte for byte."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pandas as pd
import pytest

from featurelock.core.errors import DefinitionError
from featurelock.data.store import RawStore
from featurelock.features.build import build_feature_tables, view_lookback
from featurelock.features.generations import current_generation
from featurelock.features.increments import BUILD_RECORD, ViewState
from featurelock.features.lockfile import check_lock
from featurelock.features.project import Project
from featurelock.features.spec import sql_feature
from featurelock.scaffold import init_project
from tests.conftest import ts


@pytest.fixture
def shop(tmp_path):
    project = Project(init_project(tmp_path / "shop"), tmp_path / "home")
    visits = project.sources["visits"].load()
    return project, visits


def weekly(visits: pd.DataFrame) -> list[tuple[pd.Timestamp, pd.DataFrame]]:
    """The visits as weekly batches, each known a day after its week ends."""
    start = visits["event_timestamp"].min().normalize()
    week = ((visits["event_timestamp"] - start) // pd.Timedelta(days=7)).astype(int)
    out = []
    for n in sorted(week.unique()):
        known = start + pd.Timedelta(days=7 * (n + 1) + 1)
        out.append((known, visits[week == n].reset_index(drop=True)))
    return out


def generation(project: Project) -> str | None:
    return current_generation(project.feature_tables_dir)


def full_build(project: Project, store: RawStore, folder) -> str | None:
    build_feature_tables(check_lock(project), store, folder / "features", full=True)
    return current_generation(folder / "features")


def test_weekly_batches_with_a_correction_and_a_new_customer_equal_a_full_build(shop, tmp_path):
    project, visits = shop
    store = RawStore(project.raw_dir, project.sources)
    catalog = check_lock(project)
    late = visits["customer"] == "c20"  # a customer first seen in week 6: a new key of the grid
    early = visits[~late | (visits["event_timestamp"] >= ts("2024-02-05T00:00Z"))]
    batches = weekly(early)
    logs = []
    for i, (known, batch) in enumerate(batches):
        store.ingest("visits", batch, known)
        if i == 7:  # a correction: a visit of week 2 re-stated (new amount) and one moved a day earlier
            fix = visits[visits["visit_id"].isin(batches[1][1]["visit_id"].head(2))].copy()
            fix.loc[fix.index[0], "amount"] = 1.0
            store.ingest("visits", fix, known + pd.Timedelta(hours=1))
        lines: list[str] = []
        build_feature_tables(catalog, store, project.feature_tables_dir, progress=lines.append)
        logs.append(lines)
        if i in (0, 3, 5, 7, 8, len(batches) - 1):  # first, plain, new key, correction, after it, last
            assert generation(project) == full_build(project, store, tmp_path / f"full{i}"), f"batch {i}"
    # incremental from the second batch on: recomputed windows, not the whole grid (20 x ~90 days)
    assert any("continues from" in line for line in logs[1])
    recomputed = [int(m) for line in logs[3] for m in re.findall(r"\(([\d,]+) grid point", line)]
    assert recomputed and all(n < 19 * 30 for n in recomputed)  # 19 customers x ~4 weeks, not ~13
    # week 6 (batch 5) brings customer c20: the grid gains c20 on every day since the first, so
    # that batch's window widens to the whole history: 20 customers x 43 days (Jan 1 - Feb 12)
    widened = [int(m) for line in logs[5] for m in re.findall(r"\(([\d,]+) grid point", line)]
    assert widened == [20 * 43]


def test_a_build_record_lists_what_it_consumed(shop):
    project, visits = shop
    store = RawStore(project.raw_dir, project.sources)
    for known, batch in weekly(visits)[:2]:
        store.ingest("visits", batch, known)
    build_feature_tables(check_lock(project), store, project.feature_tables_dir)
    record = json.loads((project.feature_tables_dir / BUILD_RECORD).read_text())
    assert record["format"] == "featurelock-build/1"
    assert len(record["knowledge_times"]) == 2
    assert [n[:1] for n in record["batches"]["visits"]] == ["k", "k"]
    assert all(len(n.split()[1]) == len("sha256:") + 64 for n in record["batches"]["visits"])  # and bytes
    assert list(record["views"]["customer_daily"]) == ["visits_7d@v1"]


def test_a_backdated_batch_of_another_table_makes_the_build_start_over(shop, tmp_path):
    """A knowledge time earlier than the last one a build covered (possible across tables) is not
    skipped: the record no longer matches the store, so the next build starts from nothing."""
    project, visits = shop
    store = RawStore(project.raw_dir, project.sources)
    batches = weekly(visits)
    for known, batch in batches[:3]:
        store.ingest("visits", batch, known)
    build_feature_tables(check_lock(project), store, project.feature_tables_dir)
    # a record that claims less than the store holds (as after a backdated batch): start over
    path = project.feature_tables_dir / BUILD_RECORD
    record = json.loads(path.read_text())
    record["batches"]["visits"] = record["batches"]["visits"][:1]
    path.write_text(json.dumps(record))
    lines: list[str] = []
    build_feature_tables(check_lock(project), store, project.feature_tables_dir, progress=lines.append)
    assert not any("continues from" in line for line in lines)
    assert generation(project) == full_build(project, store, tmp_path / "full")


def test_view_lookback_is_the_longest_or_none():
    def spec(lookback):
        @sql_feature(
            entity="e", view="v", source="s", dtype="float64", ttl=timedelta(0), owner="o", lookback=lookback
        )
        def x_v1() -> str:
            """Doc."""
            return "SELECT 1"

        return x_v1.__feature__

    assert view_lookback([spec(timedelta(days=1)), spec(timedelta(days=3))]) == timedelta(days=3)
    assert view_lookback([spec(timedelta(days=1)), spec(None)]) is None
    with pytest.raises(DefinitionError, match=r"lookback=-1 must be a non-negative timedelta"):
        spec(-1)


def test_view_state_emits_only_changes_inside_its_window():
    keys = ["customer", "event_timestamp"]
    t = [ts(f"2024-01-0{d}T00:00Z") for d in range(1, 6)]
    state = ViewState(keys)
    first = pd.DataFrame({"customer": ["a"] * 5, "event_timestamp": t, "x": [1, 2, 3, 4, 5]})
    assert state.advance(ts("2024-02-01T00:00Z"), first) == 5
    window = pd.DataFrame({"customer": ["a", "a"], "event_timestamp": t[2:4], "x": [3, 40]})
    assert state.advance(ts("2024-02-02T00:00Z"), window, t[2], t[3]) == 1  # only x at t[3] changed
    table = state.table()
    assert table["x"].tolist() == [1, 2, 3, 4, 40, 5]
    assert state.newest["x"].tolist() == [1, 2, 3, 40, 5]


@pytest.mark.slow
@pytest.mark.spark
def test_incremental_builds_on_spark_equal_a_full_duckdb_build(spark, shop, tmp_path):
    """The same incremental windows computed by Spark: the same generation as DuckDB from nothing."""
    project, visits = shop
    store = RawStore(project.raw_dir, project.sources)
    catalog = check_lock(project)
    for i, (known, batch) in enumerate(weekly(visits)[:3]):
        store.ingest("visits", batch, known)
        lines: list[str] = []
        build_feature_tables(
            catalog, store, project.feature_tables_dir, engine="spark", progress=lines.append
        )
        if i:
            assert any("grid point(s) recomputed" in line for line in lines)
    assert generation(project) == full_build(project, store, tmp_path / "full")


def test_issue20_item3_a_training_set_is_refused_over_tables_built_before_a_batch(shop):
    """Before: a correction ingested, then `dataset build` before `features build`: the manifest named
    the new as_of, the values were the old tables', with no word."""
    from featurelock.core.errors import NotFoundError
    from featurelock.training.dataset import build_training_set
    from tests.engine.test_data_home import rebuild

    project, visits = shop
    store = RawStore(project.raw_dir, project.sources)
    batches = weekly(visits)
    for known, batch in batches[:4]:
        store.ingest("visits", batch, known)
    rebuild(project)
    pinned = build_training_set(project, "return_model_v1")
    known, batch = batches[4]
    store.ingest("visits", batch, known)
    with pytest.raises(
        NotFoundError,
        match=r"built before the batch known at 2024-02-06T00:00:00\+00:00 was ingested .* Run "
        r"`featurelock features build`",
    ):
        build_training_set(project, "return_model_v1")
    assert build_training_set(project, "return_model_v1", as_of=pinned.manifest.as_of).sha256 == pinned.sha256
    build_feature_tables(check_lock(project), store, project.feature_tables_dir)
    assert build_training_set(project, "return_model_v1").manifest.as_of == known.isoformat()
