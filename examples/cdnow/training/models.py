"""CDNOW's model specs: gradient boosting, and a logistic baseline."""

from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from featurelock import model_spec


@model_spec(
    preprocess="impute",
    trusted_types=("sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",),
)
def hist_gradient_boosting(
    seed: int, max_iter: int = 100, learning_rate: float = 0.1, min_samples_leaf: int = 100
) -> HistGradientBoostingClassifier:
    """Histogram gradient boosting, 100 trees, no early stopping (so the tree count is fixed)."""
    return HistGradientBoostingClassifier(
        random_state=seed,
        max_iter=max_iter,
        learning_rate=learning_rate,
        min_samples_leaf=min_samples_leaf,
        early_stopping=False,
    )


@model_spec(preprocess="impute_scale")
def logistic_regression(seed: int, C: float = 1.0, max_iter: int = 1000) -> LogisticRegression:
    """Logistic regression on scaled, imputed features: the baseline."""
    return LogisticRegression(random_state=seed, C=C, max_iter=max_iter)
