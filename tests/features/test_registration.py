"""What featurelock registers and what plain ``feast apply`` registers are the same objects
(issue 23, item 4): featurelock hands Feast the generated definitions in process, every setting an
argument, and never passes a setting to ``definitions.py`` through the environment."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from featurelock.features import feast_repo, registration
from featurelock.features.project import Project
from featurelock.scaffold import init_project

BIN = Path(sys.executable).parent
STAMPS = re.compile(r"\s*(created|last_updated)_timestamp \{[^}]*\}")


def registry(project: Project) -> dict[str, list[str]]:
    """Each kind of registered object, by name, as its proto without Feast's own timestamps."""
    store = feast_repo.feature_store(project)

    def text(objects) -> list[str]:
        out = []
        for obj in sorted(objects, key=lambda o: o.name):
            proto = obj.to_proto()
            proto.ClearField("meta")
            out.append(STAMPS.sub("", str(proto)))  # nested objects carry their own times too
        return out

    return {
        "entities": text(store.list_entities()),
        "views": text(store.list_feature_views()),
        "sources": text(store.list_data_sources()),
        "services": text(store.list_feature_services()),
    }


@pytest.mark.slow
def test_featurelock_apply_registers_what_plain_feast_apply_does(tmp_path, monkeypatch):
    root = init_project(tmp_path / "shop")
    ours, theirs = Project(root, tmp_path / "ours"), Project(root, tmp_path / "theirs")
    definitions = root / "feature_repo" / "definitions.py"  # leaves a mark when it is imported
    definitions.write_text(definitions.read_text() + 'Path(__file__).with_name("imported").touch()\n')
    mark = root / "feature_repo" / "imported"
    monkeypatch.setenv("FEATURELOCK_PROFILE", "staging")  # not a profile: never read by featurelock apply
    before = {k: v for k, v in os.environ.items() if k.startswith("FEATURELOCK")}
    registration.apply(ours)
    assert {k: v for k, v in os.environ.items() if k.startswith("FEATURELOCK")} == before
    assert not mark.exists()  # Feast never imported definitions.py: nothing went through it
    env = {k: v for k, v in os.environ.items() if k != "FEATURELOCK_PROFILE"}
    env["FEATURELOCK_HOME"] = str(theirs.home)  # plain feast: the user's own settings
    done = subprocess.run(
        [str(BIN / "feast"), "apply"], cwd=root / "feature_repo", env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert mark.exists()  # plain feast does import it
    found = registry(ours)
    assert found == registry(theirs)
    assert len(found["views"]) == 1 and len(found["services"]) == 1 and found["entities"]


def test_other_feast_code_in_the_repo_is_refused_before_anything_is_registered(tmp_path):
    """featurelock hands Feast only what it generates; Feast would delete the rest from the
    registry, so a file of other Feast code is refused, naming it, before anything is applied."""
    from featurelock.core.errors import DefinitionError

    root = init_project(tmp_path / "shop")
    (root / "feature_repo" / "extra.py").write_text("from feast import Entity\nthing = Entity(name='x')\n")
    project = Project(root, tmp_path / "home")
    with pytest.raises(DefinitionError, match=r"holds Python files besides definitions.py: \['extra.py'\]"):
        registration.apply(project)
    assert (
        not (project.home / "registry.db").exists()
        and not (project.home / "applied-fingerprints.json").exists()
    )
