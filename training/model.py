"""The scoring layer: scikit-learn pipelines fed by feature name, seeded from the run config.

- Features are selected **by name** (the service's order, then request features) into a float64
  matrix before the pipeline, whose column transformer refers to positions in that order;
  reordering the input frame's columns cannot change a prediction.
- Imputation (median + missing-value indicators) and encoding (one-hot day of week) are learned
  in the pipeline, so they are fitted on training rows only.
- Every random component takes ``random_state`` from the run config.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from features.catalog import discover
from features.errors import ValidationError
from features.services import check_service

CATEGORICAL = ("sched_dep_dow_v1",)
MODELS = ("hist_gradient_boosting", "logistic_regression")
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "hist_gradient_boosting": {
        "max_iter": 200,
        "learning_rate": 0.1,
        "max_leaf_nodes": 31,
        "min_samples_leaf": 40,
        "l2_regularization": 0.0,
        "early_stopping": False,
    },
    "logistic_regression": {"C": 1.0, "max_iter": 1000},
}


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a training run besides its data."""

    service: str
    model: str = "hist_gradient_boosting"
    seed: int = 2013
    params: dict[str, Any] = field(default_factory=dict)
    baseline: str = "logistic_regression"
    baseline_params: dict[str, Any] = field(default_factory=dict)
    holdout_from: str = "2013-11-01T00:00:00-04:00"  # prediction times from here on are held out
    as_of: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> RunConfig:
        return RunConfig(**data)


def check_config(config: RunConfig) -> RunConfig:
    check_service(config.service)
    for name in (config.model, config.baseline):
        if name not in MODELS:
            raise ValidationError(f"model={name!r} is not supported; expected one of {list(MODELS)}.")
    try:
        pd.Timestamp(config.holdout_from).tz_convert("UTC")
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"holdout_from={config.holdout_from!r} is not a timezone-aware timestamp; "
            "use e.g. '2013-11-01T00:00:00-04:00'."
        ) from exc
    return config


def feature_columns(service: str) -> list[str]:
    """The model's inputs, by name: the service's features in order, then its request features."""
    spec = check_service(service)
    catalog = discover()
    return [catalog.spec(ref).column for ref in (*spec.features, *spec.request_features)]


def model_input(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """The named feature columns as a float64 matrix (NaN for missing), in the model's order.

    Columns are looked up by name here, once; the pipeline then works on positions, so the
    serving hot path can build one row as a plain array without a DataFrame.
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationError(
            f"The input frame lacks feature column(s) {missing}; it has {sorted(frame.columns)}."
        )
    return np.column_stack([frame[c].astype("float64").to_numpy(na_value=np.nan) for c in columns]).astype(
        np.float64, copy=False
    )


def _estimator(name: str, params: dict[str, Any], seed: int) -> Any:
    merged = {**DEFAULT_PARAMS[name], **params}
    if name == "hist_gradient_boosting":
        return HistGradientBoostingClassifier(random_state=seed, **merged)
    return LogisticRegression(random_state=seed, **merged)


def make_pipeline(name: str, params: dict[str, Any], seed: int, columns: list[str]) -> Pipeline:
    numeric = [i for i, c in enumerate(columns) if c not in CATEGORICAL]
    categorical = [i for i, c in enumerate(columns) if c in CATEGORICAL]
    numeric_steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median", add_indicator=True))]
    if name == "logistic_regression":
        numeric_steps.append(("scale", StandardScaler()))
    prep = ColumnTransformer(
        [
            ("num", Pipeline(numeric_steps), numeric),
            (
                "cat",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
                    ]
                ),
                categorical,
            ),
        ],
        remainder="drop",
    )
    return Pipeline([("prepare", prep), ("model", _estimator(name, params, seed))])


def split(frame: pd.DataFrame, holdout_from: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Time-based split on the prediction timestamp: train before ``holdout_from``, hold out after."""
    cut = pd.Timestamp(holdout_from).tz_convert("UTC")
    late = frame["event_timestamp"] >= cut
    train, holdout = frame[~late].reset_index(drop=True), frame[late].reset_index(drop=True)
    if train.empty or holdout.empty:
        raise ValidationError(
            f"holdout_from={holdout_from!r} leaves {len(train)} training and {len(holdout)} holdout rows; "
            "pick a time inside the data."
        )
    return train, holdout


def fit(config: RunConfig, train: pd.DataFrame, which: str = "model") -> Pipeline:
    columns = feature_columns(config.service)
    name, params = (
        (config.model, config.params) if which == "model" else (config.baseline, config.baseline_params)
    )
    pipeline = make_pipeline(name, params, config.seed, columns)
    pipeline.fit(model_input(train, columns), train["label"].to_numpy())
    return pipeline


def predict(pipeline: Pipeline, frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """P(delayed) for each row, features taken by name."""
    return pipeline.predict_proba(model_input(frame, columns))[:, 1]
