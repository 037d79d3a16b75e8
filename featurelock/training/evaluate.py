"""The evaluation layer: holdout metrics, a predictions hash, and an HTML report with plots."""

from __future__ import annotations

import base64
import hashlib
import html
import io
from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.inspection import permutation_importance
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score, roc_curve


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


def render_report(
    title: str,
    y_true: np.ndarray,
    curves: Mapping[str, np.ndarray],
    table: Mapping[str, Mapping[str, float]],
    importances: pd.Series,
    facts: Mapping[str, str],
) -> tuple[str, dict[str, bytes]]:
    """HTML report (plots inlined) and the same plots as PNG files: ROC, calibration, importance."""
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
    metric_names = list(next(iter(table.values())))
    rows = "".join(
        f"<tr><th>{html.escape(m)}</th>"
        + "".join(
            f"<td>{table[n][m]:.4f}</td>" if isinstance(table[n][m], float) else f"<td>{table[n][m]}</td>"
            for n in names
        )
        + "</tr>"
        for m in metric_names
    )
    fact_rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td><code>{html.escape(v)}</code></td></tr>" for k, v in facts.items()
    )
    images = "".join(
        f'<img alt="{name}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'
        for name, data in plots.items()
    )
    header = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    style = (
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}img{margin:0.5em;border:1px solid #eee}"
    )
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{style}</style>
</head><body><h1>{html.escape(title)}</h1>
<h2>Holdout metrics</h2><table><tr><th></th>{header}</tr>{rows}</table>
<h2>Plots</h2>{images}
<h2>What this run records</h2><table>{fact_rows}</table>
</body></html>
"""
    return page, plots
