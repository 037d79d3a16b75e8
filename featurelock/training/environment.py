"""What the environment contributes to a result: library versions and lock-file hashes."""

from __future__ import annotations

import functools
import hashlib
import platform
from importlib import metadata
from pathlib import Path

from featurelock.core.hashing import file_sha256
from featurelock.core.version import __version__

PACKAGES = ("featurelock", "feast", "duckdb", "pandas", "pyarrow", "numpy", "scikit-learn", "skops")
DEPENDENCY_LOCK = "requirements.lock"


def dependency_lock(root: Path) -> Path:
    """The nearest ``requirements.lock`` at or above the project root (a project inside a repository
    shares the repository's lock); ``<root>/requirements.lock`` if there is none."""
    for folder in (root, *root.parents):
        if (folder / DEPENDENCY_LOCK).exists():
            return folder / DEPENDENCY_LOCK
    return root / DEPENDENCY_LOCK


ENGINE_PACKAGE = Path(__file__).resolve().parents[1]


def source_sha256(package: Path) -> str:
    """SHA-256 over a package's files (relative path and bytes, in sorted path order)."""
    digest = hashlib.sha256()
    files = [p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    for path in sorted(files, key=lambda p: p.relative_to(package).as_posix()):
        digest.update(f"{path.relative_to(package).as_posix()}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return "sha256:" + digest.hexdigest()


@functools.cache
def engine_source_sha256() -> str:
    """The engine's own source hash (computed once per process). An edit of the engine (say, the
    join's ttl comparison) changes it, so ``verify`` and ``reproduce`` name ``environment``."""
    return source_sha256(ENGINE_PACKAGE)


@functools.cache
def installed_distributions() -> tuple[str, ...]:
    """Every distribution installed in this Python, as ``name==version`` (names normalized as pip
    does), sorted as text; one per name (the first found on ``sys.path``, the one Python imports)."""
    import re

    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata.get("Name")
        if name:
            found.setdefault(re.sub(r"[-_.]+", "-", name).lower(), str(dist.version))
    return tuple(sorted(f"{name}=={version}" for name, version in found.items()))


def environment(root: Path) -> dict[str, object]:
    """What a result depends on beside its data: the engine, Python, the main packages and the
    dependency lock's hash; without a lock file, every installed distribution (sorted, hashed), so
    a user's run is pinned in its record all the same."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    lock = dependency_lock(root)
    found: dict[str, object] = {
        "engine": {"version": __version__, "source_sha256": engine_source_sha256()},
        "python": platform.python_version(),
        "packages": versions,
        "requirements_lock_sha256": file_sha256(lock),
    }
    if not lock.exists():
        listed = installed_distributions()
        digest = hashlib.sha256("".join(line + "\n" for line in listed).encode()).hexdigest()
        found["installed"] = {"sha256": f"sha256:{digest}", "distributions": list(listed)}
    return found
