"""The serving hot path's preprocessing, taken from the fitted pipeline and checked against it.

scikit-learn's ``ColumnTransformer`` costs ~2 ms per one-row call here (validation, joblib
dispatch) while the arithmetic takes microseconds. ``compile_preprocessing`` reads the fitted
imputers, indicators, scaler and one-hot categories and applies the same operations with numpy;
``FastPredictor`` accepts it only if it reproduces the pipeline's own transform **bit for bit**
on a probe matrix (with missing values and unknown categories), otherwise it keeps the pipeline.
The model itself is evaluated by ``forest`` (a HistGradientBoostingClassifier's trees walked
together with numpy) under the same condition. Parity tests then compare served and research
probabilities exactly; a test checks the compiled forest on the whole holdout.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline


def _numeric(step: Pipeline) -> Callable[[np.ndarray], np.ndarray] | None:
    names = [name for name, _ in step.steps]
    if names not in (["impute"], ["impute", "scale"]):
        return None
    imputer = step.named_steps["impute"]
    if imputer.strategy not in ("median", "mean"):
        return None
    stats = imputer.statistics_.astype(np.float64)
    indicator = imputer.indicator_.features_ if imputer.add_indicator else None
    scaler = step.named_steps.get("scale")

    def transform(x: np.ndarray) -> np.ndarray:
        mask = np.isnan(x)
        out = np.where(mask, stats, x)
        if indicator is not None:
            out = np.hstack([out, mask[:, indicator].astype(np.float64)])
        if scaler is not None:
            out = out.copy()
            if scaler.with_mean:
                out -= scaler.mean_
            if scaler.with_std:
                out /= scaler.scale_
        return out

    return transform


def _categorical(step: Pipeline) -> Callable[[np.ndarray], np.ndarray] | None:
    if [name for name, _ in step.steps] != ["impute", "onehot"]:
        return None
    imputer, encoder = step.named_steps["impute"], step.named_steps["onehot"]
    if imputer.add_indicator or encoder.drop is not None:
        return None
    stats = imputer.statistics_.astype(np.float64)
    categories = [np.asarray(c, dtype=np.float64) for c in encoder.categories_]

    def transform(x: np.ndarray) -> np.ndarray:
        filled = np.where(np.isnan(x), stats, x)
        return np.hstack(
            [(filled[:, [j]] == cats[None, :]).astype(np.float64) for j, cats in enumerate(categories)]
        )

    return transform


def compile_preprocessing(pipeline: Pipeline) -> Callable[[np.ndarray], np.ndarray] | None:
    prep = pipeline.named_steps.get("prepare")
    if prep is None or prep.remainder != "drop":
        return None
    parts = []
    for name, step, columns in prep.transformers_:
        if name == "remainder" or (isinstance(columns, list | np.ndarray) and len(columns) == 0):
            continue
        compiled = _numeric(step) if name == "num" else _categorical(step) if name == "cat" else None
        if compiled is None:
            return None
        parts.append((np.asarray(columns, dtype=int), compiled))

    def transform(x: np.ndarray) -> np.ndarray:
        return np.hstack([fn(x[:, cols]) for cols, fn in parts])

    return transform


def batch_independent(model: Any) -> bool:
    """Whether ``predict_proba`` of a batch equals its rows' one by one, bit for bit: trees and the
    prior compute each row alone. A model that multiplies matrices (a linear model, a network) may
    not: BLAS can sum a row's products in another order for another batch shape (measured: a
    logistic regression's probability for one row alone and in a batch of three differed in the
    last bit on this machine kind's CPU, and not on another's)."""
    from sklearn.dummy import DummyClassifier
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.tree import BaseDecisionTree

    kinds = (
        BaseDecisionTree,
        DummyClassifier,
        ExtraTreesClassifier,
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )
    return isinstance(model, kinds)


def proba_by_row(estimator: Any, x: np.ndarray, model: Any = None) -> np.ndarray:
    """``estimator.predict_proba(x)`` where every row's probability is the one it gets alone (a
    C-contiguous one-row matrix), as a single ``/predict`` computes it: a batch, a parity check and
    a replay then give each row the same bits. ``model``: the final estimator that decides whether
    a batch may be computed at once (default: ``estimator`` itself)."""
    if len(x) <= 1 or batch_independent(estimator if model is None else model):
        return estimator.predict_proba(x)
    return np.vstack([estimator.predict_proba(np.ascontiguousarray(x[i : i + 1])) for i in range(len(x))])


def probe_matrix(width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 50, size=(64, width)).round(2)
    x[:, :] = np.where(rng.random(x.shape) < 0.2, np.nan, x)
    x[:4, :] = np.arange(-1, 3)[:, None]  # small integers: categories, including unknown ones
    return x


class FastPredictor:
    """``predict_proba`` for float64 rows: the compiled preprocessing and the compiled forest
    (``forest``), each used only when it reproduces the pipeline's own output bit for bit on a
    probe matrix with missing values and unknown categories."""

    def __init__(self, pipeline: Pipeline, width: int) -> None:
        from featurelock.serving.forest import compile_forest

        self.pipeline = pipeline
        self.model: Any = pipeline.named_steps["model"]  # a model spec's pipeline: prepare, then model
        compiled = compile_preprocessing(pipeline)
        probe = probe_matrix(width)
        prepared = pipeline.named_steps["prepare"].transform(probe)
        if compiled is not None and np.array_equal(compiled(probe), prepared, equal_nan=True):
            self.transform: Callable[[np.ndarray], np.ndarray] | None = compiled
        else:
            self.transform = None
        forest = compile_forest(self.model)
        if forest is not None and np.array_equal(
            forest.predict_proba(prepared), self.model.predict_proba(prepared)
        ):
            self.forest: Any = forest
        else:
            self.forest = None

    @property
    def compiled(self) -> bool:
        return self.transform is not None

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """What is served: the compiled parts where they are exact, each row as if alone."""
        if self.transform is None:
            return self.research_proba(x)
        prepared = self.transform(x)
        if self.forest is not None:
            return self.forest.predict_proba(prepared)
        return proba_by_row(self.model, prepared)

    def research_proba(self, x: np.ndarray) -> np.ndarray:
        """The research pipeline as scikit-learn runs it (nothing compiled), each row as if alone:
        what parity and replay compare the served probabilities with."""
        prepare = self.pipeline.named_steps["prepare"]
        return proba_by_row(self.model, prepare.transform(x))
