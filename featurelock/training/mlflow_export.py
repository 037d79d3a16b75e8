"""Export runs to an MLflow tracking store: parameters, metrics, the report and the skops model as
artifacts, and, as tags, the hashes that make a run reproducible (training set, as_of, feature and
population fingerprints, lock files, model and predictions).

MLflow is an optional dependency (``pip install 'featurelock[mlflow]'``; the repository's lock has
it). The default store is a SQLite file in the project's data directory. An export is idempotent:
a run already in the experiment (tag ``featurelock.run_id``) is not logged again.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from featurelock.core.errors import FeaturelockError, NotFoundError, StoreUnavailableError, ValidationError
from featurelock.features.project import Project
from featurelock.training.records import RunRecord
from featurelock.training.runs import list_runs, read_run

_KEY = re.compile(r"[^A-Za-z0-9_\-. /]")


@dataclass(frozen=True)
class Exported:
    run_id: str
    mlflow_run_id: str
    status: str  # "exported" or "already there"


def default_uri(project: Project) -> str:
    return f"sqlite:///{project.home / 'mlflow.db'}"


def _key(text: str) -> str:
    """An MLflow key (letters, digits, _ - . space /): other characters become '.'."""
    return _KEY.sub(".", text)


def run_tags(record: RunRecord) -> dict[str, str]:
    """What makes the run reproducible, as MLflow tags (the values of run.json)."""
    dataset = record.dataset
    tags = {
        "featurelock.run_id": record.run_id,
        "featurelock.project": record.project,
        "featurelock.service": record.service,
        "featurelock.training_set_sha256": dataset.sha256,
        "featurelock.as_of": dataset.as_of,
        "featurelock.features_lock_sha256": record.features_lock_sha256,
        "featurelock.requirements_lock_sha256": record.requirements_lock_sha256,
        "featurelock.model_file_sha256": record.model_file_sha256,
        "featurelock.model_content_sha256": record.model_content_sha256,
        "featurelock.holdout_predictions_sha256": record.holdout_predictions_sha256,
        "featurelock.population": dataset.population,
        "featurelock.git_commit": record.git_commit,
    }
    for ref, fingerprint in dataset.feature_fingerprints.items():
        tags[_key(f"featurelock.fingerprint.{ref}")] = fingerprint
    return tags


def run_params(record: RunRecord) -> dict[str, str]:
    params = {f"config.{k}": str(v) for k, v in record.config.items() if not isinstance(v, dict)}
    for which, values in record.hyperparameters.items():
        params.update({_key(f"{which}.{k}"): str(v) for k, v in values.items()})
    return params


SCHEMES = ("sqlite", "file", "http", "https", "postgresql", "mysql")


def check_tracking_uri(uri: str) -> str:
    """A tracking URI featurelock can export to, checked before MLflow sees it: a known scheme; a
    SQLite file in a folder, and a SQLite database if it exists; a server that answers (3 s)."""
    from urllib.parse import urlparse

    scheme = urlparse(uri).scheme
    if scheme not in SCHEMES:
        raise ValidationError(
            f"--mlflow {uri!r} has scheme {scheme!r}; featurelock exports to {list(SCHEMES)}, e.g. "
            "sqlite:///path/to/mlflow.db or http://127.0.0.1:5000."
        )
    if scheme == "sqlite":
        path = Path(uri.removeprefix("sqlite:///")).resolve()
        for parent in path.parents:
            if parent.exists() and not parent.is_dir():
                raise ValidationError(
                    f"--mlflow {uri!r}: {parent} is a file, not a folder; give a SQLite path in a folder."
                )
        if path.exists() and (not path.is_file() or path.read_bytes()[:16] != b"SQLite format 3\x00"):
            raise ValidationError(
                f"--mlflow {uri!r}: {path} exists and is not a SQLite database; give a new file or an "
                "MLflow SQLite store."
            )
    if scheme in ("http", "https"):
        import socket

        parsed = urlparse(uri)
        port = parsed.port or (443 if scheme == "https" else 80)
        try:
            socket.create_connection((parsed.hostname or "", port), timeout=3).close()
        except OSError as exc:
            raise StoreUnavailableError(
                f"--mlflow {uri!r}: nothing answers at {parsed.hostname}:{port} within 3 s; start the "
                "MLflow tracking server, or export to a SQLite file (the default)."
            ) from exc
    return uri


def export_runs(
    project: Project, tracking_uri: str | None = None, runs: list[str] | None = None
) -> list[Exported]:
    """Log ``runs`` (default: every run of the project) into the experiment ``featurelock/<project>``."""
    try:
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient
    except ImportError as exc:
        raise FeaturelockError(
            "MLflow is not installed; `pip install 'featurelock[mlflow]'` (mlflow-skinny and alembic), "
            "or use the repository's venv (`make venv`)."
        ) from exc
    runs = runs or list_runs(project)
    if not runs:
        raise NotFoundError(
            f"There are no runs to export in {project.runs_dir}; train one first (`featurelock train`)."
        )
    uri = check_tracking_uri(tracking_uri or default_uri(project))
    # every network call bounded: one try, 10 s (MLflow's own default retries for minutes)
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    try:
        return _export(project, MlflowClient(uri), uri, runs)
    except MlflowException as exc:
        raise StoreUnavailableError(
            f"The MLflow tracking store at {uri} refused the export ({type(exc).__name__}, code "
            f"{getattr(exc, 'error_code', '?')}); check it is an MLflow store of a compatible version."
        ) from exc


def _export(project: Project, client: Any, uri: str, runs: list[str]) -> list[Exported]:
    name = f"featurelock/{project.name}"
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        # a local SQLite store keeps its artifacts beside it (MLflow's default is ./mlruns of the
        # working directory, which would write into whatever folder the command runs in)
        location = None
        if uri.startswith("sqlite:///"):
            location = (Path(uri.removeprefix("sqlite:///")).resolve().parent / "mlflow-artifacts").as_uri()
        experiment_id = client.create_experiment(name, artifact_location=location)
    else:
        experiment_id = experiment.experiment_id
    out = []
    for run in runs:
        path, record = read_run(project, run)
        found = client.search_runs(
            [experiment_id], filter_string=f"tags.`featurelock.run_id` = '{record.run_id}'", max_results=1
        )
        if found:
            out.append(Exported(record.run_id, found[0].info.run_id, "already there"))
            continue
        mlflow_run = client.create_run(experiment_id, run_name=record.run_id, tags=run_tags(record))
        rid = mlflow_run.info.run_id
        for key, value in sorted(run_params(record).items()):
            client.log_param(rid, key, value[:6000])
        for column, values in record.metrics.items():
            label = "model" if column == "model" else "baseline" if column == "baseline" else "promoted"
            for metric, value in values.items():
                client.log_metric(rid, _key(f"{label}.{metric}"), float(value))
        for artifact in ("report.html", "run.json", "model.skops", "baseline.skops"):
            client.log_artifact(rid, str(path / artifact))
        client.set_terminated(rid)
        out.append(Exported(record.run_id, rid, "exported"))
    return out
