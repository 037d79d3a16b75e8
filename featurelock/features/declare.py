"""What a project declares besides feature versions: join keys, entities, views, request inputs,
services, categorical hints and serving examples. Frozen dataclasses, collected by type from the
project's modules (``features/*.py``, ``training/*.py``, ``serving/*.py``) and keyed by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from featurelock.core.errors import DefinitionError
from featurelock.features.spec import ENCODINGS

REQUEST_KINDS = ("string", "int", "float", "timestamp")
KNOWLEDGE_MODES = ("as-of", "row")


#: Holdout metrics a run records, and whether higher is better (``training.evaluate.metrics``).
METRICS = {"roc_auc": True, "pr_auc": True, "log_loss": False, "brier": False}


def check_knowledge(value: object, what: str = "knowledge") -> str:
    """A training set's knowledge mode: ``as-of`` (one knowledge time for every row) or ``row``
    (each row also sees only feature rows known at its own prediction time)."""
    if value not in KNOWLEDGE_MODES:
        raise DefinitionError(
            f"{what}={value!r} is not a knowledge mode; expected one of {list(KNOWLEDGE_MODES)}: "
            "'row' for a service trained on data that keeps arriving (each row sees what serving "
            "could have known at its prediction time), 'as-of' for one knowledge time for every row."
        )
    return str(value)


@dataclass(frozen=True)
class JoinKey:
    """One Feast entity: a join key column (string values). ``nullable`` keys may be missing in a
    request (they then match nothing, as a null key matches nothing offline).

    Parameters
    ----------
    name : str
        The column name, the same in raw tables, feature tables and requests.
    description : str
        What the key identifies.
    nullable : bool
        Whether a request may leave it out or null (default False).
    max_length : int
        The longest value the API accepts (default 64).
    """

    name: str
    description: str
    nullable: bool = False
    max_length: int = 64


@dataclass(frozen=True)
class Entity:
    """What a feature describes (its folder under ``features/``) and the join keys it is found by.
    An entity without join keys (``()``) holds request-time features only.

    Parameters
    ----------
    name : str
        The entity's name; its feature versions live in ``features/<name>/``.
    join_keys : tuple of str
        The ``JoinKey`` names that find it (``()``: request-time features only).
    description : str
        What it is, for people and for Feast's registry.
    """

    name: str
    join_keys: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class View:
    """A Feast feature view: feature versions with the same entity and grid.

    ``grid_sql`` yields the (join keys, event_timestamp) rows the feature table holds; it runs
    over the raw tables as known at a batch's knowledge time and is part of every member's
    fingerprint.

    Parameters
    ----------
    name : str
        The view's name (a Feast feature view and a feature table).
    entity : str
        The entity its features describe.
    grid_sql : str
        DuckDB SQL over the raw tables yielding the entity's join keys and ``event_timestamp``.
    description : str
        What one row of the view is.
    """

    name: str
    entity: str
    grid_sql: str
    description: str

    @property
    def source_name(self) -> str:
        """Logical name of the view's feature table (the Feast source name)."""
        return f"{self.name}_table"


@dataclass(frozen=True)
class RequestInput:
    """A field a request carries for request-time features (and the population provides offline).

    Parameters
    ----------
    name : str
        The field's name in requests and in the population's rows.
    kind : str
        ``float``, ``int``, ``string`` or ``timestamp`` (the API's type for it).
    description : str
        What the caller sends.
    ge, le : float, optional
        Bounds the API enforces on a number (422 outside them).
    """

    name: str
    kind: str  # one of REQUEST_KINDS; timestamps are ISO 8601 with a UTC offset
    description: str
    ge: float | None = None
    le: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in REQUEST_KINDS:
            raise DefinitionError(
                f"RequestInput {self.name!r}: kind={self.kind!r} is not supported; "
                f"use one of {REQUEST_KINDS}."
            )


@dataclass(frozen=True)
class Categorical:
    """Feature versions (refs ``name@vN``) a model reads as categories rather than as numbers.

    A modelling hint beside the definitions: it does not change a value, so it is not part of any
    fingerprint (new versions may instead say ``categorical=True`` in their decorator).

    Parameters
    ----------
    refs : tuple of str
        The feature versions, e.g. ``("sched_dep_dow@v1",)``.
    encoding : str
        ``"onehot"`` (default) or ``"ordinal"`` (see ``featurelock.training.encoding``).
    """

    refs: tuple[str, ...]
    encoding: str = "onehot"

    def __post_init__(self) -> None:
        if self.encoding not in ENCODINGS:
            raise DefinitionError(
                f"Categorical{self.refs}: encoding={self.encoding!r}; expected one of {ENCODINGS}."
            )


@dataclass(frozen=True)
class Lookup:
    """A join key the service looks up instead of asking for it: the value of a string feature of
    another entity as of the prediction time (a country's continent, a store's region).

    One rule offline and online: the key is the feature's value by the point-in-time rule at the
    row's prediction time (within its ttl, as known at as_of, per row with ``knowledge="row"``),
    read offline by the historical join into the entity rows and online from the online store
    before the service's own features; parity compares it like a feature. A request may leave it
    out; one that sends a different value is refused (422) naming both.

    Parameters
    ----------
    key : str
        The ``JoinKey`` looked up (views of the service's features are keyed by it).
    feature : str
        The string feature version (``name@vN``) whose value is the key, of a view keyed by keys
        the service's population yields.
    """

    key: str
    feature: str


