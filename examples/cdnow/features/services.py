"""CDNOW's feature services: will a customer buy again within 90 days?"""

from featurelock import Service

_COMMON = ("purchases_30d@v1", "spend_90d@v1", "days_since_last_purchase@v1", "tenure_days@v1")
_TRAINING = {
    "population": "weekly_customers@v1",
    "model": "hist_gradient_boosting",
    "baseline": "logistic_regression",
    "holdout_from": "1998-01-01T00:00:00Z",  # snapshots of 1998 are held out
    "seed": 1997,
}

REPURCHASE_V1 = Service(
    name="repurchase_v1",
    features=("purchases_90d@v1", *_COMMON),
    request_features=(),
    description="Repurchase within 90 days, first release (90-day activity counts purchase lines).",
    **_TRAINING,
)
REPURCHASE_V2 = Service(
    name="repurchase_v2",
    features=("purchases_90d@v2", *_COMMON),
    request_features=(),
    description="Repurchase within 90 days, with 90-day activity counted in distinct purchase days.",
    **_TRAINING,
)
