"""What a feature version is, and the decorators that declare one.

One feature version = one module ``features/<entity>/<name>_v<N>.py`` of a project, holding one
function named ``<name>_v<N>`` (the column it produces). Its docstring states entity, inputs, null
policy and owner. Two kinds:

- ``@sql_feature``: the function returns DuckDB SQL over the raw tables (as known at the
  batch's knowledge time) and ``grid``, the view's (keys, event_timestamp) rows. The query
  yields the view's join keys, ``event_timestamp`` and ``value``.
- ``@request_feature``: a pure function of request-time fields, computed by the same code offline
  (from the entity rows) and online (from the request): pandas columns in and out, or, with
  ``per_row=True``, one value per input in and one value out (``request_values``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from featurelock.core.errors import DefinitionError

DTYPES = ("float64", "Int64", "string")
#: pandas dtype of each feature dtype (a nullable integer stays a nullable integer).
PANDAS_DTYPE = {"float64": "float64", "Int64": "Int64", "string": "object"}
_NAME = re.compile(r"^(?P<name>[a-z][a-z0-9_]*)_v(?P<version>[1-9][0-9]*)$")


@dataclass(frozen=True)
class FeatureSpec:
    """A declared feature version. ``column`` is ``<name>_v<version>``; ``ref`` is ``name@vN``."""

    name: str
    version: int
    kind: str  # "sql" or "request"
    entity: str
    source: str  # logical source: a raw table name, or "request"
    dtype: str
    ttl: timedelta
    owner: str
    description: str
    function: Callable[..., Any] = field(compare=False, repr=False)
    view: str | None = None  # Feast feature view (sql features)
    inputs: tuple[str, ...] = ()  # request fields (request features)
    reads: tuple[str, ...] = ()  # refs of other feature versions this one reads
    module: str = ""  # the module's path inside the project, once discovered
    categorical: bool | str = False  # a modelling hint (see ENCODINGS), not part of the fingerprint
    per_row: bool = False  # request features: a function of one value per input (request_values)
    lookback: timedelta | None = None  # sql features: how far in event time a value reads (builds)

    def at(self, path: str) -> FeatureSpec:
        return replace(self, module=path)

    @property
    def column(self) -> str:
        return f"{self.name}_v{self.version}"

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"

    def sql(self) -> str:
        if self.kind != "sql":
            raise DefinitionError(f"{self.ref} is a request feature; it has no SQL.")
        return str(self.function())


def parse_column(column: str) -> tuple[str, int]:
    """Split ``<name>_v<N>`` into (name, N)."""
    match = _NAME.match(column)
    if not match:
        raise DefinitionError(
            f"Feature function {column!r} must be named <name>_v<N> (lowercase, N >= 1), e.g. visits_7d_v1."
        )
    return match["name"], int(match["version"])


#: How a categorical feature enters a model: its categories' positions one-hot encoded, or as one
#: ordinal number (``categorical=True`` is ``"onehot"``); see ``featurelock.training.encoding``.
ENCODINGS = ("onehot", "ordinal")


def check_encoding(categorical: object, what: str) -> str:
    """``categorical=`` as an encoding: ``""`` (not categorical), ``"onehot"`` or ``"ordinal"``."""
    if categorical is False:
        return ""
    if categorical is True:
        return "onehot"
    if categorical in ENCODINGS:
        return str(categorical)
    raise DefinitionError(
        f"{what}: categorical={categorical!r} is not an encoding; use True (one-hot), one of "
        f"{ENCODINGS}, or False."
    )


def _check_common(column: str, dtype: str, ttl: timedelta, owner: str, doc: str | None) -> None:
    if dtype not in DTYPES:
        raise DefinitionError(f"{column}: dtype={dtype!r} is not supported; use one of {DTYPES}.")
    if not isinstance(ttl, timedelta) or ttl < timedelta(0):
        raise DefinitionError(f"{column}: ttl={ttl!r} must be a non-negative timedelta (0 = never expires).")
    if not owner:
        raise DefinitionError(f"{column}: owner is empty; name the team that answers for it.")
    if not doc or not doc.strip():
        raise DefinitionError(
            f"{column}: the function has no docstring; state entity, inputs, null policy and owner."
        )


def sql_feature(
    *,
    entity: str,
    view: str,
    source: str,
    dtype: str,
    ttl: timedelta,
    owner: str,
    reads: tuple[str, ...] = (),
    categorical: bool | str = False,
    lookback: timedelta | None = None,
) -> Callable[[Callable[[], str]], Callable[[], str]]:
    """Declare a DuckDB SQL feature version; attaches a FeatureSpec as ``__feature__``.

    Parameters
    ----------
    entity, view, source : str
        The entity it describes, the feature view (grid) it belongs to, its main raw table.
    dtype : str
        ``float64``, ``Int64`` or ``string``.
    ttl : timedelta
        How long a value stays servable after its grid time (0: forever).
    owner : str
        The team that answers for it.
    reads : tuple of str
        Refs of other feature versions it reads (their fingerprints enter its own).
    categorical : bool or str
        A modelling hint, not part of the fingerprint: ``True`` or ``"onehot"`` (the categories'
        positions one-hot encoded), ``"ordinal"`` (their position as one number); categories are
        fixed by the training rows, and a value never seen in training is read as missing.
    lookback : timedelta, optional
        How far from its grid time ``t``, in event time, the raw rows its value reads may lie:
        the value at ``t`` depends only on rows with ``event_timestamp`` in ``[t - lookback,
        t + lookback]`` (forward too, for a feature that reads a time other than the event time,
        such as an actual time that may precede a scheduled one). With it, ``featurelock features
        build`` recomputes only the grid points within lookback of a new batch's events;
        ``featurelock lock`` refuses a lookback its trial shows too short.
        It enters the fingerprint only when set.
    """
    if lookback is not None and (not isinstance(lookback, timedelta) or lookback < timedelta(0)):
        raise DefinitionError(
            f"lookback={lookback!r} must be a non-negative timedelta (how far from a grid time, in "
            "event time, the rows a value reads may lie), e.g. timedelta(days=8); or leave it out."
        )

    def wrap(function: Callable[[], str]) -> Callable[[], str]:
        name, version = parse_column(function.__name__)
        _check_common(function.__name__, dtype, ttl, owner, function.__doc__)
        check_encoding(categorical, function.__name__)
        function.__feature__ = FeatureSpec(  # type: ignore[attr-defined]
            name=name,
            version=version,
            kind="sql",
            entity=entity,
            source=source,
            dtype=dtype,
            ttl=ttl,
            owner=owner,
            description=function.__doc__.strip().splitlines()[0],
            function=function,
            view=view,
            reads=tuple(reads),
            module=function.__module__,
            categorical=categorical,
            lookback=lookback,
        )
        return function

    return wrap


def request_feature(
    *,
    entity: str,
    inputs: tuple[str, ...],
    dtype: str,
    owner: str,
    categorical: bool | str = False,
    per_row: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a request-time feature version: a pure pandas function of request fields (columns in,
    a column out) or, with ``per_row=True``, of one value per field (one value out, ``None`` when
    missing; cheap to serve one request at a time: see ``featurelock.features.request_values``).

    Parameters
    ----------
    entity : str
        The entity it describes.
    inputs : tuple of str
        The request inputs (``RequestInput`` names) it reads, in the function's argument order.
    dtype : str
        ``float64``, ``Int64`` or ``string``.
    owner : str
        The team that answers for it.
    categorical : bool or str
        As for ``sql_feature``: ``True``/``"onehot"``, ``"ordinal"`` or False.
    per_row : bool
        The function takes one value per input and returns one value (``None`` when missing).
    """

    def wrap(function: Callable[..., Any]) -> Callable[..., Any]:
        name, version = parse_column(function.__name__)
        _check_common(function.__name__, dtype, timedelta(0), owner, function.__doc__)
        check_encoding(categorical, function.__name__)
        function.__feature__ = FeatureSpec(  # type: ignore[attr-defined]
            name=name,
            version=version,
            kind="request",
            entity=entity,
            source="request",
            dtype=dtype,
            ttl=timedelta(0),
            owner=owner,
            description=function.__doc__.strip().splitlines()[0],
            function=function,
            inputs=tuple(inputs),
            module=function.__module__,
            categorical=categorical,
            per_row=per_row,
        )
        return function

    return wrap
