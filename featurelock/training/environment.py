"""What the environment contributes to a result: library versions and lock-file hashes."""

from __future__ import annotations

import hashlib
import platform
from importlib import metadata
from pathlib import Path

PACKAGES = ("featurelock", "feast", "duckdb", "pandas", "pyarrow", "numpy", "scikit-learn", "skops")
DEPENDENCY_LOCK = "requirements.lock"


def file_sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "missing"


def dependency_lock(root: Path) -> Path:
    """The nearest ``requirements.lock`` at or above the project root (a project inside a repository
    shares the repository's lock); ``<root>/requirements.lock`` if there is none."""
    for folder in (root, *root.parents):
        if (folder / DEPENDENCY_LOCK).exists():
            return folder / DEPENDENCY_LOCK
    return root / DEPENDENCY_LOCK


def environment(root: Path) -> dict[str, object]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "python": platform.python_version(),
        "packages": versions,
        "requirements_lock_sha256": file_sha256(dependency_lock(root)),
    }
