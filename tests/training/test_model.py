"""Scoring and evaluation on small frames: metrics by hand, names not positions, artifacts."""

from __future__ import annotations

import collections
import hashlib
import math

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline as sk_pipeline
from sklearn.preprocessing import FunctionTransformer

from featurelock.core.errors import NotFoundError, ValidationError
from featurelock.features.catalog import discover
from featurelock.training.artifacts import ArtifactError, content_sha256, load_model, save_model
from featurelock.training.evaluate import metrics, predictions_sha256
from featurelock.training.model import RunConfig, check_config, make_pipeline, model_input, model_spec, split
from tests.conftest import nyc

TREE = "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"


@model_spec(trusted_types=(TREE,))
def hgb(seed: int, max_iter: int = 100) -> HistGradientBoostingClassifier:
    """A small gradient-boosting spec for these tests."""
    return HistGradientBoostingClassifier(random_state=seed, max_iter=max_iter)


@model_spec(preprocess="impute_scale")
def logit(seed: int, C: float = 1.0) -> LogisticRegression:
    """A logistic spec for these tests."""
    return LogisticRegression(random_state=seed, C=C)


SPECS = {"hist_gradient_boosting": hgb.__featurelock__, "logistic_regression": logit.__featurelock__}
CATEGORICAL = {"sched_dep_dow_v1": "onehot"}


def test_metrics_match_hand_computed_values():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.4, 0.35, 0.8])
    got = metrics(y, p)
    assert got["roc_auc"] == pytest.approx(3 / 4)  # 3 of the 4 (positive, negative) pairs are ordered
    assert got["pr_auc"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)  # precision 1 at recall .5, 2/3 at 1
    assert got["brier"] == pytest.approx((0.1**2 + 0.4**2 + 0.65**2 + 0.2**2) / 4)
    assert got["log_loss"] == pytest.approx(
        -(math.log(0.9) + math.log(0.6) + math.log(0.35) + math.log(0.8)) / 4
    )
    assert got["positive_rate"] == 0.5 and got["rows"] == 4


def test_predictions_hash_is_order_free_but_value_exact():
    ids = pd.Series(["b", "a", "c"])
    p = np.array([0.2, 0.1, 0.3])
    assert predictions_sha256(ids, p) == predictions_sha256(ids[::-1].reset_index(drop=True), p[::-1])
    assert predictions_sha256(ids, p) != predictions_sha256(ids, p + np.array([0, 0, 1e-16 + 1e-15]))


def small_frame(seed: int = 0, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "temp_v1": rng.normal(50, 10, n),
            "seats_v1": pd.array(rng.integers(50, 300, n), dtype="Int64"),
            "sched_dep_dow_v1": pd.array(rng.integers(0, 7, n), dtype="Int64"),
        }
    )
    frame.loc[::7, "temp_v1"] = np.nan
    frame.loc[::11, "seats_v1"] = pd.NA
    frame["label"] = ((frame["temp_v1"].fillna(50) > 52) ^ (rng.random(n) < 0.2)).astype(int)
    return frame


@pytest.mark.parametrize("name", ["hist_gradient_boosting", "logistic_regression"])
def test_reordering_input_columns_does_not_change_predictions(name):
    columns = ["temp_v1", "seats_v1", "sched_dep_dow_v1"]
    frame = small_frame()
    pipe = make_pipeline(
        SPECS[name], {"max_iter": 20} if name.startswith("hist") else {}, 7, columns, CATEGORICAL
    )
    pipe.fit(model_input(frame, columns), frame["label"])
    shuffled = frame[["label", "sched_dep_dow_v1", "seats_v1", "temp_v1"]]
    a = pipe.predict_proba(model_input(frame, columns))[:, 1]
    b = pipe.predict_proba(model_input(shuffled, columns))[:, 1]
    assert np.array_equal(a, b)
    assert len(np.unique(a)) > 5


def test_imputation_is_learned_from_training_rows_only():
    columns = ["temp_v1", "seats_v1", "sched_dep_dow_v1"]
    train = small_frame(1)
    pipe = make_pipeline(SPECS["logistic_regression"], {}, 0, columns, CATEGORICAL).fit(
        model_input(train, columns), train["label"]
    )
    imputer = pipe.named_steps["prepare"].named_transformers_["num"].named_steps["impute"]
    assert imputer.statistics_[0] == pytest.approx(train["temp_v1"].median())
    assert imputer.statistics_[1] == pytest.approx(train["seats_v1"].astype(float).median())


def test_missing_feature_column_is_named():
    with pytest.raises(ValidationError, match=r"lacks feature column\(s\) \['seats_v1'\]"):
        model_input(small_frame().drop(columns=["seats_v1"]), ["temp_v1", "seats_v1"])


def test_time_split_and_bad_configs():
    frame = pd.DataFrame(
        {
            "event_timestamp": pd.to_datetime(
                ["2013-11-01T03:59Z", "2013-11-01T04:00Z", "2013-12-01T00:00Z"], utc=True
            )
        }
    )
    train, holdout = split(frame, "2013-11-01T00:00:00-04:00")  # midnight in New York = 04:00Z (EDT)
    assert len(train) == 1 and len(holdout) == 2
    with pytest.raises(ValidationError, match=r"leaves 3 training and 0 holdout rows"):
        split(frame, "2014-06-01T00:00:00Z")
    catalog = discover(nyc())
    with pytest.raises(NotFoundError, match=r"model='xgboost' is not a model spec of project"):
        check_config(catalog, RunConfig(service="delay_model_v1", model="xgboost"))
    with pytest.raises(ValidationError, match=r"holdout_from='November' is not a timezone-aware"):
        check_config(catalog, RunConfig(service="delay_model_v1", holdout_from="November"))
    with pytest.raises(
        ValidationError, match=r"params \['depth'\] are not hyperparameters of model spec 'log"
    ):
        check_config(catalog, RunConfig(service="delay_model_v1", baseline_params={"depth": 3}))
    resolved = check_config(catalog, RunConfig(service="delay_model_v1"))
    assert (resolved.model, resolved.baseline, resolved.seed) == (
        "hist_gradient_boosting",
        "logistic_regression",
        2013,
    )


