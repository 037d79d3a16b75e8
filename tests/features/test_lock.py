"""Immutability: plain `feast apply`, run in a temp copy of the repo, refuses an edited version."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from featurelock.features.catalog import discover
from featurelock.features.lockfile import (
    add_new_versions,
    check_lock,
    lock_violations,
    read_lock,
    render_lock,
)
from featurelock.features.project import Project
from tests.conftest import REPO_ROOT

BIN = Path(sys.executable).parent
IGNORE = shutil.ignore_patterns(
    ".venv", ".git", "data", "__pycache__", ".pytest_cache", ".ruff_cache", "*.egg-info"
)


@pytest.fixture
def repo(tmp_path) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(REPO_ROOT, copy, ignore=IGNORE)
    # the copy declares DuckDB only: these tests are about the lock; the trial on Spark that a
    # project declaring Spark gets is tested in tests/features/test_engines.py (marked spark)
    (copy / "feature_repo" / "feature_store.spark.yaml").unlink()
    return copy


def run(repo: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "FEATURELOCK_HOME"}
    env["PYTHONPATH"] = str(repo)  # the copy, not the installed original
    return subprocess.run(
        args, cwd=repo / "feature_repo", env=env, capture_output=True, text=True, timeout=300
    )


def feast_apply(repo: Path) -> subprocess.CompletedProcess:
    return run(repo, str(BIN / "feast"), "apply")


def edit(repo: Path, relative: str, old: str, new: str) -> None:
    path = repo / relative
    text = path.read_text()
    assert old in text, f"{old!r} not in {relative}"
    path.write_text(text.replace(old, new, 1))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("relative", "old", "new", "ref"),
    [
        (
            "features/carrier/carrier_delayed_share_24h_v1.py",
            "dep_delay >= 15",
            "dep_delay >= 20",
            "carrier_delayed_share_24h",
        ),
        (
            "features/carrier/carrier_dep_delay_mean_7d_v2.py",
            "WHERE dep_utc IS NOT NULL",
            "WHERE dep_utc IS NOT NULL AND dep_delay > -60",
            "carrier_dep_delay_mean_7d",
        ),
        (
            "features/route/route_dep_delay_mean_30d_v1.py",
            "ttl=timedelta(days=1)",
            "ttl=timedelta(days=2)",
            "route_dep_delay_mean_30d",
        ),
        (
            "features/route/route_dep_delay_mean_30d_v1.py",
            'dtype="float64"',
            'dtype="Int64"',
            "route_dep_delay_mean_30d",
        ),
        (
            "features/origin/origin_precip_3h_v1.py",
            'source="weather"',
            'source="flights"',
            "origin_precip_3h",
        ),
    ],
    ids=["constant", "sql-predicate", "ttl", "dtype", "source"],
)
def test_feast_apply_refuses_an_edited_locked_version(repo, relative, old, new, ref):
    edit(repo, relative, old, new)
    # the next free version is suggested: carrier_dep_delay_mean_7d and origin_precip_3h have a v2
    version = 3 if ref in ("carrier_dep_delay_mean_7d", "origin_precip_3h") else 2
    result = feast_apply(repo)
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert "featurelock refuses to register this repository (LockError):" in result.stderr
    assert "Traceback" not in message and len(result.stderr.splitlines()) <= 4  # issue 21: no 52 lines
    edited = int(relative.rsplit("_v", 1)[1].removesuffix(".py"))
    assert f"{ref}@v{edited} changed after it was locked" in message
    assert f"add `{ref}_v{version}`" in message
    assert not (repo / "feature_repo" / "data" / "registry.db").exists()


@pytest.mark.slow
def test_feast_apply_accepts_comment_docstring_and_whitespace_edits(repo):
    edit(
        repo,
        "features/carrier/carrier_delayed_share_24h_v1.py",
        "WHERE dep_utc IS NOT NULL",
        "WHERE dep_utc   IS NOT NULL   -- departed flights only",
    )
    edit(
        repo,
        "features/carrier/carrier_delayed_share_24h_v1.py",
        "Share of the carrier",
        "The share of the carrier",
    )
    edit(
        repo,
        "features/plane/plane_seats_v1.py",
        "    return",
        "    # seats as listed in planes\n\n    return",
    )
    result = feast_apply(repo)
    assert result.returncode == 0, result.stderr
    assert "carrier_stats" in result.stdout  # applied (Feast words it "Created"/"Deploying")


@pytest.mark.slow
def test_feast_apply_refuses_a_deleted_locked_module(repo):
    (repo / "features/plane/plane_age_v1.py").unlink()
    result = feast_apply(repo)
    assert result.returncode != 0
    assert "plane_age@v1 is locked but its module is gone" in result.stderr


@pytest.mark.slow
def test_new_version_is_refused_until_locked_and_lock_never_rewrites_v1(repo):
    v1 = repo / "features/plane/plane_seats_v1.py"
    v2 = repo / "features/plane/plane_seats_v2.py"
    v2.write_text(
        v1.read_text()
        .replace("plane_seats_v1", "plane_seats_v2")
        .replace("seats AS value", "seats - 2 AS value")
    )
    lock_before = (repo / "features.lock").read_text()

    refused = feast_apply(repo)
    assert refused.returncode != 0
    assert "plane_seats@v2 is not in features.lock" in refused.stderr
    assert "Run `featurelock lock`" in refused.stderr

    locked = run(repo, sys.executable, "-m", "featurelock", "lock")
    assert locked.returncode == 0, locked.stderr
    assert "+ plane_seats@v2" in locked.stdout
    lock_after = (repo / "features.lock").read_text()
    assert set(lock_before.splitlines()) <= set(lock_after.splitlines())  # no line rewritten or removed
    assert len(lock_after.splitlines()) == len(lock_before.splitlines()) + 1

    applied = feast_apply(repo)
    assert applied.returncode == 0, applied.stderr


def test_lock_refuses_to_run_over_a_changed_entry(repo):
    project = Project(repo)
    catalog = discover(project)
    lock = project.lock_file
    lock.unlink()
    add_new_versions(project, catalog)
    entries = read_lock(lock)
    assert list(entries) == list(catalog.fingerprints())
    tampered = dict(entries)
    ref = "plane_age@v1"
    tampered[ref] = type(entries[ref])(ref, "sha256:" + "0" * 64)
    lock.write_text(render_lock(tampered))
    problems = lock_violations(catalog, read_lock(lock))
    assert [(p.ref, p.kind) for p in problems] == [("plane_age@v1", "changed")]
    assert problems[0].message.startswith("plane_age@v1 changed after it was locked")
    with pytest.raises(Exception, match=r"only adds new versions; fix these first"):
        add_new_versions(project, catalog)
    assert read_lock(lock)[ref].fingerprint == "sha256:" + "0" * 64  # untouched


def test_committed_lock_matches_the_modules():
    project = Project(REPO_ROOT)
    assert lock_violations(discover(project), read_lock(project.lock_file)) == []


def test_deprecate_marks_one_entry_and_keeps_it_locked(repo):
    from featurelock.core.errors import LockError
    from featurelock.features.lockfile import deprecate

    project = Project(repo)
    catalog = discover(project)
    lock = project.lock_file
    before = lock.read_text().splitlines()
    entry = deprecate(project, "carrier_dep_delay_mean_7d@v1")
    after = lock.read_text().splitlines()
    assert entry.deprecated
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [(changed[0][0], changed[0][0] + " deprecated")]  # one line, marker appended
    assert changed[0][0].startswith("carrier_dep_delay_mean_7d@v1 sha256:")
    assert lock_violations(catalog, read_lock(lock)) == []  # still locked and intact
    deprecate(project, "carrier_dep_delay_mean_7d@v1")
    assert lock.read_text().splitlines() == after  # idempotent
    with pytest.raises(LockError, match=r"ref='nope@v1' is not in features.lock"):
        deprecate(project, "nope@v1")


def test_the_lock_speaks_before_the_view_check(repo):
    """An edited ttl of a locked version in a view of several is the lock's refusal, naming it."""
    from featurelock.core.errors import DefinitionError, LockError
    from featurelock.features.lockfile import check_lock

    edit(
        repo,
        "features/carrier/carrier_delayed_share_24h_v1.py",
        "ttl=timedelta(hours=1)",
        "ttl=timedelta(hours=2)",
    )
    with pytest.raises(LockError, match=r"carrier_delayed_share_24h@v1 changed after it was locked"):
        check_lock(Project(repo))
    # a new version with another ttl in that view is named, with the versions it differs from
    original = (REPO_ROOT / "features/carrier/carrier_delayed_share_24h_v1.py").read_text()
    (repo / "features/carrier/carrier_delayed_share_24h_v1.py").write_text(original)
    v2 = original.replace("carrier_delayed_share_24h_v1", "carrier_delayed_share_24h_v2")
    (repo / "features/carrier/carrier_delayed_share_24h_v2.py").write_text(
        v2.replace("ttl=timedelta(hours=1)", "ttl=timedelta(hours=2)")
    )
    with pytest.raises(DefinitionError, match=r"mixes ttls .*'2:00:00': \['carrier_delayed_share_24h@v2'\]"):
        add_new_versions(Project(repo))


