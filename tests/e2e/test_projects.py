"""Two more projects through the `featurelock` command, with no line of the engine written for
them: one made by `featurelock init`, and CDNOW (examples/cdnow)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow


def featurelock(cwd: Path, home: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("FEATURELOCK_PROJECT", "FEATURELOCK_PROFILE")}
    env["FEATURELOCK_HOME"] = str(home)
    result = subprocess.run(
        [sys.executable, "-m", "featurelock", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def check_demo(out: str) -> None:
    hashes = re.findall(r"sha256    (sha256:[0-9a-f]{64})", out)
    assert len(hashes) == 2 and hashes[0] == hashes[1]  # the training set built twice, identical
    assert "reproduced exactly" in out
    assert out.count("0 mismatches") == 4  # parity, replay, and the timeline: served and replayed
    assert "served vs training set (knowledge row): 0 mismatches" in out
    assert "Demo complete" in out


def test_init_then_demo_runs_the_whole_pipeline(tmp_path):
    featurelock(tmp_path, tmp_path / "unused", "init", str(tmp_path / "shop"))
    out = featurelock(tmp_path, tmp_path / "home", "demo", "--project", str(tmp_path / "shop"))
    check_demo(out)
    assert "rows      1,780" in out
    assert "customer=c01: P = " in out


def test_cdnow_builds_its_golden_training_set_from_the_real_log(tmp_path):
    """CDNOW's own data through the command: ingest, features and the training set, with its golden
    hash. Its whole pipeline (training, reproduce, serving, parity, replay) is `make demo
    PROJECT=examples/cdnow` (2 minutes; measured in its README); in `make test` the whole pipeline
    of a project other than nycflights13 is the `init` project's demo above, which runs the same
    engine path, so the suite stays within its time budget."""
    cwd = REPO_ROOT / "examples" / "cdnow" / "features"
    out = featurelock(cwd, tmp_path / "home", "ingest")
    assert re.search(r"purchases\s+written\s+69,659 rows", out)
    featurelock(cwd, tmp_path / "home", "apply")
    built = featurelock(cwd, tmp_path / "home", "dataset", "build", "--service", "repurchase_v1")
    assert "rows      1,397,851" in built
    assert "sha256    sha256:fa6e098bccc9c966e6da6cef14d388b23ee615ec51be3119cdbfb609fc1e3fa5" in built
    generation = (tmp_path / "home" / "features").resolve().name
    featurelock(cwd, tmp_path / "home", "features", "build", "--full")  # issue 19: from nothing
    assert (tmp_path / "home" / "features").resolve().name == generation
