"""The compiled forest against scikit-learn on a real run's whole holdout: equal bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from featurelock.serving.fast_path import FastPredictor
from featurelock.serving.forest import compile_forest
from featurelock.serving.predictor import Predictor
from featurelock.training.dataset import build_training_set
from featurelock.training.model import model_input, split
from featurelock.training.runs import promoted_run, read_run
from tests.conftest import nyc

pytestmark = pytest.mark.slow


def test_issue11_the_compiled_forest_is_bit_identical_on_the_whole_holdout(served_home):
    predictor = Predictor.load(nyc())
    path, _ = read_run(nyc(), str(promoted_run(nyc())))
    frame = build_training_set(nyc(), predictor.service.name).frame
    _, holdout = split(frame, predictor.service.holdout_from)
    x = model_input(holdout, predictor.columns, predictor.categories)
    prepared = predictor.pipeline.named_steps["prepare"].transform(x)
    forest = compile_forest(predictor.pipeline.named_steps["model"])
    assert forest is not None
    ours = forest.predict_proba(prepared)
    assert np.array_equal(ours, predictor.pipeline.named_steps["model"].predict_proba(prepared))
    fast = FastPredictor(predictor.pipeline, len(predictor.columns))
    assert fast.forest is not None and np.array_equal(
        fast.predict_proba(x), predictor.pipeline.predict_proba(x)
    )
    stored = pd.read_parquet(path / "holdout_predictions.parquet")
    assert len(stored) == len(holdout) > 50_000
    assert np.array_equal(ours[:, 1], stored["proba"].to_numpy())  # what training recorded


def test_a_model_it_cannot_reproduce_is_left_to_scikit_learn():
    from sklearn.linear_model import LogisticRegression

    assert compile_forest(LogisticRegression()) is None
