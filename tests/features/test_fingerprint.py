"""Fingerprints: blind to formatting, sensitive to meaning, stable across processes and Pythons."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta

import pytest

from featurelock.features.catalog import discover
from featurelock.features.fingerprint import fingerprint, normalize_source, normalize_sql
from tests.conftest import REPO_ROOT, nyc

FEATURES_PACKAGE = REPO_ROOT / "features"

CATALOG = discover(nyc())
SPEC = CATALOG.spec("carrier_delayed_share_24h@v1")
SOURCE = CATALOG.sources[SPEC.ref]
GRID = "SELECT carrier, event_timestamp FROM grid_source"

#: Golden fingerprint of plane_seats@v1 (normalizer tokens-v1). If this changes, every locked
#: version's fingerprint changed too: the normalizer must not change without a new NORMALIZER name.
GOLDEN_PLANE_SEATS = "sha256:2d7331fd2bb03f096e7d72c53adcc6bf2bad0e5c80859653dfb78f7cfc9a3ac9"


def fp(source: str = SOURCE, spec=SPEC, grid: str = GRID) -> str:
    return fingerprint(spec, source, grid, {})


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: s.replace("WHERE dep_utc IS NOT NULL", "WHERE dep_utc IS NOT NULL  -- departed only"),
        lambda s: s.replace("    return", "    # a comment\n    return"),
        lambda s: s.replace("Share of the carrier", "Fraction of the carrier"),  # docstring
        lambda s: s.replace('"""Feature carrier_delayed_share_24h', '"""Module docstring: feature'),
        lambda s: s.replace(
            "SELECT carrier, t, is_grid,", "SELECT carrier,\n                   t,  is_grid,"
        ),
        lambda s: s.replace("\n\n\n@sql_feature", "\n\n\n\n\n@sql_feature"),
        lambda s: s.replace('owner="delay-team"', "owner='delay-team'"),
    ],
    ids=[
        "sql-comment",
        "py-comment",
        "docstring",
        "module-docstring",
        "sql-whitespace",
        "blank-lines",
        "quotes",
    ],
)
def test_cosmetic_edits_keep_the_fingerprint(edit):
    edited = edit(SOURCE)
    assert edited != SOURCE
    assert fp(edited) == fp()


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: s.replace("dep_delay >= 15", "dep_delay >= 20"),  # a constant
        lambda s: s.replace("WHERE dep_utc IS NOT NULL", "WHERE dep_utc IS NOT NULL AND dep_delay > 0"),
        lambda s: s.replace("INTERVAL 24 HOUR", "INTERVAL 24 HOUR + INTERVAL 1 SECOND"),
        lambda s: s.replace("THEN 1 ELSE 0", "THEN 1 ELSE NULL"),
        lambda s: s.replace("ttl=timedelta(hours=1)", "ttl=timedelta(hours=2)"),
    ],
    ids=["constant", "predicate", "window", "null-policy", "ttl-in-code"],
)
def test_meaningful_edits_change_the_fingerprint(edit):
    edited = edit(SOURCE)
    assert edited != SOURCE
    assert fp(edited) != fp()


@pytest.mark.parametrize(
    "change",
    [
        {"ttl": timedelta(hours=2)},
        {"dtype": "Int64"},
        {"source": "flights_v2"},
        {"entity": "route"},
        {"version": 2},
    ],
)
def test_attributes_are_part_of_the_fingerprint(change):
    assert fp(spec=replace(SPEC, **change)) != fp()


def test_grid_and_read_features_are_part_of_the_fingerprint():
    assert fp(grid=GRID + " WHERE carrier <> 'HA'") != fp()
    assert fp(grid=GRID.replace(" ", "  ")) == fp()
    a = fingerprint(SPEC, SOURCE, GRID, {"x@v1": "sha256:aa"})
    b = fingerprint(SPEC, SOURCE, GRID, {"x@v1": "sha256:bb"})
    assert a != b != fp()


def test_sql_normalization_keeps_quoted_text():
    assert normalize_sql("SELECT 'a  b' -- c\n ,  x FROM t") == "SELECT 'a  b',x FROM t"
    assert normalize_sql('SELECT  "Col  A" /* x */ FROM t') == 'SELECT "Col  A" FROM t'


def test_indentation_is_structure_not_formatting():
    a = "def f(x):\n    if x:\n        y = 1\n    return 2\n"
    b = "def f(x):\n    if x:\n        y = 1\n        return 2\n"
    assert normalize_source(a) != normalize_source(b)
    assert normalize_source(a) == normalize_source(a.replace("    ", "  "))


def test_golden_fingerprint():
    assert CATALOG.fingerprints()["plane_seats@v1"] == GOLDEN_PLANE_SEATS


def _fingerprints_in_subprocess(seed: str) -> dict[str, str]:
    code = (
        "import json, sys; from featurelock.features.catalog import discover;"
        "from featurelock.features.project import Project;"
        "print(json.dumps(discover(Project(sys.argv[1])).fingerprints()))"
    )
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO_ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code, str(REPO_ROOT)], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


@pytest.mark.slow
def test_fingerprints_stable_across_processes_and_hash_seeds():
    a, b = _fingerprints_in_subprocess("1"), _fingerprints_in_subprocess("12345")
    assert a == b == CATALOG.fingerprints()


def _other_pythons() -> list[str]:
    found = {shutil.which(f"python3.{m}") for m in (12, 13, 14)}
    found |= set(glob.glob("/root/.pyenv/versions/3.1[234]*/bin/python3.1[234]"))
    usable = []
    for exe in sorted(p for p in found if p):
        probe = subprocess.run([exe, "-c", "print(1)"], capture_output=True, text=True)
        if probe.returncode == 0:
            usable.append(exe)
    return usable


FSTRING_SAMPLE = 'x = 1\ny = f"{x!r:>{x}} and {f\'{x}\'}"  # nested\nz = f"""\n{x}\n"""\n'


@pytest.mark.slow
@pytest.mark.parametrize(
    "python", _other_pythons() or [pytest.param(None, marks=pytest.mark.skip("no Python 3.12+ here"))]
)
def test_normalization_is_the_same_on_newer_pythons(python):
    """Python 3.12 tokenizes f-strings into several tokens; the normalizer keeps them whole."""
    paths = sorted(str(p) for p in FEATURES_PACKAGE.glob("*/*_v*.py"))
    code = (
        "import json, sys; from featurelock.features.fingerprint import normalize_source;"
        "paths = json.loads(sys.argv[1]);"
        "out = [normalize_source(open(p).read()) for p in paths] + [normalize_source(sys.argv[2])];"
        "print(json.dumps(out))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    out = subprocess.run(
        [python, "-c", code, json.dumps(paths), FSTRING_SAMPLE],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    mine = [normalize_source(open(p).read()) for p in paths] + [normalize_source(FSTRING_SAMPLE)]
    assert json.loads(out.stdout) == mine
    assert any(t.startswith("f:") for t in mine[-1])
