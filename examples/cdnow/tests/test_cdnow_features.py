"""CDNOW's own tests: hand-computed feature values on tiny frames, the loader, and (slow) the real
log against an independent pandas oracle."""

from __future__ import annotations

import glob
from pathlib import Path

import pandas as pd
import pytest

from featurelock.features.build import compute_feature
from featurelock.features.lockfile import check_lock
from featurelock.features.project import Project

ROOT = Path(__file__).resolve().parents[1]
CATALOG = check_lock(Project(ROOT))


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


# c1 buys on 01-01 (two lines), 02-01 and 03-31; snapshots at 03-31 and 04-01.
PURCHASES = pd.DataFrame(
    {
        "purchase_id": ["c1-a", "c1-b", "c1-c", "c1-d"],
        "event_timestamp": [utc("1997-01-01"), utc("1997-01-01"), utc("1997-02-01"), utc("1997-03-31")],
        "customer": ["c1"] * 4,
        "cds": pd.array([1, 2, 1, 3], dtype="Int64"),
        "dollars": [10.10, 20.20, 5.05, 30.0],
    }
)
GRID = pd.DataFrame({"customer": ["c1", "c1"], "event_timestamp": [utc("1997-03-31"), utc("1997-04-01")]})


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("purchases_30d@v1", [0, 1]),  # 03-01..03-31 holds nothing before 03-31; 03-31 counts at 04-01
        ("purchases_90d@v1", [3, 4]),  # 01-01 is exactly 89 and 90 days before: inside both windows
        ("purchases_90d@v2", [2, 3]),  # two lines on 01-01 are one purchase day
        ("spend_90d@v1", [35.35, 65.35]),
        ("days_since_last_purchase@v1", [58, 1]),
        ("tenure_days@v1", [89, 90]),
    ],
)
def test_features_on_a_hand_built_log(ref, expected):
    out = compute_feature(CATALOG, ref, {"purchases": PURCHASES}, grid=GRID)
    assert out[ref.replace("@v", "_v")].tolist() == expected


def test_every_feature_version_has_a_hand_computed_test():
    text = Path(__file__).read_text()
    assert [ref for ref in CATALOG.specs if f'"{ref}"' not in text] == []


def test_loader_numbers_lines_of_one_day():
    from importlib.util import module_from_spec, spec_from_file_location

    spec = spec_from_file_location("cdnow_sources", ROOT / "features" / "sources.py")
    sources = module_from_spec(spec)
    spec.loader.exec_module(sources)
    raw = pd.DataFrame(
        {
            "customer_id": ["00002", "00002", "00003"],
            "date": ["19970112", "19970112", "19970102"],
            "number_of_cds": [1, 5, 2],
            "dollar_value": [12.0, 77.0, 20.76],
        }
    )
    out = sources.purchases_frame(raw)
    assert out["purchase_id"].tolist() == ["00002-19970112-01", "00002-19970112-02", "00003-19970102-01"]
    assert out["event_timestamp"].tolist() == [utc("1997-01-12"), utc("1997-01-12"), utc("1997-01-02")]


@pytest.mark.slow
def test_real_log_matches_a_pandas_oracle(tmp_path):
    from featurelock.data.ingest import ingest_sources
    from featurelock.features.build import build_feature_tables
    from featurelock.training.dataset import raw_store

    project = Project(ROOT, tmp_path / "home")
    results = ingest_sources(raw_store(project))
    assert [(r.table, r.rows) for r in results] == [("purchases", 69_659)]
    build_feature_tables(CATALOG, raw_store(project), project.feature_tables_dir)
    table = pd.read_parquet(project.feature_tables_dir / "customer_weekly.parquet")
    log = pd.read_parquet(glob.glob(str(project.raw_dir / "purchases" / "*.parquet"))[0])
    assert log["customer"].nunique() == 23_570
    assert (log["event_timestamp"].min(), log["event_timestamp"].max()) == (
        utc("1997-01-01"),
        utc("1998-06-30"),
    )
    by_customer = dict(tuple(log.groupby("customer")))
    for row in table.sample(1_000, random_state=7).itertuples():
        seen = by_customer[row.customer]
        seen = seen[seen["event_timestamp"] < row.event_timestamp]
        d30 = seen[seen["event_timestamp"] >= row.event_timestamp - pd.Timedelta(days=30)]
        d90 = seen[seen["event_timestamp"] >= row.event_timestamp - pd.Timedelta(days=90)]
        assert row.purchases_30d_v1 == len(d30)
        assert row.purchases_90d_v1 == len(d90)
        assert row.purchases_90d_v2 == d90["event_timestamp"].nunique()
        assert row.spend_90d_v1 == round(d90["dollars"].mul(100).round().sum()) / 100
        assert row.days_since_last_purchase_v1 == (row.event_timestamp - seen["event_timestamp"].max()).days
        assert row.tenure_days_v1 == (row.event_timestamp - seen["event_timestamp"].min()).days
