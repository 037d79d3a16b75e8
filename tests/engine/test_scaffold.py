"""``featurelock init --empty`` and ``featurelock lock --drop`` (issue 21, item 2): a clean start."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from featurelock.cli import main
from featurelock.features.lockfile import read_lock
from featurelock.scaffold import init_project

CLI = str(Path(sys.executable).with_name("featurelock"))


def console(*args: str, home: Path) -> subprocess.CompletedProcess:
    """The installed console script, as a user runs it."""
    env = {"PATH": str(Path(sys.executable).parent), "FEATURELOCK_HOME": str(home), "HOME": str(home)}
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=300, env=env, check=False)


@pytest.mark.slow  # subprocesses
def test_an_empty_project_locks_nothing_and_the_demo_says_there_is_nothing_to_run(tmp_path):
    root, home = tmp_path / "mine", tmp_path / "home"
    made = console("init", "--empty", str(root), home=home)
    assert made.returncode == 0, made.stderr
    assert "new empty project in" in made.stdout
    assert not (root / "features.lock").exists() and not (root / "raw").exists()
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*.py")) == [
        "feature_repo/definitions.py",
        "features/entities.py",
        "features/services.py",
        "features/sources.py",
        "features/views.py",
        "serving/examples.py",
        "training/models.py",
    ]
    locked = console("lock", "--project", str(root), home=home)
    assert locked.returncode == 0 and "features.lock is up to date; nothing to add." in locked.stdout
    demo = console("demo", "--project", str(root), home=home)
    assert demo.returncode == 2
    assert demo.stderr.startswith(f"featurelock: error: project 'mine' at {root} declares no service yet")
    assert "Declare a source and a service" in demo.stderr and "Traceback" not in demo.stderr
    assert not home.exists() or not any(home.iterdir())  # nothing was written


def test_a_version_never_published_is_dropped_and_can_be_replaced(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FEATURELOCK_HOME", str(tmp_path / "home"))
    root = init_project(tmp_path / "shop")
    assert sorted(read_lock(root / "features.lock")) == ["customer_days@v1", "visits_7d@v1"]
    assert main(["lock", "--drop", "visits_7d@v1", "--project", str(root)]) == 0
    out = capsys.readouterr().out
    assert "  - visits_7d@v1" in out and "next: delete visits_7d_v1.py (or change them)" in out
    assert sorted(read_lock(root / "features.lock")) == ["customer_days@v1"]
    # the newcomer's own version in its place: edit the module, lock again (no hand edit of the lock)
    module = root / "features" / "customer" / "visits_7d_v1.py"
    module.write_text(module.read_text().replace("INTERVAL 7 DAY PRECEDING", "INTERVAL 6 DAY PRECEDING"))
    assert main(["lock", "--project", str(root)]) == 0
    assert "  + visits_7d@v1" in capsys.readouterr().out


def test_drop_refuses_an_unknown_ref_and_changes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FEATURELOCK_HOME", str(tmp_path / "home"))
    root = init_project(tmp_path / "shop")
    before = (root / "features.lock").read_bytes()
    assert main(["lock", "--drop", "visits_7d@v1", "--drop", "visits_9d@v1", "--project", str(root)]) == 2
    assert "--drop 'visits_9d@v1' is not in features.lock; locked versions: ['customer_days@v1'" in (
        capsys.readouterr().err
    )
    assert (root / "features.lock").read_bytes() == before  # all or none


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_committed_version_stays_locked(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FEATURELOCK_HOME", str(tmp_path / "home"))
    root = init_project(tmp_path / "shop")
    for args in (["init", "-q"], ["add", "features.lock"], ["commit", "-qm", "lock the sample"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root, check=True, timeout=30
        )
    before = (root / "features.lock").read_bytes()
    assert main(["lock", "--drop", "customer_days@v1", "--project", str(root)]) == 2
    err = capsys.readouterr().err
    assert "--drop 'customer_days@v1' refused: it is committed in features.lock (" in err
    assert "lock the sample), so it is published and stays locked (nothing was changed)" in err
    assert "`featurelock deprecate customer_days@v1`" in err
    assert (root / "features.lock").read_bytes() == before


@pytest.mark.slow  # a subprocess
def test_the_generated_tests_pass_and_use_only_the_public_api(tmp_path):
    """Issue 21, item 7: a project's own tests import featurelock's public names, not its internals."""
    import ast

    root = init_project(tmp_path / "shop")
    imported = set()
    for node in ast.walk(ast.parse((root / "tests" / "test_project.py").read_text())):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(str(node.module))
    assert {m for m in imported if m.startswith("featurelock")} == {"featurelock.api"}
    env = {"PATH": str(Path(sys.executable).parent), "FEATURELOCK_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=root, capture_output=True, text=True, timeout=300, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def test_lookups_are_checked_against_the_definitions(tmp_path):
    """Issue 21, item 3: a Lookup that cannot work is refused naming what is wrong and the fix."""
    from dataclasses import replace

    from featurelock.core.errors import DefinitionError
    from featurelock.features.declare import Lookup, Service
    from featurelock.features.lockfile import check_lock
    from featurelock.features.plan import resolve
    from featurelock.features.project import Project

    catalog = check_lock(Project(init_project(tmp_path / "shop"), tmp_path / "home"))
    service = catalog.project.service("return_model_v1")
    plan = resolve(catalog, service)
    assert plan.lookups == () and plan.keys == ("customer",) and plan.id == "row_id"
    unneeded = replace(service, lookups=(Lookup("country", "visits_7d@v1"),))
    with pytest.raises(DefinitionError, match=r"no view of the service's features is keyed by 'country'"):
        resolve(catalog, unneeded)
    given = replace(service, lookups=(Lookup("customer", "visits_7d@v1"),))
    with pytest.raises(DefinitionError, match=r"population customer_days@v1 yields 'customer' already"):
        resolve(catalog, given)
    with pytest.raises(DefinitionError, match=r"give a tuple of Lookup\(key, feature\)"):
        Service("s", (), (), "p@v1", "m", "b", "2024-01-01T00:00:00Z", "d", lookups=("customer",))  # type: ignore[arg-type]
