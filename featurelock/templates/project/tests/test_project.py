"""This project's own tests: the lock is intact, and the feature's window is half-open."""

from pathlib import Path

import pandas as pd

import featurelock.api as fl

ROOT = Path(__file__).resolve().parents[1]


def test_lock_is_intact():
    assert "visits_7d@v1" in fl.check_lock(fl.open_project(ROOT))


def test_visits_7d_counts_the_7_days_before_t():
    project = fl.open_project(ROOT)
    utc = lambda s: pd.Timestamp(s, tz="UTC")  # noqa: E731
    visits = pd.DataFrame(
        {
            "visit_id": ["a", "b", "c"],
            "customer": ["c1", "c1", "c1"],
            "event_timestamp": [utc("2024-01-01"), utc("2024-01-05"), utc("2024-01-08")],
            "amount": [1.0, 2.0, 3.0],
        }
    )
    grid = pd.DataFrame({"customer": ["c1"], "event_timestamp": [utc("2024-01-08")]})
    out = fl.compute_feature(project, "visits_7d@v1", {"visits": visits}, grid=grid)
    assert out["visits_7d_v1"].tolist() == [2]  # 01-01 is exactly 7 days before: counted; 01-08 is not
