"""A service resolved once: ``resolve(catalog, service)`` gives the frozen ``ServicePlan`` that
training sets, runs, the predictor, the API, parity and replay all read (population, feature and
request specs, join keys, request inputs, looked-up keys, id column, model columns, knowledge).

A command or an app resolves its service once, after its one lock check, and passes the plan down.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from featurelock.core.errors import DefinitionError
from featurelock.features.catalog import Catalog
from featurelock.features.declare import RequestInput, Service
from featurelock.features.population import PopulationSpec
from featurelock.features.spec import FeatureSpec


@dataclass(frozen=True)
class LookedUp:
    """A join key the service looks up (``Lookup``), resolved: the feature's view, its column, and
    the join keys that view is read by."""

    key: str
    ref: str
    view: str
    column: str
    by: tuple[str, ...]


@dataclass(frozen=True)
class ServicePlan:
    """Everything a service reads and yields, resolved from the definitions once."""

    service: Service
    population: PopulationSpec
    features: tuple[FeatureSpec, ...]  # the Feast features, in service order
    request_features: tuple[FeatureSpec, ...]  # in service order
    keys: tuple[str, ...]  # the join keys the entity rows give (the population's, in its order)
    inputs: Mapping[str, RequestInput]  # the request inputs its request features read
    lookups: tuple[LookedUp, ...]  # join keys read from another view first, in declaration order
    encodings: Mapping[str, str]  # model column -> "onehot" or "ordinal" (categorical columns only)
    feast_columns: tuple[str, ...]  # the features' columns, in service order (read on every request)
    request_columns: tuple[str, ...]  # the request features' columns, in service order

    @property
    def name(self) -> str:
        return self.service.name

    @property
    def id(self) -> str:
        """The population's row id column."""
        return self.population.id

    @property
    def knowledge(self) -> str:
        return self.service.knowledge

    @property
    def model_columns(self) -> list[str]:
        """The model's inputs, by name: the service's features in order, then its request features."""
        return [*self.feast_columns, *self.request_columns]

    @property
    def views(self) -> list[str]:
        """The views read: those of its features and of its lookups, sorted."""
        return sorted({str(s.view) for s in self.features} | {lk.view for lk in self.lookups})


def resolve(catalog: Catalog, service: str | Service) -> ServicePlan:
    """``service`` (a name or a declaration) resolved against the checked definitions."""
    spec = service if isinstance(service, Service) else catalog.project.service(service)
    features = tuple(catalog.spec(r) for r in spec.features)
    request_features = tuple(catalog.spec(r) for r in spec.request_features)
    population = catalog.population(spec.population)
    lookups = _lookups(spec, catalog, population, features)
    encodings = {s.column: catalog.encoding(s.ref) for s in (*features, *request_features)}
    return ServicePlan(
        service=spec,
        population=population,
        features=features,
        request_features=request_features,
        keys=_keys(spec, catalog, population, features, lookups),
        inputs=_inputs(spec, catalog, population, request_features),
        lookups=lookups,
        encodings={column: how for column, how in encodings.items() if how},
        feast_columns=tuple(s.column for s in features),
        request_columns=tuple(s.column for s in request_features),
    )


def _needed_keys(catalog: Catalog, features: tuple[FeatureSpec, ...]) -> set[str]:
    return {k for s in features for k in catalog.project.view_join_keys(s.view or "")}


def _lookups(
    service: Service, catalog: Catalog, pop: PopulationSpec, features: tuple[FeatureSpec, ...]
) -> tuple[LookedUp, ...]:
    """The service's ``lookups``, checked against the definitions, in declaration order."""
    needed = _needed_keys(catalog, features)
    out = []
    for lookup in service.lookups:
        where = f"service {service.name!r}: Lookup({lookup.key!r}, {lookup.feature!r})"
        if lookup.key not in needed:
            raise DefinitionError(
                f"{where}: no view of the service's features is keyed by {lookup.key!r} (they need "
                f"{sorted(needed)}); look up a key the service reads, or drop the lookup."
            )
        if lookup.key in pop.keys:
            raise DefinitionError(
                f"{where}: the population {pop.ref} yields {lookup.key!r} already; a key is either "
                "given by the entity rows or looked up, not both."
            )
        spec = catalog.spec(lookup.feature)
        by = catalog.project.view_join_keys(spec.view or "") if spec.view else ()
        if spec.dtype != "string" or not by or lookup.key in by:
            raise DefinitionError(
                f"{where}: {spec.ref} must be a string feature of a view keyed by other keys (it is "
                f"{spec.dtype}, keyed by {list(by)}); a key is a string found by other keys."
            )
        out.append(LookedUp(lookup.key, spec.ref, str(spec.view), spec.column, tuple(by)))
    keys = [lookup.key for lookup in out]
    if len(set(keys)) != len(keys):
        raise DefinitionError(f"service {service.name!r} looks up a key twice: {keys}.")
    return tuple(out)


def _keys(
    service: Service,
    catalog: Catalog,
    pop: PopulationSpec,
    features: tuple[FeatureSpec, ...],
    lookups: tuple[LookedUp, ...],
) -> tuple[str, ...]:
    """The join keys the entity rows give (the population's, in its order): those the service's
    views need, and those its lookups read by, less the keys it looks up."""
    needed = _needed_keys(catalog, features)
    needed = (needed - {lk.key for lk in lookups}) | {k for lk in lookups for k in lk.by}
    missing = sorted(needed - set(pop.keys))
    if missing:
        raise DefinitionError(
            f"service {service.name!r} reads views keyed by {missing}, which its population {pop.ref} "
            f"does not yield (keys={list(pop.keys)}); add them to the population's keys and SQL."
        )
    return tuple(k for k in pop.keys if k in needed)


def _inputs(
    service: Service, catalog: Catalog, pop: PopulationSpec, request_features: tuple[FeatureSpec, ...]
) -> dict[str, RequestInput]:
    """The request inputs the service's request features read, in the order its population lists them."""
    needed = {i for s in request_features for i in s.inputs}
    missing = sorted(needed - set(pop.inputs))
    if missing:
        raise DefinitionError(
            f"service {service.name!r} has request features reading {missing}, which its population "
            f"{pop.ref} does not yield (inputs={list(pop.inputs)}); add them to the population."
        )
    return {n: catalog.project.request_inputs[n] for n in pop.inputs if n in needed}
