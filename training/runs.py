"""Training runs: one directory per run, the promoted-run history, and ``reproduce``.

``<data>/runs/<run_id>/`` holds ``model.skops`` and ``baseline.skops`` (skops, no pickle),
``run.json`` (config, seed, split, model hashes, the training set's manifest, git commit and
dirty flag, Python and package versions, lock-file hashes, metrics, holdout predictions hash),
``holdout_predictions.parquet``, ``report.html`` and its plots. ``<data>/runs/promoted.json`` is
the history of promoted runs (the last entry is served; ``rollback`` pops it).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.atomic import write_atomic, write_text_atomic
from features.errors import NotFoundError, ValidationError
from features.paths import REPO_ROOT, data_home
from features.raw.store import write_parquet
from training.artifacts import content_sha256, load_model, save_model
from training.dataset import STAGES, build_training_set, diff_inputs
from training.evaluate import importance, metrics, predictions_sha256, render_report
from training.model import RunConfig, check_config, feature_columns, fit, model_input, predict, split

RUN_FORMAT = "featurelock-run/1"


def runs_dir() -> Path:
    return data_home() / "runs"


def git_state() -> dict[str, object]:
    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True)
        return out.stdout.strip() if out.returncode == 0 else ""

    commit = git("rev-parse", "HEAD") or "unknown"
    return {"commit": commit, "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    path: Path
    record: dict[str, Any]


def _run_id(config: RunConfig, content: str) -> str:
    stamp = pd.Timestamp.now(tz="UTC").strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{config.service}-{content[7:15]}"


def fit_and_score(config: RunConfig, frame: pd.DataFrame) -> dict[str, Any]:
    """Fit model and baseline on the training rows; score the holdout. Pure: no files written."""
    train, holdout = split(frame, config.holdout_from)
    model = fit(config, train, "model")
    baseline = fit(config, train, "baseline")
    columns = feature_columns(config.service)
    proba = predict(model, holdout, columns)
    base_proba = predict(baseline, holdout, columns)
    return {
        "model": model,
        "baseline": baseline,
        "train_rows": len(train),
        "holdout": holdout,
        "proba": proba,
        "baseline_proba": base_proba,
        "predictions_sha256": predictions_sha256(holdout["flight_id"], proba),
    }


def promoted_history() -> list[str]:
    path = runs_dir() / "promoted.json"
    return json.loads(path.read_text())["history"] if path.exists() else []


def promoted_run() -> str | None:
    history = promoted_history()
    return history[-1] if history else None


def read_run(run: str) -> tuple[Path, dict[str, Any]]:
    path = Path(run) if Path(run).is_dir() else runs_dir() / run
    record_path = path / "run.json"
    if not record_path.exists():
        known = ", ".join(list_runs()[-5:]) or "none"
        raise NotFoundError(f"run={run!r} is not a run directory (no {record_path}); recent runs: {known}.")
    record = json.loads(record_path.read_text())
    if record.get("format") != RUN_FORMAT:
        raise ValidationError(f"{record_path} is not a featurelock run record.")
    return path, record


def list_runs() -> list[str]:
    folder = runs_dir()
    return sorted(p.name for p in folder.iterdir() if (p / "run.json").exists()) if folder.exists() else []


def train_run(config: RunConfig, profile: str = "local", progress=lambda _m: None) -> TrainResult:
    """Build the training set, fit model and baseline, evaluate, write the run directory."""
    check_config(config)
    progress("    building the training set")
    training_set = build_training_set(config.service, as_of=config.as_of, profile=profile)
    config = RunConfig(**{**config.to_dict(), "as_of": training_set.manifest["as_of"]})
    progress("    fitting model and baseline")
    scored = fit_and_score(config, training_set.frame)
    holdout, proba, base_proba = scored["holdout"], scored["proba"], scored["baseline_proba"]
    y = holdout["label"].to_numpy()
    columns = feature_columns(config.service)
    table = {"model": metrics(y, proba), "baseline": metrics(y, base_proba)}
    curves = {f"model ({config.model})": proba, f"baseline ({config.baseline})": base_proba}
    previous = promoted_run()
    if previous is not None:
        prev_path, prev = read_run(previous)
        prev_pred = pd.read_parquet(prev_path / "holdout_predictions.parquet")
        merged = holdout[["flight_id"]].merge(prev_pred, on="flight_id", how="left")
        if merged["proba"].notna().all():
            table[f"promoted {previous}"] = metrics(y, merged["proba"].to_numpy())
            curves[f"promoted ({prev['config']['service']})"] = merged["proba"].to_numpy()
    progress("    permutation importance and report")
    imp = importance(scored["model"], model_input(holdout, columns), y, columns, config.seed)

    content = content_sha256(_skops_bytes(scored["model"]))
    run_id = _run_id(config, content)
    path = runs_dir() / run_id
    path.mkdir(parents=True, exist_ok=False)
    model_hashes = save_model(scored["model"], path / "model.skops")
    baseline_hashes = save_model(scored["baseline"], path / "baseline.skops")
    predictions = pd.DataFrame(
        {"flight_id": holdout["flight_id"], "proba": proba, "baseline_proba": base_proba}
    )
    write_parquet(predictions, path / "holdout_predictions.parquet")
    record = {
        "format": RUN_FORMAT,
        "run_id": run_id,
        "config": config.to_dict(),
        "feature_columns": columns,
        "model": model_hashes,
        "baseline": baseline_hashes,
        "dataset": training_set.manifest,
        "split": {
            "holdout_from": config.holdout_from,
            "train_rows": scored["train_rows"],
            "holdout_rows": len(holdout),
        },
        "metrics": table,
        "holdout_predictions_sha256": scored["predictions_sha256"],
        "git": git_state(),
        "environment": training_set.manifest["inputs"]["environment"],
        "features_lock_sha256": training_set.manifest["inputs"]["feature definitions"][
            "features_lock_sha256"
        ],
        "previous_promoted": previous,
    }
    facts = {
        "run id": run_id,
        "service": config.service,
        "training set": f"{training_set.manifest['rows']:,} rows, {training_set.sha256}",
        "as_of": config.as_of or "",
        "split": f"train before {config.holdout_from}: {scored['train_rows']:,} rows; "
        f"holdout {len(holdout):,}",
        "seed": str(config.seed),
        "model file sha256": model_hashes["file_sha256"],
        "model content sha256": model_hashes["content_sha256"],
        "holdout predictions sha256": scored["predictions_sha256"],
        "git": f"{record['git']['commit']} (dirty: {record['git']['dirty']})",
        "features.lock": record["features_lock_sha256"],
        "requirements.lock": str(record["environment"]["requirements_lock_sha256"]),
    }
    page, plots = render_report(f"featurelock run {run_id}", y, curves, table, imp, facts)
    for name, data in plots.items():
        write_atomic(path / name, lambda tmp, data=data: tmp.write_bytes(data))
    write_text_atomic(path / "report.html", page)
    write_text_atomic(path / "run.json", json.dumps(record, sort_keys=True, indent=2) + "\n")
    return TrainResult(run_id, path, record)


def _skops_bytes(model: Any) -> bytes:
    import skops.io as sio

    return sio.dumps(model)


def promote(run: str) -> list[str]:
    """Mark ``run`` as the one serving uses; returns the history (last = served)."""
    _, record = read_run(run)
    history = [*promoted_history(), record["run_id"]]
    runs_dir().mkdir(parents=True, exist_ok=True)
    write_text_atomic(runs_dir() / "promoted.json", json.dumps({"history": history}, indent=2) + "\n")
    return history


def rollback() -> list[str]:
    """Serve the previously promoted run again."""
    history = promoted_history()
    if len(history) < 2:
        raise ValidationError(f"Nothing to roll back to: the promotion history is {history}.")
    history = history[:-1]
    write_text_atomic(runs_dir() / "promoted.json", json.dumps({"history": history}, indent=2) + "\n")
    return history


@dataclass(frozen=True)
class Reproduction:
    identical: bool
    stage: str | None  # the first stage that diverged
    details: list[tuple[str, str]]


def reproduce(run: str, profile: str = "local") -> Reproduction:
    """Rebuild the training set from the run's manifest, retrain with its config, compare predictions."""
    path, record = read_run(run)
    load_model(path / "model.skops", record["model"]["file_sha256"])  # integrity: refuses a swapped file
    config = RunConfig.from_dict(record["config"])
    manifest = record["dataset"]
    rebuilt = build_training_set(config.service, as_of=manifest["as_of"], profile=profile)
    details: list[tuple[str, str]] = []
    for stage in STAGES:
        details += diff_inputs(stage, manifest["inputs"][stage], rebuilt.manifest["inputs"][stage])
    if rebuilt.sha256 != manifest["content_sha256"]:
        stage = details[0][0] if details else "source data"
        details.append(("training set", f"content {manifest['content_sha256']} -> {rebuilt.sha256}"))
        return Reproduction(False, stage, details)
    scored = fit_and_score(config, rebuilt.frame)
    same_model = content_sha256(_skops_bytes(scored["model"])) == record["model"]["content_sha256"]
    same_predictions = scored["predictions_sha256"] == record["holdout_predictions_sha256"]
    if same_predictions:
        return Reproduction(True, None, details)
    env_changes = [d for d in details if d[0] == "environment"]
    stage = "environment" if env_changes else "model"
    details.append(
        (
            "model",
            f"model content {'same' if same_model else 'different'}; holdout predictions "
            f"{record['holdout_predictions_sha256']} -> {scored['predictions_sha256']}",
        )
    )
    return Reproduction(False, stage, details)


def stored_predictions(run: str) -> tuple[pd.DataFrame, np.ndarray]:
    path, _ = read_run(run)
    frame = pd.read_parquet(path / "holdout_predictions.parquet")
    return frame, frame["proba"].to_numpy()
