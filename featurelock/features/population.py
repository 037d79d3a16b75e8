"""Populations: how a project draws its entity rows, declared as versioned, locked modules.

One population version = one module ``training/<name>_v<N>.py`` holding one function named
``<name>_v<N>`` that returns DuckDB SQL over the raw tables (each as known at ``as_of``: the newest
version of every fact). The query yields exactly these columns:

- ``id`` (the declared id column): a stable, unique row id (the training set is sorted by it);
- ``event_timestamp``: the prediction time of the row (naive UTC inside DuckDB);
- the declared ``keys`` (join keys of the service's views) and request ``inputs``;
- ``label``: 0/1; labels may read data after the prediction time, features never do.

``filters`` restate, in request terms, which requests lie inside the population: serving flags a
request outside them. The module is fingerprinted and locked in ``features.lock`` like a feature
version: an edit of a locked population is refused; a change is a new version.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd

from featurelock.core.errors import DefinitionError
from featurelock.features.fingerprint import NORMALIZER, normalize_source, normalize_sql
from featurelock.features.spec import parse_column

LABEL = "label"


@dataclass(frozen=True)
class OneOf:
    """The request's ``field`` is one of ``values``.

    Parameters
    ----------
    field : str
        A request input (or join key).
    values : tuple of str
        The values inside the population.
    """

    field: str
    values: tuple[str, ...]

    def flag(self, value: object) -> str | None:
        if value in self.values:
            return None
        return f"{self.field} {value!r} is not one of the trained values {list(self.values)}"

    def describe(self) -> dict[str, object]:
        return {"field": self.field, "one_of": list(self.values)}


@dataclass(frozen=True)
class LocalDateWindow:
    """The request's timestamp ``field``, read as a wall-clock time in ``timezone``, lies in
    ``[start, end)`` (local dates or times, ISO 8601 without offset).

    Parameters
    ----------
    field : str
        A timestamp request input.
    start, end : str
        Local dates or times (ISO 8601, no offset): the half-open window ``[start, end)``.
    timezone : str
        The IANA time zone the field is read in.
    """

    field: str
    start: str
    end: str
    timezone: str

    def flag(self, value: object) -> str | None:
        if value is None:
            return f"{self.field} is missing"
        lo, hi, zone = _window(self.start, self.end, self.timezone)
        if isinstance(value, datetime) and value.tzinfo is not None:  # the serving path: no pandas
            local = value.astimezone(zone).replace(tzinfo=None)
        else:
            local = pd.Timestamp(value).tz_convert(self.timezone).tz_localize(None)
        if lo <= local < hi:
            return None
        return (
            f"{self.field} {local} ({self.timezone}) is outside the trained window [{self.start}, {self.end})"
        )

    def describe(self) -> dict[str, object]:
        return {"field": self.field, "from": self.start, "to": self.end, "timezone": self.timezone}


@functools.lru_cache(maxsize=64)
def _window(start: str, end: str, timezone: str) -> tuple[datetime, datetime, ZoneInfo]:
    return pd.Timestamp(start).to_pydatetime(), pd.Timestamp(end).to_pydatetime(), ZoneInfo(timezone)


Filter = OneOf | LocalDateWindow


@dataclass(frozen=True)
class PopulationSpec:
    name: str
    version: int
    id: str
    keys: tuple[str, ...]
    inputs: tuple[str, ...]
    sources: tuple[str, ...]
    filters: tuple[Filter, ...]
    owner: str
    description: str
    function: Callable[[], str] = field(compare=False, repr=False)
    module: str = ""

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"

    def at(self, path: str) -> PopulationSpec:
        return replace(self, module=path)

    def definition(self) -> dict[str, object]:
        """What the manifest records of the population (its SQL normalized by the fingerprint)."""
        return {
            "ref": self.ref,
            "id": self.id,
            "keys": list(self.keys),
            "inputs": list(self.inputs),
            "sources": list(self.sources),
            "filters": [f.describe() for f in self.filters],
            "description": self.description,
            "sql": normalize_sql(self.sql()),
        }

    def sql(self) -> str:
        return str(self.function())

    def flags(self, request: dict[str, object]) -> list[str]:
        """Reasons a request lies outside the population (empty: inside)."""
        out = []
        for f in self.filters:
            message = f.flag(request.get(f.field))
            if message:
                out.append(message)
        return out


def population(
    *,
    id: str,
    keys: tuple[str, ...],
    inputs: tuple[str, ...],
    sources: tuple[str, ...],
    owner: str,
    filters: tuple[Filter, ...] = (),
) -> Callable[[Callable[[], str]], Callable[[], str]]:
    """Declare a population version; attaches a PopulationSpec as ``__population__``.

    The decorated function returns DuckDB SQL over the raw tables yielding one row per training
    example: the id, ``event_timestamp`` (the prediction time), the join keys, the inputs and
    ``label`` (0/1). It is locked and fingerprinted like a feature version.

    Parameters
    ----------
    id : str
        The row id column (unique; the training set is sorted by it).
    keys : tuple of str
        The join keys the rows carry (the service's features are joined on them).
    inputs : tuple of str
        Request inputs the rows carry (request-time features are computed from them).
    sources : tuple of str
        The raw tables the SQL reads.
    owner : str
        The team that answers for it.
    filters : tuple of OneOf or LocalDateWindow
        The population restated in request terms: serving flags a request outside it
        (``in_population: false``).
    """

    def wrap(function: Callable[[], str]) -> Callable[[], str]:
        name, version = parse_column(function.__name__)
        if not function.__doc__ or not function.__doc__.strip():
            raise DefinitionError(
                f"{function.__name__}: the function has no docstring; state the rows, the prediction "
                "time, the label and what is excluded."
            )
        if not owner:
            raise DefinitionError(f"{function.__name__}: owner is empty; name the team that answers for it.")
        function.__population__ = PopulationSpec(  # type: ignore[attr-defined]
            name=name,
            version=version,
            id=id,
            keys=tuple(keys),
            inputs=tuple(inputs),
            sources=tuple(sources),
            filters=tuple(filters),
            owner=owner,
            description=function.__doc__.strip().splitlines()[0],
            function=function,
            module=function.__module__,
        )
        return function

    return wrap


def population_fingerprint(spec: PopulationSpec, source: str) -> str:
    """``sha256:<hex>`` of a population version: its normalized module and declared attributes."""
    payload = {
        "normalizer": NORMALIZER,
        "kind": "population",
        "name": spec.name,
        "version": spec.version,
        "id": spec.id,
        "keys": list(spec.keys),
        "inputs": list(spec.inputs),
        "sources": list(spec.sources),
        "code": normalize_source(source),
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(blob).hexdigest()