@pytest.mark.parametrize(
    ("line", "what"),
    [
        ("from features.thresholds import LATE", r"module 'features' \("),
        ("import thresholds", r"module 'thresholds' \("),
        ("from . import thresholds", r"a relative import \(level 1\)"),
        ("import no_such_module_anywhere", r"module 'no_such_module_anywhere' \(<not installed>\)"),
    ],
)
def test_issue13_item2_a_versioned_module_cannot_import_what_the_lock_cannot_see(repo, line, what):
    """Before: a locked module importing a constant from a project helper kept its fingerprint when
    the helper changed, and `feast apply` accepted it. Now the import itself is refused, before the
    module runs, naming the line."""
    from featurelock.core.errors import DefinitionError

    (repo / "thresholds.py").write_text("LATE = 15\n")
    (repo / "features" / "thresholds.py").write_text("LATE = 15\n")
    path = repo / "features/plane/plane_seats_v1.py"
    path.write_text(
        path.read_text().replace("from datetime import timedelta", f"{line}\nfrom datetime import timedelta")
    )
    with pytest.raises(
        DefinitionError, match=rf"plane_seats_v1.py: line \d+ imports {what}.*which the lock cannot see"
    ):
        discover(Project(repo))


@pytest.mark.parametrize(
    ("code", "call"),
    [
        ('LATE = importlib.import_module("thresholds").LATE', r"\.import_module\(\)"),
        ('LATE = __import__("thresholds").LATE', r"__import__\(\)"),
        ('exec("LATE = 15")', r"exec\(\)"),
        ('LATE = eval("15")', r"eval\(\)"),
        ('LATE = int(open("late.txt").read())', r"open\(\)"),
        ('LATE = int(Path("late.txt").read_text())', r"\.read_text\(\)"),
        ('LATE = int(pd.read_csv("late.csv").iloc[0, 0])', r"\.read_csv\(\)"),
    ],
)
def test_issue20_item5_a_versioned_module_cannot_load_what_the_lock_cannot_see(repo, code, call):
    """Before: a module reading a helper through importlib.import_module kept its fingerprint when the
    helper's constant changed; `featurelock apply` and plain `feast apply` accepted it."""
    from featurelock.core.errors import DefinitionError

    path = repo / "features/plane/plane_seats_v1.py"
    head = "import importlib\nfrom pathlib import Path\nimport pandas as pd\n"
    path.write_text(head + path.read_text().replace("\n\n@sql_feature", f"\n{code}\n\n@sql_feature", 1))
    with pytest.raises(
        DefinitionError,
        match=rf"plane_seats_v1.py: line \d+ calls {call}, which loads code or data at run time",
    ):
        discover(Project(repo))


