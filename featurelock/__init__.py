"""featurelock: a feature store for reproducible machine-learning pipelines, built on Feast.

The engine holds no dataset; a project declares its sources, entities, feature versions,
populations, model specs and services with the names exported here (importing them is cheap:
neither Feast nor scikit-learn is loaded)::

    from featurelock import Source, JoinKey, Entity, View, RequestInput, Service, Examples
    from featurelock import sql_feature, request_feature, population, model_spec, OneOf, LocalDateWindow

The Python API over a project (open it, build training sets, train, reproduce, serve) is
``featurelock.api``; the command line is ``featurelock``.
"""

from __future__ import annotations

from typing import Any

from featurelock.data.schema import Source
from featurelock.features.declare import Categorical, Entity, Examples, JoinKey, RequestInput, Service, View
from featurelock.features.population import LocalDateWindow, OneOf, population
from featurelock.features.spec import request_feature, sql_feature

__version__ = "0.2.0"

__all__ = [
    "Categorical",
    "Entity",
    "Examples",
    "JoinKey",
    "LocalDateWindow",
    "OneOf",
    "RequestInput",
    "Service",
    "Source",
    "View",
    "__version__",
    "model_spec",
    "population",
    "request_feature",
    "sql_feature",
]


def __getattr__(name: str) -> Any:
    if name == "model_spec":  # lazily: it imports scikit-learn
        from featurelock.training.model import model_spec

        return model_spec
    raise AttributeError(f"module 'featurelock' has no attribute {name!r}")
