"""featurelock's public Python API: the functions a notebook and the command line share.

    import featurelock.api as fl

    project = fl.open_project(".")                      # or FEATURELOCK_PROJECT, or a parent folder
    ts = fl.training_set(project, "return_model_v1")    # as known at the newest knowledge time
    ts.frame, ts.sha256, ts.manifest                    # the same bytes `featurelock dataset build` gives
    run = fl.train(project, "return_model_v1", estimator=RandomForestClassifier(...),
                   trusted_types=("sklearn.tree._tree.Tree",))
    fl.reproduce(project, run.run_id).identical         # True: rebuilt from the run's record alone
    fl.predict(project, [{"customer": "c01", "prediction_time": "2024-03-30T00:00:00Z"}])

**The training set's columns**, in this order: the population's row id (e.g. ``row_id``), the
prediction time ``event_timestamp`` (UTC), the population's join keys, ``label`` (0/1), the
service's features in service order (``<name>_v<N>``; dtypes from the definitions, a nullable
integer stays ``Int64``), then its request-time features. One row per population row, sorted by
the id. Each feature value is the newest known at the prediction time within its view's ttl, as
known at ``as_of`` (recorded in the manifest).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from featurelock.core.errors import ValidationError
from featurelock.features.declare import Service
from featurelock.features.project import Project
from featurelock.training.dataset import TrainingSet, read_manifest

__all__ = [
    "Project",
    "Service",
    "TrainingSet",
    "demo",
    "online_features",
    "open_project",
    "predict",
    "promote",
    "read_training_set",
    "reproduce",
    "runs",
    "services",
    "train",
    "training_set",
]


def open_project(path: str | Path | None = None, home: str | Path | None = None) -> Project:
    """The project at ``path`` (else ``$FEATURELOCK_PROJECT``, else the working directory or a
    parent); its data directory is ``home``, else ``$FEATURELOCK_HOME``, else ``feature_repo/data``.

    Parameters
    ----------
    path : str or Path, optional
        The project's root, or a folder inside it.
    home : str or Path, optional
        The data directory.
    """
    return Project.find(path, home)


def check_lock(project: Project) -> dict[str, str]:
    """Refuse any edit of a locked version (``LockError``, naming it and the fix), as ``featurelock
    lock`` and ``feast apply`` do; returns every version's fingerprint (``name@vN`` -> ``sha256:...``).

    Parameters
    ----------
    project : Project
        The project, as ``open_project`` gives it.
    """
    from featurelock.features.lockfile import check_lock as check

    return dict(check(project).fingerprints())


def compute_feature(
    project: Project,
    ref: str,
    tables: Mapping[str, pd.DataFrame],
    grid: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One feature version's values over hand-built raw tables: a project's unit test of its SQL.

    Parameters
    ----------
    project : Project
        The project, as ``open_project`` gives it (its lock is checked first).
    ref : str
        The version, ``name@vN``.
    tables : mapping of str to DataFrame
        Raw tables by source name, with the source's columns and a UTC ``event_timestamp``.
    grid : DataFrame, optional
        The view's join keys and ``event_timestamp`` to compute at (default: the view's own grid).

    Returns
    -------
    DataFrame
        The join keys, ``event_timestamp`` and the column ``<name>_v<N>``.
    """
    from featurelock.features.build import compute_feature as compute
    from featurelock.features.lockfile import check_lock as check

    return compute(check(project), ref, tables, grid=grid)


def services(project: Project) -> dict[str, Service]:
    """The project's feature services by name.

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    """
    return dict(project.services)


def training_set(
    project: Project,
    service: str,
    as_of: object | None = None,
    profile: str = "local",
    out: str | Path | None = None,
    knowledge: str | None = None,
) -> TrainingSet:
    """The canonical training set of ``service`` as known at ``as_of`` (default: the newest knowledge
    time); with ``out``, also written there (``training_set.parquet`` and ``manifest.json``).
    ``knowledge``: ``as-of`` or ``row`` (default: the service's; see ``Service.knowledge``).

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    service : str
        A service of the project.
    as_of : str or datetime, optional
        The knowledge time (timezone-aware); default the newest.
    profile : str
        ``local`` (default), ``production`` or ``spark``.
    out : str or Path, optional
        A folder to write the set and its manifest into.
    knowledge : str, optional
        ``as-of`` or ``row``.
    """
    from featurelock.training.dataset import build_training_set, write_training_set

    built = build_training_set(project, service, as_of=as_of, profile=profile, knowledge=knowledge)
    if out is not None:
        write_training_set(project, built, Path(out))
    return built