def test_issue13_item2_engine_stdlib_and_installed_imports_stay_allowed(tmp_path):
    from featurelock.features.imports import check_imports

    root = tmp_path / "p"
    (root / "features").mkdir(parents=True)
    source = "import math\nimport numpy as np\nfrom datetime import timedelta\nfrom featurelock import *"
    check_imports(root, root / "features" / "x_v1.py", source)  # no error


def _git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
    )


def test_issue13_item4_a_rewritten_lock_entry_is_refused_with_its_commit(repo):
    """Before: a hand-edited features.lock (entry rewritten to match an edited module) was accepted.
    Now `featurelock lock` reads the file's git history and names the commit that rewrote it."""
    from featurelock.core.errors import LockError
    from featurelock.features.lock_history import check_lock_history

    _git(repo, "init", "-q")
    _git(repo, "add", "features.lock")
    _git(repo, "commit", "-q", "-m", "lock v1")
    lock = repo / "features.lock"
    assert check_lock_history(lock) == 1
    text = lock.read_text()
    line = next(x for x in text.splitlines() if x.startswith("plane_age@v1 "))
    lock.write_text(text.replace(line, "plane_age@v1 sha256:" + "0" * 64))
    with pytest.raises(
        LockError, match=r"plane_age@v1 was rewritten \(sha256:\w+ -> sha256:0+\) by the working tree"
    ):
        add_new_versions(Project(repo))
    _git(repo, "commit", "-q", "-am", "sneaky rewrite")
    with pytest.raises(
        LockError, match=r"plane_age@v1 was rewritten .* by \w{7} \d{4}-\d\d-\d\d sneaky rewrite"
    ):
        check_lock_history(lock)
    lock.write_text(text)  # restoring it does not hide the commit that rewrote it
    with pytest.raises(LockError, match=r"by \w{7} \d{4}-\d\d-\d\d sneaky rewrite"):
        check_lock_history(lock)


