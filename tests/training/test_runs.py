"""Training runs on the real data: same config -> same model, reproduce, stage names, promotion."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from featurelock.data.store import RawStore
from featurelock.features import registration
from featurelock.features.build import build_feature_tables
from featurelock.features.lockfile import check_lock
from featurelock.training.dataset import build_training_set
from featurelock.training.model import RunConfig, check_config
from featurelock.training.runs import (
    fit_and_score,
    list_runs,
    promote,
    promoted_run,
    read_run,
    reproduce,
    rollback,
    train_run,
)
from tests.conftest import nyc

pytestmark = pytest.mark.slow
FAST = {"max_iter": 20, "max_features": 0.8}
K2 = pd.Timestamp("2014-02-01T00:00:00Z")


@pytest.fixture(scope="module")
def frame(real_home):
    return build_training_set(nyc(), "delay_model_v1").frame


def test_same_config_same_model_different_seed_different_model(frame):
    catalog = check_lock(nyc())
    config = check_config(catalog, RunConfig(service="delay_model_v1", params=FAST, seed=1))
    a, b = fit_and_score(catalog, config, frame), fit_and_score(catalog, config, frame)
    assert a.predictions_sha256 == b.predictions_sha256
    assert np.array_equal(a.proba, b.proba)
    from featurelock.training.artifacts import content_sha256
    from featurelock.training.runs import _skops_bytes

    assert content_sha256(_skops_bytes(a.model)) == content_sha256(_skops_bytes(b.model))
    c = fit_and_score(
        catalog, check_config(catalog, RunConfig(service="delay_model_v1", params=FAST, seed=2)), frame
    )
    assert c.predictions_sha256 != a.predictions_sha256


@pytest.fixture(scope="module")
def run_home(real_home, tmp_path_factory):
    """A private copy of the real data with one trained run (and one on the v2 service)."""
    import os

    home = tmp_path_factory.mktemp("runs")
    for part in ("raw", "features"):
        shutil.copytree(real_home / part, home / part)
    before = os.environ["FEATURELOCK_HOME"]
    os.environ["FEATURELOCK_HOME"] = str(home)
    registration.apply(nyc())
    v1 = train_run(nyc(), RunConfig(service="delay_model_v1", params=FAST))
    yield home, v1
    os.environ["FEATURELOCK_HOME"] = before


def test_run_directory_records_what_it_must(run_home):
    _home, v1 = run_home
    files = sorted(p.name for p in v1.path.iterdir())
    assert files == [
        "baseline.skops",
        "calibration.png",
        "holdout_predictions.parquet",
        "importance.png",
        "model.skops",
        "precision_recall.png",
        "report.html",
        "roc.png",
        "run.json",
    ]
    record = json.loads((v1.path / "run.json").read_text())
    for key in (
        "config",
        "model",
        "baseline",
        "dataset",
        "split",
        "metrics",
        "holdout_predictions_sha256",
        "git",
        "environment",
        "features_lock_sha256",
        "hyperparameters",
    ):
        assert key in record, key
    assert record["hyperparameters"]["model"]["max_iter"] == 20  # the override
    assert record["hyperparameters"]["model"]["learning_rate"] == 0.1  # the spec's default
    assert record["hyperparameters"]["baseline"]["spec"] == "logistic_regression"
    assert record["config"]["seed"] == 2013 and record["config"]["params"] == FAST
    assert record["dataset"]["as_of"] == "2014-01-02T00:00:00+00:00"
    assert record["split"]["train_rows"] + record["split"]["holdout_rows"] == 328_521
    assert set(record["metrics"]) == {"model", "baseline"}
    assert 0.6 < record["metrics"]["model"]["roc_auc"] < 0.9
    assert record["environment"]["packages"]["scikit-learn"] == "1.9.1"
    report = (v1.path / "report.html").read_text()
    assert report.count("data:image/png;base64,") == 4 and "baseline" in report
    for heading in (
        "Hyperparameters",
        "Holdout metrics per origin",
        "Holdout metrics per month",
        "Null rates per feature",
    ):
        assert f"<h2>{heading}</h2>" in report, heading
    assert "<td>EWR</td>" in report and "<td>plane_seats_v1</td>" in report
    assert report.count("&#9733;</b>") == 4  # one winner per metric with a direction


def test_reproduce_passes_on_a_fresh_run_and_after_features_evolve(run_home):
    _, v1 = run_home
    assert reproduce(nyc(), v1.run_id).identical
    v2 = train_run(nyc(), RunConfig(service="delay_model_v2", params=FAST))  # the corrected _v2 feature
    assert v2.record.holdout_predictions_sha256 != v1.record.holdout_predictions_sha256
    result = reproduce(nyc(), v1.run_id)
    assert result.identical and result.stage is None


def test_promote_and_roll_back(run_home):
    _, v1 = run_home
    runs = list_runs(nyc())
    assert v1.run_id in runs and len(runs) >= 1
    promote(nyc(), v1.run_id)
    other = next((r for r in runs if r != v1.run_id), v1.run_id)
    promote(nyc(), other)
    assert promoted_run(nyc()) == other
    rollback(nyc())
    assert promoted_run(nyc()) == v1.run_id


def test_reproduce_names_model_when_a_hyperparameter_is_edited(run_home):
    _, v1 = run_home
    record_path = v1.path / "run.json"
    original = record_path.read_text()
    record = json.loads(original)
    record["config"]["params"]["learning_rate"] = 0.2
    record_path.write_text(json.dumps(record))
    try:
        result = reproduce(nyc(), v1.run_id)
        assert not result.identical and result.stage == "model"
    finally:
        record_path.write_text(original)


def test_reproduce_survives_a_correction_and_catches_a_behind_the_back_edit(run_home):
    home, v1 = run_home
    store = RawStore(home / "raw", nyc().sources)
    weather = store.read("weather")
    fix = weather[(weather["origin"] == "EWR") & (weather["event_timestamp"].dt.month == 12)].copy()
    fix["visib"] = 0.25
    store.ingest("weather", fix.drop(columns=["created_timestamp"]), K2)
    build_feature_tables(check_lock(nyc()), store, home / "features")
    assert reproduce(nyc(), v1.run_id).identical  # the manifest pins as_of; the correction came later

    path = next((home / "raw" / "flights").glob("k2014010*.parquet"))
    flights = pd.read_parquet(path)
    flights.loc[flights["flight_id"] == "20130101-UA1545-EWR-0515", "dep_delay"] = 99
    flights.to_parquet(path, index=False)
    build_feature_tables(check_lock(nyc()), store, home / "features")
    result = reproduce(nyc(), v1.run_id)
    assert not result.identical
    assert result.stage == "source data"
    assert any("raw.flights" in change for _, change in result.details)


def test_unknown_run_is_a_clear_error(run_home):
    with pytest.raises(Exception, match=r"run='nope' is not a run directory"):
        read_run(nyc(), "nope")


def test_lineage_lists_services_and_runs(run_home):
    from featurelock.training.lineage import lineage

    _, v1 = run_home
    info = lineage(nyc(), "carrier_dep_delay_mean_7d@v1")
    assert info.services == ["delay_model_v1", "delay_model_v4"]
    assert v1.run_id in info.runs
    shared = lineage(nyc(), "origin_temp@v1")
    assert shared.services == ["delay_model_v1", "delay_model_v2", "delay_model_v4"]  # v3: origin_temp@v2
    assert lineage(nyc(), "sched_dep_hour@v2").services == ["delay_model_v4"]
    assert lineage(nyc(), "origin_temp@v2").services == ["delay_model_v3"]
    assert lineage(nyc(), "carrier_dep_delay_mean_7d@v2").services == ["delay_model_v2", "delay_model_v3"]
    assert v1.run_id not in lineage(nyc(), "carrier_dep_delay_mean_7d@v2").runs
