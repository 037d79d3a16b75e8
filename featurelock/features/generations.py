"""Feature-table generations: every table of one build becomes visible together, or none does.

A build writes all its tables into a hidden folder beside the generations, names the folder by
its content (``g-<sha256 of the tables' bytes>``), and then switches one symbolic link,
``<data home>/features``, to it with a single rename. Readers open ``features/<view>.parquet``
through the link (Feast's ``FileSource`` paths included), so they see the previous generation
or the new one, never a mix; a killed build leaves only a hidden folder, removed by the next
build. The two generations before the current one are kept for readers still holding them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from featurelock.core.errors import DefinitionError
from featurelock.core.hashing import file_sha256

GENERATIONS_DIR = "feature_generations"
KEEP = 3  # the current generation and the two before it


def generations_root(link: Path) -> Path:
    return link.parent / GENERATIONS_DIR


def current_generation(link: Path) -> str | None:
    """Name of the generation ``link`` points to; None before the first build.

    A real folder at ``link`` (the layout before generations) is reported as ``"unversioned"``.
    """
    if link.is_symlink():
        return Path(os.readlink(link)).name
    return "unversioned" if link.is_dir() else None


def _content_name(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.parquet")):
        digest.update(f"{path.name}\0{file_sha256(path)}\n".encode())
    return "g-" + digest.hexdigest()[:16]


def _switch(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` with one rename (a reader sees the old link or the new one)."""
    tmp = link.parent / f".tmp-link-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    os.symlink(os.path.relpath(target, link.parent), tmp)
    if link.exists() and not link.is_symlink():  # the layout before generations: move it aside
        os.replace(link, generations_root(link) / f"unversioned-{os.getpid()}")
    os.replace(tmp, link)
    fd = os.open(link.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(link: Path) -> None:
    root = generations_root(link)
    current = current_generation(link)
    for stale in sorted(root.glob(".building-*")):
        shutil.rmtree(stale, ignore_errors=True)
    done = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name != current]
    done.sort(key=lambda p: (p.stat().st_mtime_ns, p.name), reverse=True)
    for old in done[KEEP - 1 :]:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def new_generation(link: Path) -> Iterator[Path]:
    """Yield an empty folder for a build's tables; on success make it the current generation.

    On any error (or a kill) the current generation is untouched and the folder is discarded.
    """
    root = generations_root(link)
    root.mkdir(parents=True, exist_ok=True)
    _prune(link)  # leftovers of killed builds
    building = Path(tempfile.mkdtemp(prefix=".building-", dir=root))
    try:
        yield building
        final = root / _content_name(building)
        if final.exists():  # same content as an earlier build: reuse it
            shutil.rmtree(building)
            os.utime(final)
        else:
            os.replace(building, final)
        _switch(link, final)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    _prune(link)


def check_same_generation(link: Path, before: str | None) -> None:
    """Refuse a result computed while a build switched the feature tables under it."""
    after = current_generation(link)
    if after != before:
        raise DefinitionError(
            f"The feature tables changed while they were being read (generation {before} -> {after}): "
            "a `featurelock features build` finished meanwhile. Run the command again."
        )
