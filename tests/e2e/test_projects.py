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
    assert out.count("0 mismatches") == 2  # parity and replay
    assert "Demo complete" in out


def test_init_then_demo_runs_the_whole_pipeline(tmp_path):
    featurelock(tmp_path, tmp_path / "unused", "init", str(tmp_path / "shop"))
    out = featurelock(tmp_path, tmp_path / "home", "demo", "--project", str(tmp_path / "shop"))
    check_demo(out)
    assert "rows      1,780" in out
    assert "customer=c01: P = " in out


def test_cdnow_demo_runs_the_whole_pipeline(tmp_path):
    out = featurelock(REPO_ROOT / "examples" / "cdnow" / "features", tmp_path / "home", "demo")
    check_demo(out)
    assert "purchases written     69,659 rows" in out
    assert "rows      1,397,851" in out
    assert "sha256    sha256:fa6e098bccc9c966e6da6cef14d388b23ee615ec51be3119cdbfb609fc1e3fa5" in out
    assert "customer=99999: P = " in out  # not a customer: missing features, an answer all the same
