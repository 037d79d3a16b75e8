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

import importlib
from typing import Any

from featurelock.core.version import __version__

#: Public name -> the engine module that defines it (imported on first use: ``import featurelock``
#: loads nothing else, so the fingerprint normalizer runs on any Python without the stack).
_EXPORTS = {
    "Source": "featurelock.data.schema",
    "Categorical": "featurelock.features.declare",
    "Entity": "featurelock.features.declare",
    "Examples": "featurelock.features.declare",
    "JoinKey": "featurelock.features.declare",
    "Lookup": "featurelock.features.declare",
    "RequestInput": "featurelock.features.declare",
    "Segment": "featurelock.features.declare",
    "Service": "featurelock.features.declare",
    "View": "featurelock.features.declare",
    "LocalDateWindow": "featurelock.features.population",
    "OneOf": "featurelock.features.population",
    "population": "featurelock.features.population",
    "request_feature": "featurelock.features.spec",
    "sql_feature": "featurelock.features.spec",
    "model_spec": "featurelock.training.model",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'featurelock' has no attribute {name!r}")
