"""The evaluation layer: holdout metrics, a predictions hash, and an HTML report with plots."""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.inspection import permutation_importance
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)


def metrics(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """ROC AUC, PR AUC (average precision), log loss and Brier score."""
    y = np.asarray(y_true, dtype=int)
    p = np.asarray(proba, dtype=float)
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "brier": float(brier_score_loss(y, p)),
        "positive_rate": float(y.mean()),
        "rows": len(y),
    }


def predictions_sha256(ids: pd.Series, proba: np.ndarray) -> str:
    """Hash of (id, probability) pairs in id order; probabilities as exact float64 bytes."""
    order = np.argsort(ids.to_numpy(dtype=object).astype(str), kind="stable")
    digest = hashlib.sha256()
    for i in order:
        digest.update(str(ids.iloc[i]).encode() + b"\0")
    digest.update(np.asarray(proba, dtype="<f8")[order].tobytes())
    return "sha256:" + digest.hexdigest()


def importance(
    pipeline, matrix: np.ndarray, y: np.ndarray, columns: list[str], seed: int, rows: int = 20_000
) -> pd.Series:
    """Permutation importance (drop in ROC AUC) on a seeded sample of the holdout."""
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(matrix), size=min(rows, len(matrix)), replace=False))
    result = permutation_importance(
        pipeline, matrix[pick], y[pick], scoring="roc_auc", n_repeats=3, random_state=seed
    )
    return pd.Series(result.importances_mean, index=columns).sort_values(ascending=False, kind="mergesort")


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight", metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode()


#: Metrics where a higher value wins (the others: lower wins); rows and positive rate have no winner.
HIGHER_WINS = {"roc_auc": True, "pr_auc": True, "log_loss": False, "brier": False}


def winners(table: Mapping[str, Mapping[str, float]]) -> dict[str, str]:
    """For each metric that has one, the column that wins it (ties: the first, in column order)."""
    out = {}
    for metric, higher in HIGHER_WINS.items():
        scores = {name: row[metric] for name, row in table.items() if metric in row}
        if scores:
            out[metric] = (max if higher else min)(scores, key=lambda n: scores[n])
    return out


def segment_metrics(
    segments: pd.Series, y_true: np.ndarray, curves: Mapping[str, np.ndarray]
) -> list[tuple[object, int, float, dict[str, float | None]]]:
    """(segment value, rows, positive rate, ROC AUC per curve; None where one class is absent)."""
    out = []
    y = np.asarray(y_true, dtype=int)
    for value in sorted(segments.unique(), key=lambda v: (str(type(v)), v)):
        mask = (segments == value).to_numpy()
        both = len(np.unique(y[mask])) == 2
        aucs = {
            name: (float(roc_auc_score(y[mask], p[mask])) if both else None) for name, p in curves.items()
        }
        out.append((value, int(mask.sum()), float(y[mask].mean()), aucs))
    return out


def null_rates(
    train: pd.DataFrame, holdout: pd.DataFrame, columns: list[str]
) -> list[tuple[str, float, float]]:
    """Share of missing values per feature column, in the training rows and in the holdout."""
    return [(c, float(train[c].isna().mean()), float(holdout[c].isna().mean())) for c in columns]


@dataclass(frozen=True)
class Section:
    """A table of the report after its plots: a heading, a header row, rows of values."""

    heading: str
    header: list[str]
    rows: list[list[object]]


def cell(value: object) -> str:
    """A table cell's text: ``-`` for none, four decimals for a float."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def report_template() -> Any:
    """``report.html.j2`` beside this module, autoescaped."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["cell"] = cell
    return env.get_template("report.html.j2")


def render_report(
    title: str,
    y_true: np.ndarray,
    curves: Mapping[str, np.ndarray],
    table: Mapping[str, Mapping[str, float]],
    importances: pd.Series,
    facts: Mapping[str, str],
    sections: Sequence[Section] = (),
) -> tuple[str, dict[str, bytes]]:
    """HTML report (plots inlined) and the same plots as PNG files: ROC, precision-recall,
    calibration, importance; the metric table marks the winner of each metric; ``sections`` are
    tables added after the plots (hyperparameters, segments, null rates). Rendered from the Jinja2
    template ``report.html.j2``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots: dict[str, bytes] = {}
    fig, ax = plt.subplots(figsize=(5, 4))
    for name, proba in curves.items():
        fpr, tpr, _ = roc_curve(y_true, proba)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(y_true, proba):.3f})")
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (holdout)")
    ax.legend(loc="lower right", fontsize=8)
    plots["roc.png"] = base64.b64decode(_png(fig))
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 4))
    for name, proba in curves.items():
        precision, recall, _ = precision_recall_curve(y_true, proba)
        ax.plot(recall, precision, label=f"{name} (AP {average_precision_score(y_true, proba):.3f})")
    ax.axhline(float(np.mean(y_true)), color="k", ls=":", lw=1)
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall (holdout)")
    ax.legend(loc="upper right", fontsize=8)
    plots["precision_recall.png"] = base64.b64decode(_png(fig))
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 4))
    for name, proba in curves.items():
        frac, mean = calibration_curve(y_true, proba, n_bins=10, strategy="quantile")
        ax.plot(mean, frac, marker="o", label=name)
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set(
        xlabel="mean predicted probability", ylabel="observed positive rate", title="Calibration (holdout)"
    )
    ax.legend(loc="upper left", fontsize=8)
    plots["calibration.png"] = base64.b64decode(_png(fig))
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4.5))
    top = importances.head(15)[::-1]
    ax.barh(top.index, top.to_numpy())
    ax.set(xlabel="drop in ROC AUC when permuted", title="Permutation importance (model, holdout)")
    plots["importance.png"] = base64.b64decode(_png(fig))
    plt.close(fig)

    names = list(table)
    page = report_template().render(
        title=title,
        names=names,
        metrics=list(next(iter(table.values()))),
        table=table,
        best=winners(table),
        images=[(name, base64.b64encode(data).decode()) for name, data in plots.items()],
        sections=sections,
        facts=list(facts.items()),
    )
    return page, plots
