"""Training sets and runs: build, write, verify, train, reproduce, promote, list, export."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from featurelock.core.errors import ValidationError
from featurelock.core.progress import Progress, lines_of
from featurelock.core.settings import Profile
from featurelock.features.project import Project
from featurelock.results import DatasetBuilt, Exports, RunSummary

if TYPE_CHECKING:
    from featurelock.training.dataset import TrainingSet, Verification
    from featurelock.training.runs import Reproduction, TrainResult


def training_set(
    project: Project,
    service: str,
    as_of: object | None = None,
    profile: Profile = Profile.LOCAL,
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


def build_dataset(
    project: Project,
    service: str,
    as_of: object | None = None,
    out: str | Path | None = None,
    knowledge: str | None = None,
    profile: Profile = Profile.LOCAL,
    progress: Progress | None = None,
) -> DatasetBuilt:
    """Build ``service``'s training set and write it with its manifest (``featurelock dataset
    build``): into ``out``, else ``<data>/datasets/<service>-<hash>``.

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    service : str
        A service of the project.
    as_of : str or datetime, optional
        The knowledge time (timezone-aware); default the newest.
    out : str or Path, optional
        The folder to write into.
    knowledge : str, optional
        ``as-of`` or ``row`` (default: the service's).
    profile : str
        ``local`` (default), ``production`` or ``spark``.
    progress : Progress, optional
        Receives the step.
    """
    from featurelock.training.dataset import build_training_set, write_training_set

    with lines_of(progress).step(f"build training set for service {service}"):
        built = build_training_set(project, service, as_of=as_of, profile=profile, knowledge=knowledge)
        folder = write_training_set(project, built, Path(out) if out else None)
    m = built.manifest
    return DatasetBuilt(service, m.rows, m.as_of, m.as_of_source, m.knowledge, m.sha256, folder)


def verify_dataset(
    project: Project, manifest: str | Path, profile: Profile = Profile.LOCAL, progress: Progress | None = None
) -> Verification:
    """Rebuild a training set from its manifest (or its folder) and compare; ``.identical`` only
    on the same values, ``.diverged`` names each input stage that changed.

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    manifest : str or Path
        A ``manifest.json`` or the folder holding it.
    profile : str
        Where to rebuild: ``local`` (default), ``production`` or ``spark``.
    progress : Progress, optional
        Receives the step.
    """
    from featurelock.training.dataset import verify_training_set

    with lines_of(progress).step(f"rebuild from {manifest}"):
        return verify_training_set(project, Path(manifest), profile=profile)


def read_training_set(folder: str | Path) -> TrainingSet:
    """A training set written by ``featurelock dataset build`` (or ``training_set(out=...)``).

    Parameters
    ----------
    folder : str or Path
        The folder holding ``training_set.parquet`` and ``manifest.json`` (its values are checked
        against the manifest's hash).
    """
    from featurelock.core.hashing import frame_sha256
    from featurelock.training.dataset import TrainingSet, read_manifest

    folder = Path(folder)
    manifest = read_manifest(folder)
    frame = pd.read_parquet(folder / "training_set.parquet")
    if "sha256:" + frame_sha256(frame) != manifest.sha256:
        raise ValidationError(
            f"{folder}/training_set.parquet does not hold the values its manifest records "
            f"({manifest.sha256}); rebuild it with `featurelock dataset build`."
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
    force: bool = False,
    profile: Profile = Profile.LOCAL,
    knowledge: str | None = None,
    progress: Progress | None = None,
) -> TrainResult:
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
    force : bool
        With ``promote``: promote even a model that loses to its baseline.
    profile : str
        ``local`` (default), ``production`` or ``spark``.
    knowledge : str, optional
        ``as-of`` or ``row`` (default: the service's).
    progress : Progress, optional
        Receives the step and its lines.
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
    out = lines_of(progress)
    with out.step(f"train on service {service}"):
        result = train_run(
            project,
            config,
            profile=profile,
            estimator=estimator,
            trusted_types=tuple(trusted_types),
            progress=out.say,
        )
    if promote:
        mark(project, result.run_id, force=force)
    return result


def reproduce(
    project: Project, run: str, profile: Profile = Profile.LOCAL, progress: Progress | None = None
) -> Reproduction:
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
    progress : Progress, optional
        Receives the step.
    """
    from featurelock.training.runs import reproduce as rerun

    with lines_of(progress).step(f"reproduce {run}"):
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


def rollback(project: Project) -> list[str]:
    """Serve the previously promoted run again; returns the promotion history (last = served).

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    """
    from featurelock.training.runs import rollback as back

    return back(project)


def promoted(project: Project) -> str | None:
    """The run served now, or None.

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    """
    from featurelock.training.runs import promoted_run

    return promoted_run(project)


def runs(project: Project) -> list[RunSummary]:
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
            RunSummary(
                run_id=run,
                service=record.service,
                model=record.model_spec,
                roc_auc=record.metric("roc_auc"),
                promoted=run == served,
                report=str(path / "report.html"),
            )
        )
    return out


def export_runs(project: Project, uri: str | None = None, progress: Progress | None = None) -> Exports:
    """Log every run (parameters, metrics, report, model, reproducibility tags) into MLflow.

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    uri : str, optional
        The MLflow tracking URI (default: ``sqlite:///<data directory>/mlflow.db``).
    progress : Progress, optional
        Receives the step.
    """
    from featurelock.training.mlflow_export import default_uri
    from featurelock.training.mlflow_export import export_runs as export

    uri = uri or default_uri(project)
    with lines_of(progress).step(f"export runs to MLflow at {uri}"):
        return Exports(uri, export(project, uri))
