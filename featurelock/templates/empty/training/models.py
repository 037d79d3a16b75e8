"""Model specs: factories f(seed, **params) -> scikit-learn estimator; defaults are hyperparameters."""

from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

from featurelock import model_spec


@model_spec(preprocess="impute_scale")
def logistic(seed: int, C: float = 1.0) -> LogisticRegression:
    """Logistic regression on the scaled, imputed features."""
    return LogisticRegression(random_state=seed, C=C)


@model_spec(preprocess="impute")
def prior(seed: int) -> DummyClassifier:
    """The baseline: predict the training positive rate for everyone."""
    return DummyClassifier(strategy="prior", random_state=seed)
