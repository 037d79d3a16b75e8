"""The reference a newcomer reads (issue 21, item 4): every public name documents each of its
parameters (numpydoc), and every repository path the README and docs/ cite exists."""

from __future__ import annotations

import dataclasses
import inspect
import re

import pytest

import featurelock
import featurelock.api as api
from tests.conftest import REPO_ROOT


def public_names() -> list[tuple[str, object]]:
    names = [(n, getattr(featurelock, n)) for n in featurelock.__all__ if n != "__version__"]
    names += [
        (f"api.{n}", getattr(api, n)) for n in sorted(api.__all__) if inspect.isfunction(getattr(api, n))
    ]
    return names


def parameters_of(obj: object) -> list[str]:
    if dataclasses.is_dataclass(obj):
        return [f.name for f in dataclasses.fields(obj)]
    signature = inspect.signature(obj)  # type: ignore[arg-type]
    return [p.name for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]


def documented(doc: str) -> set[str]:
    """Names listed in the docstring's Parameters section (``a, b : type`` documents both)."""
    section = doc.split("Parameters\n----------\n", 1)[1]
    section = re.split(r"\n\n[A-Z][a-z]+\n-+\n", section, maxsplit=1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        match = re.match(r"^(\w[\w, ]*) :", line)
        if match:
            names |= {n.strip() for n in match.group(1).split(",")}
    return names


@pytest.mark.parametrize(("name", "obj"), public_names(), ids=[n for n, _ in public_names()])
def test_every_public_name_documents_each_parameter(name, obj):
    doc = inspect.getdoc(obj) or ""
    assert "Parameters\n----------\n" in doc, f"{name} has no Parameters section"
    assert set(parameters_of(obj)) - documented(doc) == set(), f"{name} leaves parameters undocumented"


def test_the_parameter_reader_sees_joined_names():
    doc = "X.\n\nParameters\n----------\nmodel, baseline : str\n    Specs.\nseed : int\n    A seed.\n"
    assert documented(doc) == {"model", "baseline", "seed"}


CITED = re.compile(r"(?<![\w/.-])((?:featurelock|docs|tests|benchmarks|examples|features|training|serving|"
                   r"core|data|stores|feature_repo|notebooks)/[\w./<>-]*\w)")  # fmt: skip
#: Paths the docs name that are not files of the repository: generated data, and the copy the
#: "adding a feature version" walkthrough has the reader make.
NOT_FILES = {"feature_repo/data", "features/carrier/carrier_delayed_share_24h_v2.py"}


def test_every_path_the_readme_and_docs_cite_exists():
    documents = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
    missing = []
    for document in documents:
        text = document.read_text(encoding="utf-8")
        for cited in sorted(set(CITED.findall(text))):
            module = cited.rsplit(".", 1)[0] + ".py"  # `data/batches.timeline`: a function of a module
            here = [
                base / c
                for base in (document.parent, REPO_ROOT, REPO_ROOT / "featurelock")
                for c in (cited, module)
            ]
            if not any(p.exists() for p in here) and "<" not in cited and cited not in NOT_FILES:
                missing.append(f"{document.name}: {cited}")
    assert missing == []


DOTTED = re.compile(r"(?<![\w.])featurelock(?:\.[A-Za-z_]\w*)+")
#: Dotted names the docs give that are not modules: MLflow tags featurelock writes.
NOT_MODULES = {"featurelock.run_id"}


def resolves(dotted: str) -> bool:
    """A module of the engine, or a name inside one (``featurelock.core.errors.LockError``)."""
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


def test_every_module_the_readme_and_docs_cite_exists():
    """Issue 23, item 6: a doc that names a module or a name of the engine names one that exists
    (``featurelock.pipeline`` was cited after it was gone)."""
    documents = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
    missing = [
        f"{document.name}: {dotted}"
        for document in documents
        for dotted in sorted(set(DOTTED.findall(document.read_text(encoding="utf-8"))) - NOT_MODULES)
        if not resolves(dotted)
    ]
    assert missing == []


def test_the_module_reader_tells_a_gone_module_from_a_name():
    assert resolves("featurelock.core.errors.LockError") and resolves("featurelock.api")
    assert not resolves("featurelock.pipeline") and not resolves("featurelock.core.errors.Nope")