@dataclass(frozen=True)
class Service:
    """The exact feature versions a model uses, the population it is trained on and its model specs.

    A model's feature list is ``features`` (Feast-served, in this order) then ``request_features``.
    ``holdout_from``: entity rows whose prediction time is at or after it form the holdout.
    ``knowledge``: ``as-of`` (default; every row sees what was known at the set's as_of) or ``row``
    (each row also sees only feature rows created at or before its own prediction time: what the
    online store could have served then; see docs/semantics.md).
    ``min_present``: the least share of the service's features a served request must have; below
    it the API answers 422 naming the missing ones (0: answer whatever is missing).
    ``metric``: the primary holdout metric (``METRICS``); ``promote`` refuses a run whose model
    loses to its baseline on it, unless forced.

    Parameters
    ----------
    name : str
        The service's name (a Feast feature service), e.g. ``return_model_v1``.
    features : tuple of str
        Feast-served feature versions (``name@vN``), in the model's order.
    request_features : tuple of str
        Request-time feature versions, after ``features`` in the model's order.
    population : str
        The population version (``name@vN``) the training rows come from.
    model, baseline : str
        Model specs (``@model_spec`` in ``training/``): the model and the baseline it must beat.
    holdout_from : str
        ISO 8601 time with offset: rows predicted at or after it form the holdout.
    description : str
        What the model predicts.
    seed : int
        The run's seed (default 0).
    knowledge : str
        ``as-of`` (default) or ``row``.
    min_present : float
        Least share of features a served request must have (default 0: answer anyway).
    metric : str
        The primary holdout metric (default ``roc_auc``).
    lookups : tuple of Lookup
        Join keys looked up from another entity's feature instead of sent (default none).
    """

    name: str
    features: tuple[str, ...]
    request_features: tuple[str, ...]
    population: str
    model: str
    baseline: str
    holdout_from: str
    description: str
    seed: int = 0
    knowledge: str = "as-of"
    min_present: float = 0.0  # least share of features a served request must have (else 422)
    metric: str = "roc_auc"  # the primary holdout metric (see promote)
    lookups: tuple[Lookup, ...] = ()  # join keys looked up as of the prediction time (see Lookup)

    def __post_init__(self) -> None:
        check_knowledge(self.knowledge, f"Service({self.name!r}).knowledge")
        if not all(isinstance(lookup, Lookup) for lookup in self.lookups):
            raise DefinitionError(
                f"Service({self.name!r}).lookups={self.lookups!r}: give a tuple of Lookup(key, feature), "
                "e.g. (Lookup('continent', 'continent@v1'),)."
            )
        if self.metric not in METRICS:
            raise DefinitionError(
                f"Service({self.name!r}).metric={self.metric!r} is not a holdout metric; expected one of "
                f"{sorted(METRICS)}."
            )
        if not isinstance(self.min_present, int | float) or not 0.0 <= float(self.min_present) <= 1.0:
            raise DefinitionError(
                f"Service({self.name!r}).min_present={self.min_present!r} is not a share; give a number "
                "from 0 (answer whatever is missing) to 1 (every feature must be present), e.g. 0.5."
            )

    @property
    def all_refs(self) -> tuple[str, ...]:
        return (*self.features, *self.request_features)


@dataclass(frozen=True)
class Examples:
    """Real requests of the project, for the API's documentation, ``/health`` and the demo.

    ``at`` is a time at which every view has fresh values (parity checks run there by default).

    Parameters
    ----------
    at : str
        An ISO 8601 time with offset at which every view has fresh values (parity's default time).
    requests : tuple of dict
        Requests as the API takes them: join keys, request inputs and ``prediction_time``.
    """

    at: str
    requests: tuple[dict[str, Any], ...] = field(default=())

    def health_request(self) -> dict[str, Any]:
        if not self.requests:
            raise DefinitionError("Examples declares no requests; /health needs one to probe with.")
        return dict(self.requests[0])


TIME_PARTS = ("month", "dayofweek", "hour", "year")


@dataclass(frozen=True)
class Segment:
    """A slice the run report breaks holdout metrics down by: a training-set column (a join key),
    or a part (``month``, ``dayofweek``, ``hour``, ``year``) of a timestamp column read in ``timezone``.

    Parameters
    ----------
    name : str
        The segment's name in the report.
    column : str
        A training-set column (a join key, or a timestamp column with ``part``).
    part : str, optional
        ``month``, ``dayofweek``, ``hour`` or ``year`` of a timestamp column.
    timezone : str
        The IANA time zone the part is read in (default ``UTC``).
    """

    name: str
    column: str
    part: str | None = None
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if self.part is not None and self.part not in TIME_PARTS:
            raise DefinitionError(f"Segment {self.name!r}: part={self.part!r}; expected one of {TIME_PARTS}.")

    def values(self, frame: Any) -> Any:
        """The segment of each row of a training-set frame."""
        column = frame[self.column]
        if self.part is None:
            return column.astype(object).where(column.notna(), "(null)")
        return getattr(column.dt.tz_convert(self.timezone).dt, self.part)
