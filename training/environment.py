"""What the environment contributes to a result: library versions and lock-file hashes."""

from __future__ import annotations

import hashlib
import platform
from importlib import metadata

from features.paths import LOCK_FILE, REPO_ROOT

PACKAGES = ("feast", "duckdb", "pandas", "pyarrow", "numpy", "scikit-learn", "skops")
DEPENDENCY_LOCK = REPO_ROOT / "requirements.lock"


def file_sha256(path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "missing"


def environment() -> dict[str, object]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "python": platform.python_version(),
        "packages": versions,
        "requirements_lock_sha256": file_sha256(DEPENDENCY_LOCK),
    }


def features_lock_sha256() -> str:
    return file_sha256(LOCK_FILE)
