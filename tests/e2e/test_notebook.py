"""The research notebook (notebooks/explore.py, jupytext percent format) runs in CI on the real
data: it prints the same training-set hash as `featurelock dataset build` (the golden hash the
demo's command prints, tests/e2e/test_demo.py), and the run it records passes `featurelock reproduce`
from the command line."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow
NOTEBOOK = REPO_ROOT / "notebooks" / "explore.py"
GOLDEN_V1 = "sha256:3ba10ddcfdce3c3c0dcf6b081b73f337904346d4d7ea61a6a0c7a196f247f329"


def outputs(notebook) -> str:
    text = []
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            text.append(out.get("text", "") or out.get("data", {}).get("text/plain", ""))
    return "\n".join(text)


def test_notebook_runs_and_matches_the_command(served_home, tmp_path):
    import jupytext
    from nbclient import NotebookClient

    env = {**os.environ, "FEATURELOCK_HOME": str(served_home), "FEATURELOCK_PROJECT": str(REPO_ROOT)}
    notebook = jupytext.read(NOTEBOOK)
    saved = {k: os.environ.get(k) for k in ("FEATURELOCK_HOME", "FEATURELOCK_PROJECT")}
    os.environ.update(
        FEATURELOCK_HOME=env["FEATURELOCK_HOME"], FEATURELOCK_PROJECT=env["FEATURELOCK_PROJECT"]
    )
    try:  # the kernel is a subprocess: it inherits this environment
        NotebookClient(
            notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
        ).execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    text = outputs(notebook)
    notebook_hash = re.search(r"training set sha256: (sha256:[0-9a-f]{64})", text).group(1)
    run_id = re.search(r"run: (\S+)", text).group(1)
    assert re.search(r"promoted \S+ \(hist_gradient_boosting\): roc_auc 0\.\d{4}; forest [+-]0\.\d{4}", text)

    def featurelock(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "featurelock", *args], env=env, capture_output=True, text=True, timeout=900
        )

    # `featurelock dataset build --service delay_model_v1` gives this hash here (tests/e2e/test_demo.py)
    assert notebook_hash == GOLDEN_V1
    reproduced = featurelock("reproduce", run_id)
    assert reproduced.returncode == 0, reproduced.stdout + reproduced.stderr
    assert "reproduced exactly" in reproduced.stdout
