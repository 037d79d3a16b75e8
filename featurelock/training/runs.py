"""Training runs: one directory per run, the promoted-run history, and ``reproduce``.

``<data>/runs/<run_id>/`` (in the project's data directory) holds ``model.skops`` and
``baseline.skops`` (skops, no pickle),
``run.json`` (config, seed, split, model hashes, the training set's manifest, git commit and
dirty flag, Python and package versions, lock-file hashes, metrics, holdout predictions hash),
``holdout_predictions.parquet``, ``report.html`` and its plots. ``<data>/runs/promoted.json`` is
the history of promoted runs (the last entry is served; ``rollback`` pops it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from featurelock.core.atomic import write_atomic, write_text_atomic
from featurelock.core.errors import NotFoundError, ValidationError
from featurelock.core.files import read_json
from featurelock.core.settings import Profile
from featurelock.data.store import write_parquet
from featurelock.features.catalog import Catalog
from featurelock.features.declare import METRICS
from featurelock.features.lockfile import check_lock
from featurelock.features.plan import resolve
from featurelock.features.project import Project
from featurelock.training.adhoc import adhoc_spec, load_estimator, save_estimator
from featurelock.training.artifacts import content_sha256, load_model, save_model
from featurelock.training.dataset import build_training_set, diff_inputs, knowledge_of
from featurelock.training.encoding import Categories, model_input
from featurelock.training.evaluate import (
    Section,
    importance,
    metrics,
    null_rates,
    predictions_sha256,
    render_report,
    segment_metrics,
)
from featurelock.training.model import (
    ModelSpec,
    RunConfig,
    check_config,
    check_model_spec,
    feature_columns,
    fit,
    predict,
    split,
    training_categories,
)
from featurelock.training.records import RUN_FORMAT, STAGES, RunRecord, read_run_record

RUN_ID = re.compile(r"[A-Za-z0-9_.-]+")


def git_state(root: Path) -> dict[str, object]:
    def git(*args: str) -> str:
        try:
            out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
        except OSError:
            return ""
        return out.stdout.strip() if out.returncode == 0 else ""

    commit = git("rev-parse", "HEAD") or "unknown"
    return {"commit": commit, "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    path: Path
    record: RunRecord


@dataclass(frozen=True)
class Fitted:
    """Model and baseline fitted on the training rows, scored on the holdout (``fit_and_score``)."""

    categories: Categories
    model: Any
    baseline: Any
    train_rows: int
    holdout: pd.DataFrame
    proba: np.ndarray
    baseline_proba: np.ndarray
    id_column: str
    predictions_sha256: str


def _run_id(config: RunConfig, content: str) -> str:
    stamp = pd.Timestamp.now(tz="UTC").strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{config.service}-{content[7:15]}"


def fit_and_score(
    catalog: Catalog, config: RunConfig, frame: pd.DataFrame, extra: Mapping[str, ModelSpec] | None = None
) -> Fitted:
    """Fit model and baseline on the training rows; score the holdout. Pure: no files written."""
    train, holdout = split(frame, str(config.holdout_from))
    categories = training_categories(catalog, config.service, train)
    model = fit(catalog, config, train, "model", extra, categories)
    baseline = fit(catalog, config, train, "baseline", extra, categories)
    columns = feature_columns(catalog, config.service)
    id_column = resolve(catalog, config.service).id
    proba = predict(model, holdout, columns, categories)
    base_proba = predict(baseline, holdout, columns, categories)
    return Fitted(
        categories=categories,
        model=model,
        baseline=baseline,
        train_rows=len(train),
        holdout=holdout,
        proba=proba,
        baseline_proba=base_proba,
        id_column=id_column,
        predictions_sha256=predictions_sha256(holdout[id_column], proba),
    )


def promoted_history(project: Project) -> list[str]:
    path = project.runs_dir / "promoted.json"
    if not path.exists():
        return []
    fix = "restore it (or remove it: nothing is promoted then), then `featurelock promote RUN`."
    history = read_json(path, "the promotion history", fix).get("history")
    if not isinstance(history, list) or not all(isinstance(r, str) for r in history):
        raise ValidationError(f"{path} is not the promotion history (no list of run ids); {fix}")
    return history


def promoted_run(project: Project) -> str | None:
    history = promoted_history(project)
    return history[-1] if history else None


def read_run(project: Project, run: str, by_id: bool = False) -> tuple[Path, RunRecord]:
    """A run by id (a folder of ``<data>/runs``) or, unless ``by_id``, by its directory's path.
    Ids read from files (a prediction log) are looked up ``by_id``: never outside the runs folder."""
    is_id = bool(RUN_ID.fullmatch(run)) and not run.startswith(".")
    if is_id and (project.runs_dir / run / "run.json").exists():
        path = project.runs_dir / run
    elif not by_id and Path(run).is_dir():
        path = Path(run)
    elif by_id and not is_id:
        raise ValidationError(
            f"run={run!r} is not a run id (letters, digits, '-', '_', '.'; e.g. "
            "20261129T120000000000Z-<service>-<hash>); a run id is never read as a path."
        )
    elif not is_id:
        known = ", ".join(list_runs(project)[-5:]) or "none"
        raise NotFoundError(
            f"run={run!r} is not a run directory (no such directory) nor a run id; "
            f"give a run id of {project.runs_dir} or a run's directory; recent runs: {known}."
        )
    else:
        path = project.runs_dir / run
    record_path = path / "run.json"
    if not record_path.exists():
        known = ", ".join(list_runs(project)[-5:]) or "none"
        raise NotFoundError(f"run={run!r} is not a run directory (no {record_path}); recent runs: {known}.")
    fix = "the run directory is damaged: train again, or restore it from a copy."
    return path, read_run_record(record_path, fix)


def list_runs(project: Project) -> list[str]:
    folder = project.runs_dir
    return sorted(p.name for p in folder.iterdir() if (p / "run.json").exists()) if folder.exists() else []


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | type(None)) else repr(value)


def hyperparameters(
    catalog: Catalog, config: RunConfig, extra: Mapping[str, ModelSpec]
) -> dict[str, dict[str, Any]]:
    """The hyperparameters each fitted pipeline used: the spec's defaults with the run's overrides."""
    out = {}
    for which, name, params in (
        ("model", config.model, config.params),
        ("baseline", config.baseline, config.baseline_params),
    ):
        spec = check_model_spec(catalog, str(name), extra)
        merged = {**spec.defaults(), **params}
        out[which] = {
            "spec": str(name),
            "seed": config.seed,
            **{k: _jsonable(v) for k, v in sorted(merged.items())},
        }
    return out


def report_sections(
    catalog: Catalog,
    config: RunConfig,
    frame: pd.DataFrame,
    holdout: pd.DataFrame,
    y: np.ndarray,
    curves: Mapping[str, np.ndarray],
    columns: list[str],
    hyper: Mapping[str, Mapping[str, Any]],
) -> list[Section]:
    """The report's sections after the plots: hyperparameters, metrics per segment, null rates."""
    names = sorted({k for h in hyper.values() for k in h})
    sections = [
        Section("Hyperparameters", ["", *hyper], [[n, *(hyper[w].get(n) for w in hyper)] for n in names])
    ]
    for segment in catalog.project.segments.values():
        rows = [
            [value, count, rate, *(aucs[c] for c in curves)]
            for value, count, rate, aucs in segment_metrics(segment.values(holdout), y, curves)
        ]
        header = [segment.name, "rows", "positive rate", *(f"ROC AUC {c}" for c in curves)]
        sections.append(Section(f"Holdout metrics per {segment.name}", header, rows))
    train, _ = split(frame, str(config.holdout_from))
    rates = null_rates(train, holdout, columns)
    sections.append(
        Section("Null rates per feature", ["feature", "training", "holdout"], [list(r) for r in rates])
    )
    return sections