def test_issue13_item4_removal_and_undeprecation_are_refused_deprecation_is_not(tmp_path):
    from featurelock.features.lock_history import LockVersion, history_violations

    a = LockVersion("a", "a1", {"x@v1": ("sha256:1", False), "y@v1": ("sha256:2", True)})
    grown = LockVersion("b", "b1", {**a.entries, "x@v1": ("sha256:1", True), "z@v1": ("sha256:3", False)})
    assert history_violations([a, grown]) == []
    shrunk = LockVersion("c", "c1", {"x@v1": ("sha256:1", False), "y@v1": ("sha256:2", False)})
    assert history_violations([a, LockVersion("d", "d1", {})]) == [
        "x@v1 was removed by d1",
        "y@v1 was removed by d1",
    ]
    assert history_violations([a, shrunk]) == ["y@v1 was un-deprecated by c1"]


def test_issue13_item4_the_committed_lock_history_only_grew():
    """CI's check of this repository's own features.lock (its full git history where present)."""
    from featurelock.features.lock_history import check_lock_history

    check_lock_history(REPO_ROOT / "features.lock")


@pytest.mark.slow
def test_issue20_item5_a_hand_edited_lock_entry_is_refused_by_what_the_data_directory_applied(repo):
    """Before: a locked module changed and its new fingerprint pasted into features.lock passed
    `featurelock apply` and plain `feast apply` (only git history, read by `featurelock lock`, saw
    it). Now the data directory remembers every version it applied, and the lock check reads it."""
    from featurelock.core.errors import LockError
    from featurelock.features import registration

    home = repo / "feature_repo" / "data"  # the data directory plain `feast apply` uses below
    registration.apply(Project(repo, home))  # applied once: the data directory remembers plane_seats@v1
    edit(repo, "features/plane/plane_seats_v1.py", "seats AS value", "seats - 1 AS value")
    new = discover(Project(repo)).fingerprints()["plane_seats@v1"]
    lock = repo / "features.lock"
    lines = [
        f"plane_seats@v1 {new}" if line.startswith("plane_seats@v1 ") else line
        for line in lock.read_text().splitlines()
    ]
    lock.write_text("\n".join(lines) + "\n")
    with pytest.raises(
        LockError, match=r"plane_seats@v1 was applied in .* it is now sha256:.*add plane_seats_v2"
    ):
        check_lock(Project(repo, home))
    refused = feast_apply(repo)
    assert refused.returncode != 0
    assert "plane_seats@v1 was applied in" in refused.stderr
