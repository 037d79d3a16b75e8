"""The serving protocol: an online store that reads at an explicit time.

Feast's ``online_read`` has no time argument (its reads are as of the wall clock). The predictor,
parity and replay read at a request's prediction time, so they need a store that follows this
protocol; featurelock's SQLite and Redis stores do, sharing ``TimedReads`` for everything but
their own ``stored_key`` and ``read_stored_views_at``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from featurelock.core.errors import DefinitionError

#: (feature view, entity keys, feature names) read together; a result per key: (event time, values)
Read = tuple[Any, list[Any], list[str]]
Rows = list[tuple[datetime | None, dict[str, Any] | None]]


@runtime_checkable
class TimedOnlineStore(Protocol):
    """An online store that serves the point-in-time rule at the time it is given."""

    def stored_key(self, config: Any, entity_key: Any) -> bytes:
        """An entity key as this store keeps it (``read_stored_views_at`` takes these)."""
        ...

    def read_stored_views_at(
        self, config: Any, reads: list[tuple[Any, list[bytes], list[str]]], at: datetime
    ) -> list[Rows]:
        """Several (view, stored keys, features) read at one time ``at``, in order."""
        ...

    def read_views_at(self, config: Any, reads: list[Read], at: datetime) -> list[Rows]: ...

    def read_at(
        self,
        config: Any,
        table: Any,
        entity_keys: list[Any],
        requested_features: list[str] | None,
        at: datetime,
    ) -> Rows: ...

    def read_marker(self, config: Any, name: str) -> str | None:
        """The token materialize left for ``name`` (None: the store lost it, or never had it)."""
        ...


class TimedReads:
    """What every timed store shares: reads by entity key, in terms of its stored keys."""

    def read_views_at(self: TimedOnlineStore, config: Any, reads: list[Read], at: datetime) -> list[Rows]:
        """``read_at`` for several (view, entity keys, features) at one time, in order."""
        stored = [(view, [self.stored_key(config, k) for k in keys], names) for view, keys, names in reads]
        return self.read_stored_views_at(config, stored, at)

    def read_at(
        self: TimedOnlineStore,
        config: Any,
        table: Any,
        entity_keys: list[Any],
        requested_features: list[str] | None,
        at: datetime,
    ) -> Rows:
        """Values per entity key as served at ``at`` (the point-in-time rule, ttl included);
        ``requested_features`` None: every feature the store holds for the view."""
        read: Any = (table, entity_keys, requested_features)
        return self.read_views_at(config, [read], at)[0]


def timed_store(online_store: Any) -> TimedOnlineStore:
    """``online_store`` if it reads at an explicit time, else a one-line refusal naming ours."""
    if not isinstance(online_store, TimedOnlineStore):
        raise DefinitionError(
            f"the online store {type(online_store).__name__} cannot read at a prediction time (Feast's "
            "stores read as of the wall clock), so serving could not follow the point-in-time rule. "
            "Use featurelock's: online_store type featurelock.stores.sqlite_online."
            "FeaturelockSqliteOnlineStore (local) or featurelock.stores.redis_online."
            "FeaturelockRedisOnlineStore (production) in feature_store*.yaml."
        )
    return online_store