def run_specs(path: Path, record: RunRecord) -> dict[str, ModelSpec]:
    """The specs a run needs beyond the project's: its ad-hoc estimator's, rebuilt from the run."""
    if record.estimator is None:
        return {}
    spec = load_estimator(path, record.estimator)
    return {spec.name: spec}


def train_run(
    project: Project,
    config: RunConfig,
    profile: Profile = Profile.LOCAL,
    progress=lambda _m: None,
    estimator: Any | None = None,
    trusted_types: tuple[str, ...] = (),
) -> TrainResult:
    """Build the training set, fit model and baseline, evaluate, write the run directory.

    ``estimator``: an ad-hoc scikit-learn classifier instead of a declared model spec (it is
    recorded with the run, so the run reproduces and serves like any other); ``trusted_types``:
    the skops types its fitted form holds beyond skops' defaults.
    """
    catalog = check_lock(project)
    extra: dict[str, ModelSpec] = {}
    if estimator is not None:
        spec = adhoc_spec(estimator, tuple(trusted_types))
        extra[spec.name] = spec
        config = RunConfig(**{**config.to_dict(), "model": spec.name})
    config = check_config(catalog, config, extra)
    progress("    building the training set")
    training_set = build_training_set(
        project,
        config.service,
        as_of=config.as_of,
        profile=profile,
        knowledge=config.knowledge,
        catalog=catalog,
    )
    config = RunConfig(**{**config.to_dict(), "as_of": training_set.manifest.as_of})
    progress("    fitting model and baseline")
    scored = fit_and_score(catalog, config, training_set.frame, extra)
    holdout, proba, base_proba = scored.holdout, scored.proba, scored.baseline_proba
    id_column = scored.id_column
    y = holdout["label"].to_numpy()
    columns = feature_columns(catalog, config.service)
    table = {"model": metrics(y, proba), "baseline": metrics(y, base_proba)}
    curves = {f"model ({config.model})": proba, f"baseline ({config.baseline})": base_proba}
    previous = promoted_run(project)
    if previous is not None:
        prev_path, prev = read_run(project, previous)
        prev_pred = pd.read_parquet(prev_path / "holdout_predictions.parquet")
        same_rows = id_column in prev_pred.columns
        merged = holdout[[id_column]].merge(prev_pred, on=id_column, how="left") if same_rows else None
        if merged is not None and merged["proba"].notna().all():
            table[f"promoted {previous}"] = metrics(y, merged["proba"].to_numpy())
            curves[f"promoted ({prev.service})"] = merged["proba"].to_numpy()
    progress("    permutation importance and report")
    x = model_input(holdout, columns, scored.categories)
    imp = importance(scored.model, x, y, columns, config.seed)

    content = content_sha256(_skops_bytes(scored.model))
    run_id = _run_id(config, content)
    final = project.runs_dir / run_id
    if final.exists():
        raise ValidationError(f"run {run_id} exists already; nothing was written.")
    # Written aside, renamed into place at the end: a failed run leaves no half run directory.
    path = project.runs_dir / f".tmp-{run_id}"
    path.mkdir(parents=True, exist_ok=False)
    try:
        model_hashes = save_model(
            scored.model,
            path / "model.skops",
            check_model_spec(catalog, str(config.model), extra).all_trusted_types,
        )
        baseline_hashes = save_model(
            scored.baseline,
            path / "baseline.skops",
            check_model_spec(catalog, str(config.baseline), extra).all_trusted_types,
        )
        recorded_estimator = (
            save_estimator(estimator, path, tuple(trusted_types)) if estimator is not None else None
        )
        predictions = pd.DataFrame(
            {id_column: holdout[id_column], "proba": proba, "baseline_proba": base_proba}
        )
        write_parquet(predictions, path / "holdout_predictions.parquet")
        hyper = hyperparameters(catalog, config, extra)
        manifest = training_set.manifest
        record = RunRecord(
            format=RUN_FORMAT,
            run_id=run_id,
            config=config.to_dict(),
            feature_columns=columns,
            categories=scored.categories,
            model=model_hashes,
            baseline=baseline_hashes,
            dataset=manifest,
            split={
                "holdout_from": config.holdout_from,
                "train_rows": scored.train_rows,
                "holdout_rows": len(holdout),
            },
            metrics=table,
            holdout_predictions_sha256=scored.predictions_sha256,
            git=git_state(project.root),
            environment=manifest.environment,
            project=project.name,
            features_lock_sha256=manifest.features_lock_sha256,
            previous_promoted=previous,
            hyperparameters=hyper,
            **({"estimator": recorded_estimator} if recorded_estimator is not None else {}),
        )
        facts = {
            "run id": run_id,
            "service": config.service,
            "training set": f"{manifest.rows:,} rows, {training_set.sha256}",
            "as_of": config.as_of or "",
            "split": f"train before {config.holdout_from}: {scored.train_rows:,} rows; "
            f"holdout {len(holdout):,}",
            "seed": str(config.seed),
            "model file sha256": record.model_file_sha256,
            "model content sha256": record.model_content_sha256,
            "holdout predictions sha256": scored.predictions_sha256,
            "git": f"{record.git_commit} (dirty: {record.git_dirty})",
            "features.lock": record.features_lock_sha256,
            "requirements.lock": record.requirements_lock_sha256,
        }
        sections = report_sections(catalog, config, training_set.frame, holdout, y, curves, columns, hyper)
        page, plots = render_report(f"featurelock run {run_id}", y, curves, table, imp, facts, sections)
        for name, data in plots.items():
            write_atomic(path / name, lambda tmp, data=data: tmp.write_bytes(data))
        write_text_atomic(path / "report.html", page)
        write_text_atomic(path / "run.json", record.text())
        os.replace(path, final)
        return TrainResult(run_id, final, record)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise


