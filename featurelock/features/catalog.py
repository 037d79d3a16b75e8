"""Discover the versioned declarations of a project: feature versions and populations.

Feature versions are ``features/<entity>/<name>_v<N>.py`` (one function each); populations are
``training/<name>_v<N>.py``. Discovery walks the folders in sorted order and reads only these
modules (and the project's declarations they refer to): it is what the lock check runs at import.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from featurelock.core.errors import DefinitionError, NotFoundError
from featurelock.features.declare import View
from featurelock.features.fingerprint import fingerprint
from featurelock.features.imports import check_imports
from featurelock.features.population import PopulationSpec, population_fingerprint
from featurelock.features.project import Project, load_module
from featurelock.features.spec import FeatureSpec, check_encoding, parse_column


@dataclass(frozen=True)
class Catalog:
    """Every feature version and population of a project, keyed by ref (``name@vN``), sorted."""

    project: Project
    specs: dict[str, FeatureSpec]
    sources: dict[str, str]
    populations: dict[str, PopulationSpec]
    population_sources: dict[str, str]

    def spec(self, ref: str) -> FeatureSpec:
        if ref not in self.specs:
            raise NotFoundError(f"Unknown feature version {ref!r}; known versions: {sorted(self.specs)}.")
        return self.specs[ref]

    def population(self, ref: str) -> PopulationSpec:
        if ref not in self.populations:
            raise NotFoundError(f"Unknown population {ref!r}; known populations: {sorted(self.populations)}.")
        return self.populations[ref]

    def by_column(self, column: str) -> FeatureSpec:
        name, version = parse_column(column)
        return self.spec(f"{name}@v{version}")

    def view_features(self, view: str) -> list[FeatureSpec]:
        return [s for s in self.specs.values() if s.view == view]

    def views(self) -> list[View]:
        names = sorted({s.view for s in self.specs.values() if s.view is not None})
        return [self.project.views[n] for n in names]

    def categorical(self, ref: str) -> bool:
        return bool(self.encoding(ref))

    def encoding(self, ref: str) -> str:
        """How ``ref`` enters a model: ``"onehot"``, ``"ordinal"`` or ``""`` (a number). A project's
        ``Categorical`` declaration names it, else the feature's own ``categorical=``."""
        declared = self.project.categorical.get(ref)
        return declared or check_encoding(self.spec(ref).categorical, ref)

    def fingerprints(self) -> dict[str, str]:
        """Fingerprint of every version (features and populations); one that reads others includes theirs."""
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
            grid = self.project.views[spec.view].grid_sql if spec.view else None
            done[ref] = fingerprint(spec, self.sources[ref], grid, reads)
            return done[ref]

        for ref in self.specs:
            visit(ref, ())
        for ref, pop in self.populations.items():
            done[ref] = population_fingerprint(pop, self.population_sources[ref])
        return {ref: done[ref] for ref in sorted(done, key=ref_sort_key)}


def check_views(catalog: Catalog) -> None:
    """One ttl per view (Feast applies one). Run after the lock check, so an edited ttl of a locked
    version is reported as the lock's refusal, naming the version, not as a mixed view."""
    for view in catalog.views():
        members = catalog.view_features(view.name)
        ttls = sorted({s.ttl for s in members})
        if len(ttls) > 1:
            by_ttl = {str(t): sorted(s.ref for s in members if s.ttl == t) for t in ttls}
            raise DefinitionError(
                f"View {view.name!r} mixes ttls {by_ttl}; Feast applies one ttl per view. "
                "Give the new version the view's ttl, or put it in a view of its own."
            )


def ref_sort_key(ref: str) -> tuple[str, int]:
    name, _, version = ref.partition("@v")
    return name, int(version)


def _check_spec(project: Project, spec: FeatureSpec, folder: str, path: Path) -> None:
    where = path.relative_to(project.root)
    if spec.entity != folder:
        raise DefinitionError(
            f"{where}: declares entity={spec.entity!r} but lives in features/{folder}/; "
            f"move it to features/{spec.entity}/ or fix the entity."
        )
    if spec.entity not in project.entities:
        raise DefinitionError(
            f"{where}: entity={spec.entity!r} is unknown; expected one of {sorted(project.entities)}."
        )
    if spec.kind == "sql":
        views = project.views
        if spec.view not in views:
            raise DefinitionError(f"{where}: view={spec.view!r} is unknown; expected one of {sorted(views)}.")
        if views[spec.view].entity != spec.entity:
            raise DefinitionError(
                f"{where}: view {spec.view!r} belongs to entity {views[spec.view].entity!r}, "
                f"not {spec.entity!r}."
            )
        if spec.source not in project.sources:
            raise DefinitionError(
                f"{where}: source={spec.source!r} is not a raw table; "
                f"expected one of {sorted(project.sources)}."
            )
    else:
        unknown = [i for i in spec.inputs if i not in project.request_inputs]
        if unknown:
            raise DefinitionError(
                f"{where}: inputs {unknown} are not declared request inputs; declare RequestInput(...) "
                f"for each. Declared: {sorted(project.request_inputs)}."
            )


def _one_declaration(path: Path, module: object, attr: str, kind: type) -> Any:
    stem = path.stem
    value = getattr(getattr(module, stem, None), attr, None)
    if not isinstance(value, kind):
        raise DefinitionError(
            f"{path}: expected a function {stem}() decorated with "
            + ("@sql_feature or @request_feature." if kind is FeatureSpec else "@population.")
        )
    others = sorted(
        n for n, v in vars(module).items() if isinstance(getattr(v, attr, None), kind) and n != stem
    )
    if others:
        raise DefinitionError(f"{path}: one declaration per module; also found {others}. Give each its own.")
    return value


def _load_versioned(project: Project, paths: list[Path], attr: str, kind: type) -> dict[str, tuple]:
    """ref -> (spec, module source) for the versioned modules at ``paths`` (one declaration each)."""
    found: dict[str, tuple] = {}
    for path in paths:
        parse_column(path.stem)
        source = path.read_text(encoding="utf-8")
        check_imports(project.root, path, source)  # before it runs: only what the lock can see
        module = load_module(project.root, path)
        spec = _one_declaration(path, module, attr, kind).at(str(path.relative_to(project.root)))
        if spec.ref in found:
            raise DefinitionError(
                f"{spec.ref} is declared twice: in {found[spec.ref][0].module} and {spec.module}; "
                "a version lives in one module."
            )
        found[spec.ref] = (spec, source)
    return found


def discover(project: Project) -> Catalog:
    """Load every versioned module of ``project`` and collect its spec."""
    feature_paths = sorted(project.features_dir.glob("*/*_v*.py"))
    features = _load_versioned(project, feature_paths, "__feature__", FeatureSpec)
    for spec, _ in features.values():
        _check_spec(project, spec, Path(spec.module).parent.name, project.root / spec.module)
    populations = _load_versioned(
        project, sorted(project.training_dir.glob("*_v*.py")), "__population__", PopulationSpec
    )
    specs = {ref: spec for ref, (spec, _) in features.items()}
    pops = {ref: spec for ref, (spec, _) in populations.items()}
    clash = sorted(set(specs) & set(pops))
    if clash:
        raise DefinitionError(f"{clash} name both a feature version and a population; rename one.")
    order = sorted(specs, key=ref_sort_key)
    porder = sorted(pops, key=ref_sort_key)
    return Catalog(
        project,
        {r: specs[r] for r in order},
        {r: features[r][1] for r in order},
        {r: pops[r] for r in porder},
        {r: populations[r][1] for r in porder},
    )
