"""featurelock's public Python API: the functions a notebook and the command line share.

    import featurelock.api as fl

    project = fl.open_project(".")                      # or FEATURELOCK_PROJECT, or a parent folder
    ts = fl.training_set(project, "return_model_v1")    # as known at the newest knowledge time
    ts.frame, ts.sha256, ts.manifest                    # the same bytes `featurelock dataset build` gives
    run = fl.train(project, "return_model_v1", estimator=RandomForestClassifier(...),
                   trusted_types=("sklearn.tree._tree.Tree",))
    fl.reproduce(project, run.run_id).identical         # True: rebuilt from the run's record alone
    fl.predict(project, [{"customer": "c01", "prediction_time": "2024-03-30T00:00:00Z"}])

This package is featurelock's one front door: the command line (``featurelock.cli``) parses its
arguments, calls these functions and prints what they return (``featurelock.render``); it computes
nothing of its own. Each function returns a typed result; a long one reports its steps to an
optional ``progress`` (``featurelock.core.progress``).

**The training set's columns**, in this order: the population's row id (e.g. ``row_id``), the
prediction time ``event_timestamp`` (UTC), the population's join keys, ``label`` (0/1), the
service's features in service order (``<name>_v<N>``; dtypes from the definitions, a nullable
integer stays ``Int64``), then its request-time features. One row per population row, sorted by
the id. Each feature value is the newest known at the prediction time within its view's ttl, as
known at ``as_of`` (recorded in the manifest).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from featurelock.api.data import apply, build_features, ingest, plan, registered
from featurelock.api.demo import demo, keep_promotion
from featurelock.api.project import (
    check_lock,
    compute_feature,
    deprecate,
    drop,
    lineage,
    lock,
    new_project,
    open_project,
    services,
)
from featurelock.api.serving import (
    materialize,
    online_features,
    parity,
    predict,
    replay,
    serve,
    serve_examples,
    simulate,
)
from featurelock.api.training import (
    build_dataset,
    export_runs,
    promote,
    promoted,
    read_training_set,
    reproduce,
    rollback,
    runs,
    train,
    training_set,
    verify_dataset,
)
from featurelock.features.declare import Service
from featurelock.features.project import Project

if TYPE_CHECKING:
    from featurelock.training.dataset import TrainingSet


def __getattr__(name: str) -> Any:
    if name == "TrainingSet":  # imported on first use: it brings Feast, which the command's --help needs not
        from featurelock.training.dataset import TrainingSet

        return TrainingSet
    raise AttributeError(f"module 'featurelock.api' has no attribute {name!r}")


__all__ = [
    "Project",
    "Service",
    "TrainingSet",
    "apply",
    "build_dataset",
    "build_features",
    "check_lock",
    "compute_feature",
    "demo",
    "deprecate",
    "drop",
    "export_runs",
    "ingest",
    "keep_promotion",
    "lineage",
    "lock",
    "materialize",
    "new_project",
    "online_features",
    "open_project",
    "parity",
    "plan",
    "predict",
    "promote",
    "promoted",
    "read_training_set",
    "registered",
    "replay",
    "reproduce",
    "rollback",
    "runs",
    "serve",
    "serve_examples",
    "services",
    "simulate",
    "train",
    "training_set",
    "verify_dataset",
]
