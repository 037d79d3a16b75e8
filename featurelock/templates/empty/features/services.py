"""Feature services (none yet): the exact feature versions a model uses, its population and model specs.

Example:

    from featurelock import Service

    RETURN_MODEL_V1 = Service(
        name="return_model_v1",
        features=("visits_7d@v1",),
        population="customer_days@v1",      # a population version in training/customer_days_v1.py
        model="logistic",                   # model specs in training/models.py
        baseline="prior",
        holdout_from="2024-03-01T00:00:00Z",
        description="Will the customer visit tomorrow?",
        seed=7,
    )
"""
