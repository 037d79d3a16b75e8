"""`featurelock materialize` with no end materializes up to the newest event, then resumes."""

from __future__ import annotations

import pandas as pd
import pytest

from featurelock.features.project import Project
from featurelock.scaffold import init_project
from featurelock.serving.materialize import materialize, read_state
from tests.engine.test_data_home import prepare

pytestmark = pytest.mark.slow


def test_materialize_without_an_end_goes_to_the_newest_event_and_resumes(tmp_path):
    project = Project(init_project(tmp_path / "shop"), tmp_path / "home")
    prepare(project)
    first = materialize(project)
    newest = pd.read_parquet(project.feature_tables_dir / "customer_daily.parquet")["event_timestamp"].max()
    assert [m.rows for m in first] == [20]  # one newest row per customer
    assert read_state(project)["customer_daily"]["end"] == newest.isoformat()
    assert [m.rows for m in materialize(project)] == [0]  # nothing new since the high-water mark


def _online_newest_event(project: Project) -> pd.Timestamp:
    """The newest event time the SQLite online store holds for the view (read from the store)."""
    import sqlite3

    from featurelock.features.feast_repo import feature_store
    from featurelock.stores.feast_private import online_store_of, sqlite_table_name

    fs = feature_store(project)
    path = online_store_of(fs)._get_db_path(fs.config)
    table = sqlite_table_name(fs.config, fs.get_feature_view("customer_daily"))
    with sqlite3.connect(path) as conn:
        micros = conn.execute(f"SELECT max(event_ts) FROM {table}").fetchone()[0]
    return pd.Timestamp(micros, unit="us", tz="UTC")


def test_issue13_item11_a_killed_materialize_never_leaves_the_store_ahead_of_its_mark(tmp_path, monkeypatch):
    """Before: a materialize killed after writing left the store ahead of its mark; a parity check at
    the earlier time then resumed from the mark and read future values (900 mismatches)."""
    import featurelock.serving.materialize as m

    project = Project(init_project(tmp_path / "shop"), tmp_path / "home")
    prepare(project)
    times = pd.read_parquet(project.feature_tables_dir / "customer_daily.parquet")["event_timestamp"]
    early = times.sort_values().iloc[len(times) // 2]
    materialize(project, end=early)
    assert _online_newest_event(project) <= early

    real = m.provider_of

    class Killed(Exception):
        pass

    def dying_provider(fs):
        provider = real(fs)

        class Dying:
            def online_write_batch(self, *args, **kwargs):
                provider.online_write_batch(*args, **kwargs)  # the rows land ...
                raise Killed("killed after writing")  # ... and the run dies before its mark

        return Dying()

    monkeypatch.setattr(m, "provider_of", dying_provider)
    with pytest.raises(Killed):
        materialize(project)  # to the newest event
    monkeypatch.undo()
    assert _online_newest_event(project) > early  # the store is ahead of the mark (still `early`)
    assert read_state(project)["customer_daily"]["end"] == early.isoformat()

    said = []
    refill = materialize(project, end=early, rewind=True, progress=said.append)
    assert any("does not hold what its mark says" in line for line in said)
    assert refill[0].rows > 0 and _online_newest_event(project) <= early


def test_issue13_item11_a_lost_online_store_is_detected_and_refilled(tmp_path):
    """Before: after the online data was lost, an incremental materialize believed it was done."""
    import sqlite3

    from featurelock.features.feast_repo import feature_store
    from featurelock.stores.feast_private import online_store_of, sqlite_table_name

    project = Project(init_project(tmp_path / "shop"), tmp_path / "home")
    prepare(project)
    assert [v.rows for v in materialize(project)] == [20]
    fs = feature_store(project)
    path = online_store_of(fs)._get_db_path(fs.config)
    with sqlite3.connect(path) as conn:  # the data is lost (a restored old file, a wiped table)
        conn.execute(f"DELETE FROM {sqlite_table_name(fs.config, fs.get_feature_view('customer_daily'))}")
        conn.execute("DELETE FROM featurelock_marks")
    assert [v.rows for v in materialize(project)] == [20]  # refilled, not "nothing new"
    assert [v.rows for v in materialize(project)] == [0]  # and then resumed as before


def test_issue13_item15_transient_store_errors_are_retried_then_named(tmp_path, monkeypatch):
    """Writes are retried with backoff while the store is unavailable; past the last attempt the
    store's own error is raised (and said at each retry)."""
    import featurelock.serving.materialize as m
    from featurelock.core.errors import StoreUnavailableError

    monkeypatch.setattr("tenacity.nap.time.sleep", lambda _s: None)  # no real waiting in a test
    project = Project(init_project(tmp_path / "shop"), tmp_path / "home")
    prepare(project)
    real, failures = m.provider_of, {"left": 2}

    def flaky_provider(fs):
        provider = real(fs)

        class Flaky:
            def online_write_batch(self, *args, **kwargs):
                if failures["left"]:
                    failures["left"] -= 1
                    raise StoreUnavailableError("The Redis online store at r:6379 is unavailable (reset)")
                return provider.online_write_batch(*args, **kwargs)

        return Flaky()

    monkeypatch.setattr(m, "provider_of", flaky_provider)
    said = []
    assert [v.rows for v in materialize(project, progress=said.append)] == [20]
    assert [line.strip() for line in said[:2]] == [
        "customer_daily: The Redis online store at r:6379 is unavailable (reset); retry 1 of 3",
        "customer_daily: The Redis online store at r:6379 is unavailable (reset); retry 2 of 3",
    ]
    failures["left"] = 99
    m.state_path(project).unlink()  # forget the mark: the next run writes every row again
    with pytest.raises(StoreUnavailableError, match="unavailable"):
        materialize(project)
    assert failures["left"] == 99 - m.ATTEMPTS
