"""features.lock: the fingerprint of every registered feature and population version, and its enforcement.

Format (sorted by name, then version; one entry per line; ``#`` starts a comment)::

    visits_7d@v1 sha256:<hex>

A locked entry is never rewritten or removed. ``check_lock`` refuses a locked version whose
fingerprint changed, a locked version whose module disappeared, and an unlocked version.
``add_new_versions`` (``featurelock lock``) appends entries for new versions only, after a trial
run of each (``featurelock.features.trial``): a version whose SQL does not run is not locked; it
first checks the file's own git history (``lock_history``): entries only added or deprecated.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from featurelock.core.atomic import write_text_atomic
from featurelock.core.errors import DefinitionError, LockError
from featurelock.features.catalog import Catalog, check_views, discover, ref_sort_key
from featurelock.features.lock_history import check_lock_history
from featurelock.features.project import Project
from featurelock.features.trial import trial_run

HEADER = (
    "# features.lock: fingerprints of the registered feature versions (written by `featurelock lock`).\n"
    "# A locked version is immutable: never edit or delete an entry; change a feature by adding\n"
    "# a new module <name>_v<N+1>.py, then run `featurelock lock`.\n"
)


@dataclass(frozen=True)
class LockEntry:
    ref: str
    fingerprint: str
    deprecated: bool = False


def read_lock(path: Path) -> dict[str, LockEntry]:
    if not path.exists():
        return {}
    entries: dict[str, LockEntry] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        parts = text.split()
        if len(parts) not in (2, 3) or "@v" not in parts[0] or not parts[1].startswith("sha256:"):
            raise DefinitionError(
                f"{path}:{number}: cannot read {line!r}; expected '<name>@v<N> sha256:<hex> [deprecated]'."
            )
        if parts[0] in entries:
            raise DefinitionError(f"{path}:{number}: {parts[0]} is locked twice.")
        entries[parts[0]] = LockEntry(parts[0], parts[1], len(parts) == 3 and parts[2] == "deprecated")
    return entries


def render_lock(entries: dict[str, LockEntry]) -> str:
    lines = [
        f"{e.ref} {e.fingerprint}" + (" deprecated" if e.deprecated else "")
        for e in (entries[r] for r in sorted(entries, key=ref_sort_key))
    ]
    return HEADER + "".join(line + "\n" for line in lines)


def _next_version(catalog_refs: list[str], locked: dict[str, LockEntry], ref: str) -> str:
    name = ref.split("@v")[0]
    versions = [ref_sort_key(r)[1] for r in (*catalog_refs, *locked) if r.split("@v")[0] == name]
    return f"{name}_v{max(versions) + 1}"


@dataclass(frozen=True)
class Violation:
    """One breach of the immutability rule: which version, what kind, and the message saying the fix.
    ``kind``: ``gone`` (locked, module deleted), ``changed`` (locked, fingerprint moved), ``new``
    (not locked yet), ``applied`` (applied here with another fingerprint: a hand-edited entry)."""

    ref: str
    kind: str
    message: str

    def __str__(self) -> str:
        return self.message


def lock_violations(catalog: Catalog, locked: dict[str, LockEntry]) -> list[Violation]:
    """Every violation of the immutability rule, in ref order."""
    current = catalog.fingerprints()
    problems: list[Violation] = []
    refs = list(current)
    for ref in sorted(set(current) | set(locked), key=ref_sort_key):
        if ref in locked and ref not in current:
            problems.append(
                Violation(
                    ref,
                    "gone",
                    f"{ref} is locked but its module is gone. A locked version is never deleted: restore "
                    f"{ref.replace('@v', '_v')}.py (deprecate it instead of removing it).",
                )
            )
        elif ref in locked and locked[ref].fingerprint != current[ref]:
            module = catalog.specs[ref].module if ref in catalog.specs else catalog.populations[ref].module
            problems.append(
                Violation(
                    ref,
                    "changed",
                    f"{ref} changed after it was locked (locked {locked[ref].fingerprint}, now "
                    f"{current[ref]}). Revert {module} and add `{_next_version(refs, locked, ref)}` "
                    "with the new definition, then run `featurelock lock`.",
                )
            )
        elif ref not in locked:
            problems.append(
                Violation(
                    ref,
                    "new",
                    f"{ref} is not in features.lock (fingerprint {current[ref]}). Run `featurelock lock` "
                    "to register the new version.",
                )
            )
    return problems


APPLIED = "applied-fingerprints.json"  # in the data directory: every version ever applied there


def applied_fingerprints(home: Path) -> dict[str, str]:
    """ref -> fingerprint of every version applied in the data directory ``home`` (empty if none)."""
    import json

    try:
        data = json.loads((home / APPLIED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def remember_applied(project: Project, catalog: Catalog) -> None:
    """Add the catalog's fingerprints to the data directory's memory of applied versions."""
    import json

    known = applied_fingerprints(project.home)
    known.update(catalog.fingerprints())
    write_text_atomic(project.home / APPLIED, json.dumps(dict(sorted(known.items())), indent=2) + "\n")


def applied_violations(catalog: Catalog, home: Path) -> list[Violation]:
    """Versions whose fingerprint differs from the one applied in ``home``: a lock entry edited by
    hand (module changed, new fingerprint pasted) passes the file check, not this memory."""
    applied = applied_fingerprints(home)
    current = catalog.fingerprints()
    return [
        Violation(
            ref,
            "applied",
            f"{ref} was applied in {home} with {applied[ref]}; it is now {current[ref]} and features.lock "
            f"was edited to match: restore the module and its lock entry, and add {_successor(ref)} for "
            "the change",
        )
        for ref in sorted(set(applied) & set(current), key=ref_sort_key)
        if applied[ref] != current[ref]
    ]


def _successor(ref: str) -> str:
    """The module name of the version after ``ref`` (``name@v1`` -> ``name_v2``)."""
    name, version = ref.split("@v")
    return f"{name}_v{int(version) + 1}"


def check_lock(project: Project, catalog: Catalog | None = None) -> Catalog:
    """Refuse any change to a locked version; return the catalog when all is locked and intact.

    Three memories are read: the lock file against the modules, the lock file's own history (git,
    ``lock_history``), and the versions applied in the data directory (``applied_violations``),
    so a hand-edited lock entry is refused with or without git."""
    catalog = catalog or discover(project)
    problems = lock_violations(catalog, read_lock(project.lock_file))
    if not problems:
        problems = applied_violations(catalog, project.home)
    if not problems:
        check_lock_history_cached(project.lock_file)
    if problems:
        raise LockError(
            f"features.lock refuses {len(problems)} feature version(s):\n  - "
            + "\n  - ".join(p.message for p in problems)
        )
    check_views(catalog)  # after the lock: an edited locked version is named as such first
    return catalog


_HISTORY_CHECKED: set[tuple[str, str, str]] = set()


def check_lock_history_cached(path: Path) -> None:
    """``check_lock_history`` once per (lock file, its content, the commit checked out) in a process."""
    import hashlib

    from featurelock.features.lock_history import head_commit

    content = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""
    token = (str(path.resolve()), content, head_commit(path.parent) or "")
    if token not in _HISTORY_CHECKED:
        check_lock_history(path)
        _HISTORY_CHECKED.add(token)


def add_new_versions(project: Project, catalog: Catalog | None = None) -> list[str]:
    """Lock every unlocked version; never rewrite an entry. Returns the refs added."""
    catalog = catalog or discover(project)
    path = project.lock_file
    check_lock_history(path)  # the file itself only ever grew (git history, then the working tree)
    locked = read_lock(path)
    broken = [p.message for p in lock_violations(catalog, locked) if p.kind != "new"]
    if broken:
        raise LockError(
            "featurelock lock only adds new versions; fix these first:\n  - " + "\n  - ".join(broken)
        )
    current = catalog.fingerprints()
    added = [ref for ref in current if ref not in locked]
    if added:
        check_views(catalog)
        trial_run(catalog, added)
        merged = dict(locked)
        merged.update({ref: LockEntry(ref, current[ref]) for ref in added})
        write_text_atomic(path, render_lock(merged))
    return added


def deprecate(project: Project, ref: str) -> LockEntry:
    """Mark a locked version deprecated: the one change a lock entry may receive.

    The version stays locked, servable and reproducible; the marker tells people not to build new
    services on it. Deprecating twice is a no-op.
    """
    path = project.lock_file
    locked = read_lock(path)
    if ref not in locked:
        raise LockError(
            f"ref={ref!r} is not in features.lock; only a locked version can be deprecated. "
            f"Locked versions: {sorted(locked, key=ref_sort_key)}."
        )
    if not locked[ref].deprecated:
        locked[ref] = LockEntry(ref, locked[ref].fingerprint, deprecated=True)
        write_text_atomic(path, render_lock(locked))
    return locked[ref]


def run_refs(runs_dir: Path) -> dict[str, str]:
    """ref -> the first run (by name) whose training set used it: features, request features and
    population, as each run's ``run.json`` recorded them. Unreadable records are skipped here (the
    run commands name them)."""
    import json

    used: dict[str, str] = {}
    for record_path in sorted(runs_dir.glob("*/run.json")) if runs_dir.is_dir() else []:
        try:
            inputs = json.loads(record_path.read_text(encoding="utf-8"))["dataset"]["inputs"]
            definitions = inputs["feature definitions"]
            listed = [
                *definitions["features"],
                *definitions["request_features"],
                *definitions.get("lookups", []),
            ]
            refs = [f["ref"] for f in listed]
            refs.append(inputs["population"]["definition"]["ref"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        for ref in refs:
            used.setdefault(str(ref), record_path.parent.name)
    return used


def published(project: Project, ref: str) -> str | None:
    """Why ``ref`` is published (committed, applied or used by a run), or None if it never was."""
    from featurelock.features.lock_history import lock_history

    for version in lock_history(project.lock_file):
        if version.commit != "working tree" and ref in version.entries:
            return f"it is committed in features.lock ({version.summary})"
    if ref in applied_fingerprints(project.home):
        return f"it was applied in the data directory {project.home} (feast apply)"
    run = run_refs(project.runs_dir).get(ref)
    if run is not None:
        return f"run {run} was trained on it"
    return None


def drop_versions(project: Project, refs: list[str]) -> list[str]:
    """Take locked versions that were never published out of ``features.lock`` (all or none).

    For a newcomer replacing a sample: a version that was committed, applied or used by a run is
    published and stays locked forever (deprecate it instead). The modules are left in place; the
    caller says to delete them. Returns the refs dropped, in ref order."""
    path = project.lock_file
    locked = read_lock(path)
    unknown = [r for r in refs if r not in locked]
    if unknown:
        raise LockError(
            f"--drop {unknown[0]!r} is not in features.lock; locked versions: "
            f"{sorted(locked, key=ref_sort_key)}."
        )
    for ref in sorted(set(refs), key=ref_sort_key):
        reason = published(project, ref)
        if reason is not None:
            raise LockError(
                f"--drop {ref!r} refused: {reason}, so it is published and stays locked (nothing was "
                f"changed). Deprecate it (`featurelock deprecate {ref}`) and add a new version instead."
            )
    kept = {r: e for r, e in locked.items() if r not in refs}
    write_text_atomic(path, render_lock(kept))
    return sorted(set(refs), key=ref_sort_key)
