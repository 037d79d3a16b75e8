"""The history of ``features.lock``: entries are only ever added or marked deprecated.

``check_lock`` compares the modules with the file as it is now; a hand edit of the file itself (a
rewritten fingerprint, a removed line) would pass it. This module reads the file's committed
versions from git (oldest first), then the working-tree file, and refuses any step that removed
an entry, changed its fingerprint, or took back a ``deprecated`` mark, naming the commit. It runs
in ``featurelock lock``, wherever the lock is checked (once per commit and lock content in a
process), and in the test suite (CI). Outside a git repository there is no history
to check; ``lock_history`` then returns an empty list and says nothing.
"""

from __future__ import annotations

import itertools
import subprocess
from dataclasses import dataclass
from pathlib import Path

from featurelock.core.errors import LockError


@dataclass(frozen=True)
class LockVersion:
    commit: str  # "working tree" for the file on disk
    summary: str  # "<short hash> <date> <subject>"
    entries: dict[str, tuple[str, bool]]  # ref -> (fingerprint, deprecated)


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def head_commit(folder: Path) -> str | None:
    """The commit checked out in ``folder``'s repository (None outside git)."""
    out = _git(folder, "rev-parse", "HEAD")
    return out.strip() if out else None


def parse_entries(text: str) -> dict[str, tuple[str, bool]]:
    entries = {}
    for line in text.splitlines():
        parts = line.split("#", 1)[0].split()
        if len(parts) in (2, 3):
            entries[parts[0]] = (parts[1], len(parts) == 3 and parts[2] == "deprecated")
    return entries


def lock_history(lock: Path) -> list[LockVersion]:
    """Committed versions of ``lock`` (oldest first), then the working-tree file if it differs."""
    folder = lock.parent
    prefix = _git(folder, "rev-parse", "--show-prefix")
    log = _git(folder, "log", "--reverse", "--format=%H%x09%h %cs %s", "--", lock.name)
    if prefix is None or log is None:
        return []
    versions = []
    for line in log.splitlines():
        commit, summary = line.split("\t", 1)
        text = _git(folder, "show", f"{commit}:{prefix.strip()}{lock.name}")
        if text is not None:  # None: the commit deleted the file; the next step compares across it
            versions.append(LockVersion(commit, summary, parse_entries(text)))
    if lock.exists():
        current = parse_entries(lock.read_text(encoding="utf-8"))
        if not versions or current != versions[-1].entries:
            versions.append(LockVersion("working tree", "the working tree (not committed)", current))
    return versions


def history_violations(versions: list[LockVersion]) -> list[str]:
    """Every step of ``versions`` that did more than add entries or mark them deprecated."""
    problems = []
    for before, after in itertools.pairwise(versions):
        for ref in sorted(before.entries):
            fingerprint, deprecated = before.entries[ref]
            now = after.entries.get(ref)
            if now is None:
                change = "removed"
            elif now[0] != fingerprint:
                change = f"rewritten ({fingerprint} -> {now[0]})"
            elif deprecated and not now[1]:
                change = "un-deprecated"
            else:
                continue
            problems.append(f"{ref} was {change} by {after.summary}")
    return problems


def check_lock_history(lock: Path) -> int:
    """Refuse a ``features.lock`` whose history rewrote an entry; return the versions checked."""
    versions = lock_history(lock)
    problems = history_violations(versions)
    if problems:
        raise LockError(
            "features.lock may only gain entries or mark them deprecated; its history breaks that:\n  - "
            + "\n  - ".join(problems)
            + "\nRestore the entries as they were committed (git show <commit>^:features.lock); change a "
            "feature by adding a new version."
        )
    return len(versions)
