"""Replay logged predictions offline: same features, same probability, or a mismatch report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from featurelock.core.settings import Profile
from featurelock.features.project import Project
from featurelock.serving.log import RECEIPT_KEYS, read_log
from featurelock.serving.parity import offline_frame, research_probabilities, same
from featurelock.serving.predictor import Predictor, request_from_receipt
from featurelock.training.runs import read_run


@dataclass(frozen=True)
class ReplayReport:
    predictions: int
    feature_mismatches: int
    probability_mismatches: int
    examples: list[dict[str, Any]]
    backdated: int = 0  # receipts whose prediction time lay before the online store's newest values
    backdated_missing: int = 0  # their features missing online because a newer value had replaced them

    @property
    def mismatches(self) -> int:
        return self.feature_mismatches + self.probability_mismatches


def replay(
    project: Project, log: Path, profile: Profile = Profile.LOCAL, knowledge: str = "as-of"
) -> ReplayReport:
    """Replay every receipt of a prediction log (its rotated parts included)."""
    return replay_receipts(project, read_log(log, RECEIPT_KEYS), profile, knowledge)


def replay_receipts(
    project: Project,
    receipts: list[dict[str, Any]],
    profile: Profile = Profile.LOCAL,
    knowledge: str = "as-of",
) -> ReplayReport:
    """Each receipt's features against the offline point-in-time join at its prediction time, and its
    probability against the research pipeline, like with like:

    - a receipt served when the online store held nothing newer than its prediction time must match
      the offline features exactly, and its probability the research pipeline on them;
    - a **backdated** receipt (the store already held newer values: it keeps one value per key, the
      newest) may miss a feature whose newest value came after its time; such a miss is counted as
      ``backdated_missing``, not as a mismatch. Every value it was served must still equal the
      offline one, and its probability the research pipeline on the features it was served.

    ``knowledge="row"`` replays each receipt with what was known at its prediction time (a log
    served while batches kept arriving, as ``featurelock simulate`` serves); ``as-of``, with
    everything known now.
    """
    by_run: dict[str, list[dict[str, Any]]] = {}
    for receipt in receipts:
        by_run.setdefault(receipt["run_id"], []).append(receipt)
    feature_bad = proba_bad = backdated = backdated_missing = 0
    examples: list[dict[str, Any]] = []

    def example(item: dict[str, Any]) -> None:
        if len(examples) < 5:
            examples.append(item)

    for run_id in sorted(by_run):
        read_run(project, run_id, by_id=True)  # an id from the log: only ever a run of this project
        predictor = Predictor.load(project, run_id, profile)
        group = by_run[run_id]
        requests = [request_from_receipt(r, predictor.keys, predictor.inputs) for r in group]
        offline = offline_frame(predictor, requests, profile, knowledge)
        research = research_probabilities(predictor, offline)
        for i, receipt in enumerate(group):
            late = bool(receipt.get("backdated"))
            backdated += late
            for column, value in receipt["features"].items():
                expected = offline[column].iloc[i]
                if late and value is None and column in predictor.feast_columns:
                    backdated_missing += not same(value, expected)
                    continue
                if not same(value, expected):
                    feature_bad += 1
                    example(
                        {"id": receipt.get("id"), "feature": column, "served": value, "replayed": expected}
                    )
            if late:  # the research pipeline on what was served
                served = offline.iloc[[i]].copy()
                for column, value in receipt["features"].items():
                    served[column] = [value]
                expected_p = float(research_probabilities(predictor, served)[0])
            else:
                expected_p = float(research[i])
            if receipt["probability"] != expected_p:
                proba_bad += 1
                example({"id": receipt.get("id"), "served": receipt["probability"], "replayed": expected_p})
    return ReplayReport(len(receipts), feature_bad, proba_bad, examples, backdated, backdated_missing)


__all__ = ["ReplayReport", "replay", "replay_receipts"]