def test_skops_round_trip_checks_hash_and_refuses_tampering(tmp_path):
    columns = ["temp_v1", "seats_v1", "sched_dep_dow_v1"]
    frame = small_frame()
    pipe = make_pipeline(SPECS["hist_gradient_boosting"], {"max_iter": 10}, 3, columns, CATEGORICAL)
    pipe.fit(model_input(frame, columns), frame["label"])
    trusted = SPECS["hist_gradient_boosting"].all_trusted_types
    hashes = save_model(pipe, tmp_path / "model.skops", trusted)
    loaded = load_model(tmp_path / "model.skops", hashes["file_sha256"], trusted)
    assert np.array_equal(
        loaded.predict_proba(model_input(frame, columns)), pipe.predict_proba(model_input(frame, columns))
    )
    # two saves of the same model differ in bytes (zip timestamps, object ids) but not in content
    again = save_model(pipe, tmp_path / "again.skops", trusted)
    assert again["content_sha256"] == hashes["content_sha256"]
    data = bytearray((tmp_path / "model.skops").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "model.skops").write_bytes(bytes(data))
    with pytest.raises(
        ArtifactError,
        match=r"Refusing to load .*model.skops: its SHA-256 is sha256:[0-9a-f]+, but the run recorded",
    ):
        load_model(tmp_path / "model.skops", hashes["file_sha256"], trusted)


def test_untrusted_types_are_refused_on_save_and_load(tmp_path):
    pipe = sk_pipeline(FunctionTransformer(collections.Counter))  # any type outside the pinned list
    pipe.fit(np.array([[1.0], [2.0]]))
    with pytest.raises(ArtifactError, match=r"types skops does not trust.*collections.Counter"):
        save_model(pipe, tmp_path / "x.skops", [TREE])
    sio.dump(pipe, tmp_path / "x.skops")  # written by someone else
    sha = "sha256:" + hashlib.sha256((tmp_path / "x.skops").read_bytes()).hexdigest()
    with pytest.raises(Exception, match=r"[Uu]ntrusted"):
        load_model(tmp_path / "x.skops", sha, [TREE])
    assert content_sha256((tmp_path / "x.skops").read_bytes()).startswith("sha256:")


def test_a_spec_may_return_its_own_pipeline_and_is_told_the_categorical_columns():
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    seen = {}

    @model_spec(preprocess="none")
    def forest(seed: int, categorical: list[int], n_estimators: int = 20) -> Pipeline:
        """A whole pipeline of the project's own."""
        seen["categorical"] = categorical
        prep = ColumnTransformer(
            [("cat", OneHotEncoder(handle_unknown="ignore"), categorical)],
            remainder=SimpleImputer(strategy="median"),
        )
        return Pipeline([("prep", prep), ("rf", RandomForestClassifier(n_estimators, random_state=seed))])

    columns = ["temp_v1", "seats_v1", "sched_dep_dow_v1"]
    frame = small_frame()
    x = model_input(frame, columns)
    x[:, 2] = np.nan_to_num(x[:, 2])
    a = make_pipeline(forest.__featurelock__, {}, 5, columns, CATEGORICAL).fit(x, frame["label"])
    b = make_pipeline(forest.__featurelock__, {}, 5, columns, CATEGORICAL).fit(x, frame["label"])
    assert seen["categorical"] == [2]
    assert np.array_equal(a.predict_proba(x), b.predict_proba(x))  # seeded: identical
    assert forest.__featurelock__.defaults() == {"n_estimators": 20}


def test_report_helpers_on_hand_computed_values():
    from featurelock.training.evaluate import null_rates, segment_metrics, winners

    table = {
        "model": {"roc_auc": 0.8, "pr_auc": 0.5, "log_loss": 0.40, "brier": 0.15, "rows": 4},
        "baseline": {"roc_auc": 0.7, "pr_auc": 0.6, "log_loss": 0.45, "brier": 0.14, "rows": 4},
    }
    assert winners(table) == {
        "roc_auc": "model",
        "pr_auc": "baseline",
        "log_loss": "model",
        "brier": "baseline",
    }
    y = np.array([0, 1, 0, 1, 1])
    seg = pd.Series(["a", "a", "b", "b", "c"])
    rows = segment_metrics(seg, y, {"m": np.array([0.1, 0.9, 0.8, 0.2, 0.5])})
    assert rows == [("a", 2, 0.5, {"m": 1.0}), ("b", 2, 0.5, {"m": 0.0}), ("c", 1, 1.0, {"m": None})]
    train = pd.DataFrame({"x": [1.0, None, None, 2.0]})
    holdout = pd.DataFrame({"x": [None, 1.0]})
    assert null_rates(train, holdout, ["x"]) == [("x", 0.5, 0.5)]