def read_training_set(folder: str | Path) -> TrainingSet:
    """A training set written by ``featurelock dataset build`` (or ``training_set(out=...)``).

    Parameters
    ----------
    folder : str or Path
        The folder holding ``training_set.parquet`` and ``manifest.json`` (its values are checked
        against the manifest's hash).
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    frame = pd.read_parquet(folder / "training_set.parquet")
    from featurelock.core.hashing import frame_sha256

    if "sha256:" + frame_sha256(frame) != manifest["content_sha256"]:
        raise ValidationError(
            f"{folder}/training_set.parquet does not hold the values its manifest records "
            f"({manifest['content_sha256']}); rebuild it with `featurelock dataset build`."
        )
    return TrainingSet(frame, manifest)


def train(
    project: Project,
    service: str,
    *,
    model: str | None = None,
    estimator: Any | None = None,
    trusted_types: Sequence[str] = (),
    seed: int | None = None,
    params: Mapping[str, Any] | None = None,
    as_of: object | None = None,
    promote: bool = False,
    profile: str = "local",
    knowledge: str | None = None,
) -> Any:
    """Train ``service``'s model (a declared spec, or the ad-hoc ``estimator``) and its baseline;
    write and return the run (``run_id``, ``path``, ``record``). An ad-hoc estimator is recorded
    with the run: it reproduces and serves like a declared spec.

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    service : str
        A service of the project.
    model : str, optional
        A model spec instead of the service's.
    estimator : scikit-learn classifier, optional
        An ad-hoc estimator instead of a spec.
    trusted_types : sequence of str
        The skops types the ad-hoc estimator's fitted form holds beyond skops' defaults.
    seed : int, optional
        Instead of the service's seed.
    params : mapping, optional
        Hyperparameters over the spec's defaults.
    as_of : str or datetime, optional
        The training set's knowledge time (default the newest).
    promote : bool
        Serve the run when done (refused if its model loses to its baseline).
    profile : str
        ``local`` (default), ``production`` or ``spark``.
    knowledge : str, optional
        ``as-of`` or ``row`` (default: the service's).
    """
    from featurelock.training.model import RunConfig
    from featurelock.training.runs import promote as mark
    from featurelock.training.runs import train_run

    config = RunConfig(
        service=service,
        model=model,
        seed=seed,
        params=dict(params or {}),
        as_of=None if as_of is None else str(as_of),
        knowledge=knowledge,
    )
    result = train_run(
        project, config, profile=profile, estimator=estimator, trusted_types=tuple(trusted_types)
    )
    if promote:
        mark(project, result.run_id)
    return result


def reproduce(project: Project, run: str, profile: str = "local") -> Any:
    """Rebuild and retrain ``run`` from its record; ``.identical`` only on identical predictions,
    else ``.stage`` names the first stage that diverged.

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    run : str
        A run id (or a run's directory).
    profile : str
        Where to rebuild: ``local`` (default), ``production`` or ``spark``.
    """
    from featurelock.training.runs import reproduce as rerun

    return rerun(project, run, profile=profile)


def promote(project: Project, run: str, force: bool = False) -> list[str]:
    """Serve ``run`` from now on; returns the promotion history (last = served). A run whose model
    loses to its baseline on the service's primary metric is refused unless ``force``.

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    run : str
        A run id of the project's data directory.
    force : bool
        Promote even a run whose model loses to its baseline.
    """
    from featurelock.training.runs import promote as mark

    return mark(project, run, force=force)


def runs(project: Project) -> list[dict[str, Any]]:
    """Every run: id, service, model, holdout ROC AUC, whether it is promoted, its report.

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    """
    from featurelock.training.runs import list_runs, promoted_run, read_run

    served = promoted_run(project)
    out = []
    for run in list_runs(project):
        path, record = read_run(project, run)
        out.append(
            {
                "run_id": run,
                "service": record["config"]["service"],
                "model": record["config"]["model"],
                "roc_auc": record["metrics"]["model"]["roc_auc"],
                "promoted": run == served,
                "report": str(path / "report.html"),
            }
        )
    return out


def _requests(predictor: Any, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    from featurelock.serving.predictor import request_from_mapping

    return [
        request_from_mapping(
            dict(r),
            predictor.keys,
            predictor.inputs,
            predictor.population.id,
            tuple(lk.key for lk in predictor.lookups),
        )
        for r in rows
    ]


def online_features(
    project: Project, requests: Sequence[Mapping[str, Any]], profile: str = "local", run: str | None = None
) -> pd.DataFrame:
    """The served run's online feature values for each request at its ``prediction_time`` (required:
    a read has a time), one row per request, with each value's event timestamp (``__ts__<column>``).

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    requests : sequence of mapping
        Requests as the API takes them (join keys, inputs, ``prediction_time``).
    profile : str
        Whose online store: ``local`` (default), ``production`` or ``spark``.
    run : str, optional
        A run instead of the promoted one.
    """
    from featurelock.serving.predictor import Predictor

    predictor = Predictor.load(project, run, profile)
    values, stamps = predictor.online(_requests(predictor, requests))
    frame = pd.DataFrame(values)
    for column in predictor.feast_columns:
        frame[f"__ts__{column}"] = pd.to_datetime(stamps[column], utc=True)
    return frame


def predict(
    project: Project, requests: Sequence[Mapping[str, Any]], profile: str = "local", run: str | None = None
) -> list[dict[str, Any]]:
    """Predictions with receipts, as ``POST /predict`` gives them (not logged).

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    requests : sequence of mapping
        Requests as the API takes them (join keys, inputs, ``prediction_time``).
    profile : str
        Whose online store: ``local`` (default), ``production`` or ``spark``.
    run : str, optional
        A run instead of the promoted one.
    """
    from featurelock.serving.predictor import Predictor

    predictor = Predictor.load(project, run, profile)
    return json.loads(json.dumps(predictor.predict(_requests(predictor, requests)), default=str))


def demo(
    project: Project, profile: str = "local", service: str | None = None, say: Any | None = None
) -> bool:
    """The whole pipeline end to end, as ``featurelock demo`` runs it (``say`` receives its lines);
    True when the training set was built twice alike, the run reproduced, parity and replay clean.

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    profile : str
        ``local`` (default), ``production`` or ``spark``.
    service : str, optional
        The service to train and serve (default: the first by name).
    say : callable, optional
        Receives each line the demo prints.
    """
    from featurelock.pipeline import Lines, Session
    from featurelock.pipeline import demo as run_all

    return run_all(Session(project, profile, Lines(sink=say)), service)
