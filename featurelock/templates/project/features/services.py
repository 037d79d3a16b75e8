"""Feature services: the exact feature versions a model uses, its population and model specs."""

from featurelock import Service

RETURN_MODEL_V1 = Service(
    name="return_model_v1",
    features=("visits_7d@v1",),
    request_features=(),
    population="customer_days@v1",
    model="logistic",
    baseline="prior",
    holdout_from="2024-03-01T00:00:00Z",
    description="Will the customer visit tomorrow?",
    seed=7,
    knowledge="row",  # each training row sees only what serving could have known at its time
)