def _skops_bytes(model: Any) -> bytes:
    import skops.io as sio

    return sio.dumps(model)


def loses_to_baseline(project: Project, record: RunRecord) -> str | None:
    """Why the run's model loses to its baseline on its service's primary metric, or None."""
    service = project.service(record.service)
    metric, higher = service.metric, METRICS[service.metric]
    try:
        model, base = (record.metric(metric, k) for k in ("model", "baseline"))
    except (KeyError, TypeError, ValueError):
        return f"its record holds no {metric} for model and baseline"
    worse = model < base if higher else model > base
    if not worse:
        return None
    return (
        f"its model loses to its baseline on {metric} ({'higher' if higher else 'lower'} is better): "
        f"model {model:.4f}, baseline {base:.4f}, by {abs(model - base):.4f}"
    )


def promote(project: Project, run: str, force: bool = False) -> list[str]:
    """Mark ``run`` as the one serving uses; returns the history (last = served). A run whose model
    loses to its baseline on the service's primary metric is refused unless ``force``."""
    path, record = read_run(project, run)
    run_id = record.run_id
    inside = project.runs_dir.resolve() / str(run_id)
    if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id) or path.resolve() != inside:
        raise ValidationError(
            f"run={run!r} is not a run of this data directory ({project.runs_dir}): its record names "
            f"{run_id!r} and it lies at {path.resolve()}. Serving loads models only from the data "
            "directory's runs: train the run here, or copy its directory into "
            f"{project.runs_dir} under its own id."
        )
    worse = None if force else loses_to_baseline(project, record)
    if worse is not None:
        raise ValidationError(
            f"run {run_id} is not promoted: {worse}. Nothing was changed; train a better model, or "
            "promote it anyway with --force."
        )
    history = [*promoted_history(project), run_id]
    project.runs_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(project.runs_dir / "promoted.json", json.dumps({"history": history}, indent=2) + "\n")
    return history


