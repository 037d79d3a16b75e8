"""The run report rendered from its Jinja2 template: hand-made inputs, escaped text, one star per
metric winner, the sections after the plots."""

from __future__ import annotations

import numpy as np
import pandas as pd

from featurelock.training.evaluate import Section, render_report


def test_the_report_renders_its_tables_escaped_with_one_star_per_winner():
    y = np.array([0, 1, 0, 1, 1, 0, 1, 0])
    curves = {"model": np.array([0.1, 0.9, 0.2, 0.8, 0.7, 0.3, 0.6, 0.4]), "baseline": np.full(8, 0.5)}
    table = {
        "model": {"roc_auc": 1.0, "log_loss": 0.25},
        "baseline": {"roc_auc": 0.5, "log_loss": 0.6931},
    }
    importances = pd.Series({"a_v1": 0.2, "b<v1>": 0.1})
    facts = {"run": "r-1", "note": "<script>x</script>"}
    sections = [Section("Null rates per feature", ["feature", "training"], [["a_v1", 0.125], ["b", None]])]
    page, plots = render_report("run <1>", y, curves, table, importances, facts, sections)
    assert sorted(plots) == ["calibration.png", "importance.png", "precision_recall.png", "roc.png"]
    assert page.count("data:image/png;base64,") == 4
    assert "<title>run &lt;1&gt;</title>" in page and "<script>" not in page
    assert "<code>&lt;script&gt;x&lt;/script&gt;</code>" in page
    assert page.count("&#9733;</b>") == 2  # the model wins both: higher ROC AUC, lower log loss
    assert "<td><b>1.0000 &#9733;</b></td>" in page and "<td><b>0.2500 &#9733;</b></td>" in page
    assert "<h2>Null rates per feature</h2>" in page
    assert "<tr><td>a_v1</td><td>0.1250</td></tr><tr><td>b</td><td>-</td></tr>" in page
