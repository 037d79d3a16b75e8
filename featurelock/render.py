"""What the command prints for each result ``featurelock.api`` returns: lines for people, or the
one JSON document of ``--json``. Nothing here computes; the demo prints through the same lines.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from featurelock.features.lockfile import LockEntry
    from featurelock.results import DatasetBuilt, Exports, Registered, RunSummary, Served
    from featurelock.serving.parity import ParityReport
    from featurelock.serving.replay import ReplayReport
    from featurelock.serving.simulate import SimulationReport
    from featurelock.training.dataset import Verification
    from featurelock.training.lineage import Lineage
    from featurelock.training.runs import Reproduction, TrainResult

METRICS = ("roc_auc", "pr_auc", "log_loss", "brier")


def dataset(built: DatasetBuilt) -> list[str]:
    return [
        f"    rows      {built.rows:,}",
        f"    as_of     {built.as_of} ({built.as_of_source})",
        f"    knowledge {built.knowledge}",
        f"    sha256    {built.sha256}",
        f"    written   {built.folder}/training_set.parquet, manifest.json",
    ]


def verification(result: Verification) -> list[str]:
    if result.identical and not result.diverged:
        return [f"identical: {result.actual_sha256}"]
    if result.identical:
        lines = [f"identical content ({result.actual_sha256}), but inputs changed:"]
    else:
        lines = [f"DIFFERENT: expected {result.expected_sha256}, rebuilt {result.actual_sha256}"]
    lines.append(f"{'stage':<20} change")
    for stage, change in result.diverged or [("unknown", "no recorded input changed")]:
        lines.append(f"{stage:<20} {change}")
    return lines


def verification_document(result: Verification) -> dict[str, Any]:
    return {
        "identical": result.identical,
        "expected_sha256": result.expected_sha256,
        "actual_sha256": result.actual_sha256,
        "diverged": [{"stage": s, "change": ch} for s, ch in result.diverged],
    }


def trained(result: TrainResult) -> list[str]:
    m = result.record.metrics
    lines = [f"    run       {result.run_id}"]
    lines.append(f"    {'metric':<10} " + " ".join(f"{name[:28]:>28}" for name in m))
    for metric in METRICS:
        lines.append(f"    {metric:<10} " + " ".join(f"{m[name][metric]:>28.4f}" for name in m))
    lines.append(f"    report    {result.path / 'report.html'}")
    return lines


def promoted(history: list[str], previous: bool = False) -> str:
    line = f"serving run: {history[-1]}"
    return line + (f" (previous: {history[-2]})" if previous and len(history) > 1 else "")


def reproduction(result: Reproduction) -> list[str]:
    if result.identical:
        return ["reproduced exactly"]
    lines = [f"NOT reproduced: first diverging stage: {result.stage}", f"{'stage':<20} change"]
    lines += [f"{stage:<20} {change}" for stage, change in result.details]
    return lines


def parity(report: ParityReport) -> list[str]:
    lines = [
        f"    at {report.at}",
        f"    {'feature':<32} {'compared':>9} {'mismatches':>11} {'online nulls':>13}",
    ]
    for column, row in report.per_feature.items():
        lines.append(
            f"    {column:<32} {row['compared']:>9,} {row['mismatches']:>11,} {row['online_nulls']:>13,}"
        )
    lines.append(
        f"    {'predictions (served vs research)':<32} {report.rows:>9,} {report.prediction_mismatches:>11,}"
    )
    return lines + verdict(report)


def verdict(report: ParityReport | ReplayReport) -> list[str]:
    """A check's examples of what differed, then its count: the line a script greps for."""
    return [*(f"    e.g. {example}" for example in report.examples), f"{report.mismatches} mismatches"]


def check_document(report: ParityReport | ReplayReport) -> dict[str, Any]:
    """A check's ``--json`` document: its fields and its count of mismatches."""
    return {**asdict(report), "mismatches": report.mismatches}