def rollback(project: Project) -> list[str]:
    """Serve the previously promoted run again."""
    history = promoted_history(project)
    if len(history) < 2:
        raise ValidationError(f"Nothing to roll back to: the promotion history is {history}.")
    history = history[:-1]
    write_text_atomic(project.runs_dir / "promoted.json", json.dumps({"history": history}, indent=2) + "\n")
    return history


@dataclass(frozen=True)
class Reproduction:
    identical: bool
    stage: str | None  # the first stage that diverged
    details: list[tuple[str, str]]


def reproduce(project: Project, run: str, profile: Profile = Profile.LOCAL) -> Reproduction:
    """Rebuild the training set from the run's manifest, retrain with its config, compare predictions."""
    path, record = read_run(project, run)
    catalog = check_lock(project)
    config = RunConfig.from_dict(record.config)
    extra = run_specs(path, record)
    trusted = check_model_spec(catalog, str(config.model), extra).all_trusted_types
    load_model(path / "model.skops", record.model_file_sha256, trusted)  # refuses a swapped file
    manifest = record.dataset
    rebuilt = build_training_set(
        project,
        config.service,
        as_of=manifest.as_of,
        profile=profile,
        knowledge=knowledge_of(manifest),
        catalog=catalog,
    )
    details: list[tuple[str, str]] = []
    for stage in STAGES:
        details += diff_inputs(stage, manifest.stage(stage), rebuilt.manifest.stage(stage))
    if rebuilt.sha256 != manifest.sha256:
        stage = details[0][0] if details else "source data"
        details.append(("training set", f"content {manifest.sha256} -> {rebuilt.sha256}"))
        return Reproduction(False, stage, details)
    scored = fit_and_score(catalog, config, rebuilt.frame, extra)
    same_model = content_sha256(_skops_bytes(scored.model)) == record.model_content_sha256
    same_predictions = scored.predictions_sha256 == record.holdout_predictions_sha256
    if same_predictions:
        return Reproduction(True, None, details)
    env_changes = [d for d in details if d[0] == "environment"]
    stage = "environment" if env_changes else "model"
    details.append(
        (
            "model",
            f"model content {'same' if same_model else 'different'}; holdout predictions "
            f"{record.holdout_predictions_sha256} -> {scored.predictions_sha256}",
        )
    )
    return Reproduction(False, stage, details)


def stored_predictions(project: Project, run: str) -> tuple[pd.DataFrame, np.ndarray]:
    path, _ = read_run(project, run)
    frame = pd.read_parquet(path / "holdout_predictions.parquet")
    return frame, frame["proba"].to_numpy()
