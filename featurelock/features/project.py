"""A project: the directory of declarations the engine is pointed at, and its data directory.

Found from an explicit path, else ``FEATURELOCK_PROJECT``, else the working directory and its
parents (the first holding ``feature_repo/feature_store.yaml``), as git and dbt find theirs; never
from where the engine is installed. Its modules are loaded by path under a name private to the
project, so two projects load side by side in one process.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from featurelock.core.errors import DefinitionError, NotFoundError, ValidationError
from featurelock.core.home import data_home_of
from featurelock.data.schema import Source
from featurelock.features.declare import (
    Categorical,
    Entity,
    Examples,
    JoinKey,
    RequestInput,
    Segment,
    Service,
    View,
)

MARKER = Path("feature_repo") / "feature_store.yaml"
DECLARATION_FOLDERS = ("features", "training", "serving")
T = TypeVar("T")


def find_project_root(start: str | Path | None = None) -> Path:
    """The project root: ``start`` if given, else ``$FEATURELOCK_PROJECT``, else the working
    directory or its nearest parent holding ``feature_repo/feature_store.yaml``."""
    explicit = start if start is not None else os.environ.get("FEATURELOCK_PROJECT")
    if explicit:
        root = Path(explicit).expanduser().resolve()
        if not (root / MARKER).exists():
            raise NotFoundError(
                f"project={str(explicit)!r} is not a featurelock project: {root / MARKER} does not exist. "
                "Point --project (or FEATURELOCK_PROJECT) at a directory made by `featurelock init`."
            )
        return root
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / MARKER).exists():
            return folder
    raise NotFoundError(
        f"No featurelock project in {here} or its parents (none holds {MARKER}). Run inside a project, "
        "pass --project DIR, set FEATURELOCK_PROJECT, or create one with `featurelock init DIR`."
    )


def _module_name(root: Path, path: Path) -> str:
    tag = hashlib.sha256(str(root).encode()).hexdigest()[:10]
    parts = path.relative_to(root).with_suffix("").parts
    return f"_featurelock_project_{tag}." + ".".join(parts)


def load_module(root: Path, path: Path) -> ModuleType:
    """Execute the project file ``path`` as a module private to this project (fresh every call)."""
    name = _module_name(root, path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise DefinitionError(f"{path}: cannot be loaded as a Python module.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except DefinitionError:
        raise
    except Exception as exc:
        sys.modules.pop(name, None)
        raise DefinitionError(
            f"{path.relative_to(root)}: importing it failed: {type(exc).__name__}: {exc}"
        ) from exc
    return module


class Project:
    """A project directory and its data directory; declarations load lazily, once per instance."""

    def __init__(self, root: str | Path, home: str | Path | None = None) -> None:
        self.root = Path(root).resolve()
        self.home = Path(home).resolve() if home is not None else data_home_of(self.feature_repo)
        if self.home.exists() and not self.home.is_dir():
            raise ValidationError(
                f"The data directory {str(self.home)!r} (FEATURELOCK_HOME, or <project>/feature_repo/data) "
                "is a file, not a directory; point FEATURELOCK_HOME at a directory (it is made if missing)."
            )

    def __repr__(self) -> str:
        return f"Project(root={str(self.root)!r}, home={str(self.home)!r})"

    @staticmethod
    def find(start: str | Path | None = None, home: str | Path | None = None) -> Project:
        return Project(find_project_root(start), home)

    # -- paths ---------------------------------------------------------------------------------
    @property
    def feature_repo(self) -> Path:
        return self.root / "feature_repo"

    @property
    def lock_file(self) -> Path:
        return self.root / "features.lock"

    @property
    def features_dir(self) -> Path:
        return self.root / "features"

    @property
    def training_dir(self) -> Path:
        return self.root / "training"

    @property
    def raw_dir(self) -> Path:
        return self.home / "raw"

    @property
    def feature_tables_dir(self) -> Path:
        return self.home / "features"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def name(self) -> str:
        return self.root.name

    # -- declarations --------------------------------------------------------------------------
    def module_files(self) -> list[Path]:
        """The project's declaration modules (not versioned ones), in sorted order."""
        files: list[Path] = []
        for folder in DECLARATION_FOLDERS:
            base = self.root / folder
            if base.is_dir():
                files += [p for p in sorted(base.glob("*.py")) if not _versioned(p)]
        return files

    @cached_property
    def _objects(self) -> list[tuple[Path, str, Any]]:
        out = []
        for path in self.module_files():
            module = load_module(self.root, path)
            for attr in sorted(vars(module)):
                value = getattr(module, attr)
                out.append((path, attr, getattr(value, "__featurelock__", value)))
        return out

    def declared(self, kind: type[T]) -> dict[str, T]:
        """Every declared object of ``kind`` (by its ``name``, or its attribute name), sorted by name.
        The same name declared twice (with different values) is an error."""
        found: dict[str, T] = {}
        where: dict[str, Path] = {}
        for path, attr, value in self._objects:
            if not isinstance(value, kind) or isinstance(value, type):
                continue
            name = str(getattr(value, "name", attr))
            if name in found and found[name] != value:
                raise DefinitionError(
                    f"{kind.__name__} {name!r} is declared twice: in {where[name].relative_to(self.root)} "
                    f"and {path.relative_to(self.root)}; give each a unique name."
                )
            found[name], where[name] = value, path
        return {n: found[n] for n in sorted(found)}

    @cached_property
    def sources(self) -> dict[str, Source]:
        return self.declared(Source)

    @cached_property
    def join_keys(self) -> dict[str, JoinKey]:
        return self.declared(JoinKey)

    @cached_property
    def entities(self) -> dict[str, Entity]:
        entities = self.declared(Entity)
        for e in entities.values():
            unknown = [k for k in e.join_keys if k not in self.join_keys]
            if unknown:
                raise DefinitionError(
                    f"Entity {e.name!r} names join key(s) {unknown} that are not declared; declare "
                    f"JoinKey(...) for each. Declared: {sorted(self.join_keys)}."
                )
        return entities

    @cached_property
    def views(self) -> dict[str, View]:
        return self.declared(View)

    @cached_property
    def request_inputs(self) -> dict[str, RequestInput]:
        return self.declared(RequestInput)

    @cached_property
    def services(self) -> dict[str, Service]:
        return self.declared(Service)

    @cached_property
    def segments(self) -> dict[str, Segment]:
        return self.declared(Segment)

    @cached_property
    def categorical(self) -> dict[str, str]:
        """Ref -> encoding, for every ref a ``Categorical`` declaration names."""
        return {ref: c.encoding for c in self.declared(Categorical).values() for ref in c.refs}

    @cached_property
    def examples(self) -> Examples:
        found = list(self.declared(Examples).values())
        if len(found) != 1:
            raise DefinitionError(
                f"The project declares {len(found)} Examples objects; declare exactly one in serving/ "
                "(real requests for the API documentation, /health and the demo)."
            )
        return found[0]

    def view_join_keys(self, view: str) -> tuple[str, ...]:
        return self.entities[self.views[view].entity].join_keys

    def service(self, name: str) -> Service:
        if name not in self.services:
            raise NotFoundError(
                f"service={name!r} is not a feature service of project {self.name!r}; "
                f"expected one of {sorted(self.services)}."
            )
        return self.services[name]

    def source(self, name: str) -> Source:
        if name not in self.sources:
            raise NotFoundError(f"table={name!r} is not a raw table; expected one of {sorted(self.sources)}.")
        return self.sources[name]


def _versioned(path: Path) -> bool:
    stem = path.stem
    head, _, tail = stem.rpartition("_v")
    return bool(head) and tail.isdigit()
