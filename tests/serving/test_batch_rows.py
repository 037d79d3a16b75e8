"""A row's probability is the one it gets alone, in a batch, in parity and in replay: BLAS may sum
a linear model's products in another order for another batch shape (measured on this machine
kind: 39 of 114 logistic-regression probabilities differed in the last bit between a batch of 3
and each row alone)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from featurelock.serving.fast_path import FastPredictor, batch_independent, proba_by_row


def pipeline(model, width: int) -> Pipeline:
    numeric = Pipeline(
        [("impute", SimpleImputer(strategy="median", add_indicator=True)), ("scale", StandardScaler())]
    )
    prepare = ColumnTransformer([("num", numeric, list(range(width)))], remainder="drop")
    return Pipeline([("prepare", prepare), ("model", model)])


@pytest.mark.parametrize("width", [3, 7, 13, 29])
def test_a_batch_gives_each_row_its_own_bits_served_and_research(width):
    rng = np.random.default_rng(width)
    x = rng.normal(size=(300, width))
    x[::7, 1] = np.nan
    y = (np.nan_to_num(x[:, 0]) + x[:, 2] > 0).astype(int)
    fitted = pipeline(LogisticRegression(), width).fit(x, y)
    fast = FastPredictor(fitted, width)
    batch = x[:40]
    alone = np.vstack([fitted.predict_proba(batch[i : i + 1]) for i in range(len(batch))])
    assert np.array_equal(fast.predict_proba(batch), alone)  # served: a batch as single requests
    assert np.array_equal(fast.research_proba(batch), alone)  # parity and replay: the same bits
    assert fast.compiled  # the compiled preprocessing, exact, on the way


def test_trees_and_the_prior_are_computed_as_a_batch_and_a_linear_model_is_not():
    assert batch_independent(HistGradientBoostingClassifier()) and not batch_independent(LogisticRegression())
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(100, 4)), rng.integers(0, 2, 100)
    model = LogisticRegression().fit(x, y)
    calls = []

    class Counting:
        def predict_proba(self, rows):
            calls.append(len(rows))
            return model.predict_proba(rows)

    proba_by_row(Counting(), x[:5], model=model)
    assert calls == [1, 1, 1, 1, 1]
