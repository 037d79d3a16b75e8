"""nycflights13's model specs: the gradient-boosted model and its logistic baseline.

A spec is a factory ``f(seed, **params)``; its keyword defaults are the default hyperparameters.
The engine wraps it with imputation (and scaling) and one-hot encoding of categorical features.
"""

from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from featurelock import model_spec


@model_spec(
    preprocess="impute",
    trusted_types=("sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",),
)
def hist_gradient_boosting(
    seed: int,
    max_iter: int = 200,
    learning_rate: float = 0.1,
    max_leaf_nodes: int = 31,
    min_samples_leaf: int = 40,
    l2_regularization: float = 0.0,
    early_stopping: bool = False,
    **other: object,
) -> HistGradientBoostingClassifier:
    """Histogram gradient boosting, 200 trees, no early stopping (so the tree count is fixed).

    Any other HistGradientBoostingClassifier hyperparameter passes through (``--params``)."""
    return HistGradientBoostingClassifier(
        random_state=seed,
        max_iter=max_iter,
        learning_rate=learning_rate,
        max_leaf_nodes=max_leaf_nodes,
        min_samples_leaf=min_samples_leaf,
        l2_regularization=l2_regularization,
        early_stopping=early_stopping,
        **other,
    )


@model_spec(preprocess="impute_scale")
def logistic_regression(seed: int, C: float = 1.0, max_iter: int = 1000) -> LogisticRegression:
    """Logistic regression on scaled, imputed features: the baseline."""
    return LogisticRegression(random_state=seed, C=C, max_iter=max_iter)