def replayed(report: ReplayReport) -> list[str]:
    lines = [
        f"    {report.predictions:,} logged predictions: {report.feature_mismatches} feature and "
        f"{report.probability_mismatches} probability mismatches"
    ]
    if report.backdated:
        lines.append(
            f"    {report.backdated:,} backdated (served after newer values were materialized): "
            f"{report.backdated_missing} feature(s) missing for that reason, compared like with like"
        )
    return lines + verdict(report)


def simulated(report: SimulationReport) -> list[str]:
    builds = [x.build_seconds for x in report.steps]
    lines = [
        f"    {len(report.steps)} steps, {report.served:,} predictions served (run {report.run_id}); "
        f"build {min(builds):.2f}-{max(builds):.2f}s per step"
    ]
    lines += [f"    e.g. {example}" for example in report.examples]
    lines.append(
        f"served vs training set (knowledge row): {report.mismatches} mismatches; a plain point-in-time "
        f"join differs in {report.as_of_differences:,} cells (of {report.compared_cells:,} compared)"
    )
    lines.append(f"replay (knowledge row): {report.replay_mismatches} mismatches")
    lines.append(f"timeline data: {report.folder}")
    return lines


def simulation_document(report: SimulationReport) -> dict[str, Any]:
    return {**asdict(report), "failed": report.failed}


def lineage(info: Lineage) -> list[str]:
    state = "deprecated" if info.deprecated else "active"
    return [
        f"{info.ref}  {info.fingerprint or 'not locked'}  ({state})",
        "  services: " + (", ".join(info.services) or "none"),
        "  runs:     " + (", ".join(info.runs) or "none"),
    ]


def runs(rows: list[RunSummary]) -> list[str]:
    lines = [
        f"{'*' if r.promoted else ' '} {r.run_id}  service={r.service}  roc_auc={r.roc_auc:.4f}" for r in rows
    ]
    return lines or ["no runs yet: `featurelock train --service SERVICE`"]


def registered(views: Registered) -> list[str]:
    lines = [f"    {name:<16} ttl={ttl}  [{', '.join(columns)}]" for name, ttl, columns in views.views]
    lines += [f"    service {name}: {features}" for name, features in views.services]
    return lines


def served(answers: Served) -> list[str]:
    lines = []
    for request, receipt in answers.answers:
        asked = ", ".join(f"{k}={v}" for k, v in request.items() if k != "prediction_time")
        lines.append(f"    {asked}: P = {receipt['probability']:.3f}; missing: {receipt['missing_features']}")
    lines.append("    receipt of the last one:")
    lines.append(
        "\n".join("      " + line for line in json.dumps(answers.answers[-1][1], indent=1).splitlines())
    )
    return lines


def locked(added: list[str]) -> list[str]:
    if not added:
        return ["features.lock is up to date; nothing to add."]
    return ["Locked new versions:", *(f"  + {ref}" for ref in added)]


def dropped(refs: list[str]) -> list[str]:
    modules = [f"{ref.replace('@v', '_v')}.py" for ref in refs]
    return [
        "Dropped from features.lock (never published):",
        *(f"  - {ref}" for ref in refs),
        f"next: delete {', '.join(modules)} (or change them), then `featurelock lock`.",
    ]


def deprecated(entry: LockEntry) -> list[str]:
    return [f"{entry.ref} is deprecated (still locked, servable and reproducible: {entry.fingerprint})"]


def exported(done: Exports, project_name: str) -> list[str]:
    lines = [f"    {e.run_id} -> {e.mlflow_run_id} ({e.status})" for e in done.runs]
    uri = done.tracking_uri
    return [*lines, f"experiment featurelock/{project_name} in {uri}: `mlflow ui --backend-store-uri {uri}`"]


def created(root: Path, empty: bool) -> list[str]:
    if empty:
        return [
            f"new empty project in {root}",
            f"next: declare your data in {root / 'features'} (see README.md)",
        ]
    return [f"new project in {root}", f"next: featurelock demo --project {root}"]
