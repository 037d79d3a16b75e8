"""Every private Feast name featurelock relies on exists in the Feast the lock pins, and is used
only through the one adapter module."""

from __future__ import annotations

import importlib
import re
from importlib import metadata

import pytest

from featurelock.stores import feast_private
from tests.conftest import REPO_ROOT


def test_adapter_is_pinned_to_the_feast_in_the_lock():
    lock = (REPO_ROOT / "requirements.lock").read_text()
    pinned = re.search(r"^feast(?:\[[^\]]*\])?==([0-9.]+)", lock, re.MULTILINE).group(1)
    assert feast_private.FEAST_VERSION == pinned == metadata.version("feast")


@pytest.mark.parametrize(("module", "name"), feast_private.PRIVATE_NAMES)
def test_private_name_exists(module, name):
    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    assert callable(obj)


def test_no_private_feast_import_outside_the_adapter():
    offenders = []
    for path in sorted((REPO_ROOT / "featurelock").rglob("*.py")):
        if path.name == "feast_private.py":
            continue
        text = path.read_text()
        if re.search(r"from feast[\w.]* import [^\n]*\b_[a-z]", text) or "._get_provider" in text:
            offenders.append(str(path.relative_to(REPO_ROOT)))
    assert offenders == []
