"""Replay logged predictions offline: same features, same probability, or a mismatch report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from featurelock.features.project import Project
from featurelock.serving.log import read_log
from featurelock.serving.parity import offline_frame, research_probabilities, same
from featurelock.serving.predictor import Predictor, request_from_receipt
from featurelock.training.runs import read_run


@dataclass(frozen=True)
class ReplayReport:
    predictions: int
    feature_mismatches: int
    probability_mismatches: int
    examples: list[dict[str, Any]]

    @property
    def mismatches(self) -> int:
        return self.feature_mismatches + self.probability_mismatches


def replay(project: Project, log: Path, profile: str = "local") -> ReplayReport:
    receipts = read_log(log)
    by_run: dict[str, list[dict[str, Any]]] = {}
    for receipt in receipts:
        by_run.setdefault(receipt["run_id"], []).append(receipt)
    feature_bad = proba_bad = 0
    examples: list[dict[str, Any]] = []
    for run_id in sorted(by_run):
        read_run(project, run_id, by_id=True)  # an id from the log: only ever a run of this project
        predictor = Predictor.load(project, run_id, profile)
        group = by_run[run_id]
        requests = [request_from_receipt(r, predictor.keys, predictor.inputs) for r in group]
        offline = offline_frame(predictor, requests, profile)
        research = research_probabilities(predictor, offline)
        for i, receipt in enumerate(group):
            for column, value in receipt["features"].items():
                if not same(value, offline[column].iloc[i]):
                    feature_bad += 1
                    if len(examples) < 5:
                        examples.append(
                            {
                                "id": receipt.get("id"),
                                "feature": column,
                                "served": value,
                                "replayed": offline[column].iloc[i],
                            }
                        )
            if receipt["probability"] != float(research[i]):
                proba_bad += 1
                if len(examples) < 5:
                    examples.append(
                        {
                            "id": receipt.get("id"),
                            "served": receipt["probability"],
                            "replayed": float(research[i]),
                        }
                    )
    return ReplayReport(len(receipts), feature_bad, proba_bad, examples)


__all__ = ["ReplayReport", "replay"]
