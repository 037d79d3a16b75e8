"""Discover the feature versions: ``features/<entity>/<name>_v<N>.py``, one function each.

Discovery walks the folders in sorted order and reads only the feature modules (and the
view/entity declarations they refer to): it is what the lock check runs at import time.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from features.entities import ENTITIES
from features.errors import DefinitionError, NotFoundError
from features.fingerprint import fingerprint
from features.paths import FEATURES_PACKAGE
from features.spec import FeatureSpec, parse_column
from features.views import VIEWS, ViewSpec


@dataclass(frozen=True)
class Catalog:
    """Every feature version in the repository, keyed by ref (``name@vN``), in sorted order."""

    specs: dict[str, FeatureSpec]
    sources: dict[str, str]

    def spec(self, ref: str) -> FeatureSpec:
        if ref not in self.specs:
            raise NotFoundError(f"Unknown feature version {ref!r}; known versions: {sorted(self.specs)}.")
        return self.specs[ref]

    def by_column(self, column: str) -> FeatureSpec:
        name, version = parse_column(column)
        return self.spec(f"{name}@v{version}")

    def view_features(self, view: str) -> list[FeatureSpec]:
        return [s for s in self.specs.values() if s.view == view]

    def views(self) -> list[ViewSpec]:
        names = sorted({s.view for s in self.specs.values() if s.view is not None})
        return [VIEWS[n] for n in names]

    def fingerprints(self) -> dict[str, str]:
        """Fingerprint of every version; a version that reads others includes theirs."""
        done: dict[str, str] = {}

        def visit(ref: str, path: tuple[str, ...]) -> str:
            if ref in done:
                return done[ref]
            if ref in path:
                raise DefinitionError(
                    f"Feature versions read each other in a cycle: {' -> '.join((*path, ref))}."
                )
            spec = self.spec(ref)
            reads = {r: visit(r, (*path, ref)) for r in spec.reads}
            grid = VIEWS[spec.view].grid_sql if spec.view else None
            done[ref] = fingerprint(spec, self.sources[ref], grid, reads)
            return done[ref]

        for ref in self.specs:
            visit(ref, ())
        return {ref: done[ref] for ref in sorted(done)}


def ref_sort_key(ref: str) -> tuple[str, int]:
    name, _, version = ref.partition("@v")
    return name, int(version)


def _check_spec(spec: FeatureSpec, folder: str, path: Path) -> None:
    if spec.entity != folder:
        raise DefinitionError(
            f"{path}: declares entity={spec.entity!r} but lives in features/{folder}/; "
            f"move it to features/{spec.entity}/ or fix the entity."
        )
    if spec.entity not in ENTITIES:
        raise DefinitionError(
            f"{path}: entity={spec.entity!r} is unknown; expected one of {sorted(ENTITIES)}."
        )
    if spec.kind == "sql":
        if spec.view not in VIEWS:
            raise DefinitionError(f"{path}: view={spec.view!r} is unknown; expected one of {sorted(VIEWS)}.")
        if VIEWS[spec.view].entity != spec.entity:
            raise DefinitionError(
                f"{path}: view {spec.view!r} belongs to entity {VIEWS[spec.view].entity!r}, "
                f"not {spec.entity!r}."
            )


def discover(package_dir: Path = FEATURES_PACKAGE, package: str = "features") -> Catalog:
    """Import every ``<entity>/<name>_v<N>.py`` under ``package_dir`` and collect its spec."""
    specs: dict[str, FeatureSpec] = {}
    sources: dict[str, str] = {}
    for path in sorted(package_dir.glob("*/*_v*.py")):
        folder = path.parent.name
        stem = path.stem
        parse_column(stem)
        module = importlib.import_module(f"{package}.{folder}.{stem}")
        function = getattr(module, stem, None)
        spec = getattr(function, "__feature__", None)
        if not isinstance(spec, FeatureSpec):
            raise DefinitionError(
                f"{path}: expected a function {stem}() decorated with @sql_feature or @request_feature."
            )
        others = sorted(
            n
            for n, v in vars(module).items()
            if isinstance(getattr(v, "__feature__", None), FeatureSpec) and n != stem
        )
        if others:
            raise DefinitionError(
                f"{path}: one feature per module; also found {others}. Give each its own module."
            )
        _check_spec(spec, folder, path)
        specs[spec.ref] = spec
        sources[spec.ref] = path.read_text(encoding="utf-8")
    for view in {s.view for s in specs.values() if s.view}:
        ttls = sorted({s.ttl for s in specs.values() if s.view == view})
        if len(ttls) > 1:
            raise DefinitionError(
                f"View {view!r} mixes ttls {[str(t) for t in ttls]}; Feast applies one ttl per view. "
                "Use the view's ttl, or put the feature in a view of its own."
            )
    order = sorted(specs, key=ref_sort_key)
    return Catalog({r: specs[r] for r in order}, {r: sources[r] for r in order})
