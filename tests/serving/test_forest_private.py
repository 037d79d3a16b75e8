"""Every private scikit-learn name the compiled forest reads exists in the scikit-learn the lock
pins (as ``test_feast_private.py`` does for Feast), on a tiny fitted model: fast, no real data."""

from __future__ import annotations

import re
from importlib import metadata

import numpy as np
import pytest

from featurelock.serving import forest
from tests.conftest import REPO_ROOT


@pytest.fixture(scope="module")
def fitted():
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(7)
    x = rng.normal(size=(200, 3))
    x[::9, 1] = np.nan  # missing values: the nodes say where they go
    y = (x[:, 0] + np.nan_to_num(x[:, 1]) > 0).astype(int)
    return HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(x, y), x


def test_the_names_are_pinned_to_the_scikit_learn_in_the_lock():
    lock = (REPO_ROOT / "requirements.lock").read_text()
    pinned = re.search(r"^scikit-learn==([0-9.]+)", lock, re.MULTILINE).group(1)
    assert forest.SKLEARN_VERSION == pinned == metadata.version("scikit-learn")


@pytest.mark.parametrize("name", forest.PRIVATE_NAMES)
def test_private_name_exists_on_a_fitted_classifier(fitted, name):
    model, _ = fitted
    assert getattr(model, name) is not None


def test_every_node_field_exists(fitted):
    model, _ = fitted
    nodes = model._predictors[0][0].nodes
    assert set(forest.NODE_FIELDS) <= set(nodes.dtype.names)


def test_the_compiled_forest_equals_scikit_learn_bit_for_bit(fitted):
    model, x = fitted
    compiled = forest.compile_forest(model)
    assert compiled is not None
    assert np.array_equal(compiled.predict_proba(x), model.predict_proba(x))
