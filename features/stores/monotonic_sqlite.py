"""A Feast SQLite online store with monotonic upserts and ttl applied on read.

Selected in ``feature_store.yaml`` with
``online_store: {type: features.stores.monotonic_sqlite.FeaturelockSqliteOnlineStore, path: ...}``.
Two Feast defects fixed:

1. Feast's SQLite store overwrites unconditionally, so an older row written later replaces a
   newer value. Here a write lands only if its (event_timestamp, created_timestamp) is greater
   than the stored one: a same-time correction with a later knowledge time replaces the value,
   an older row never does.
2. Feast does not apply ttl on SQLite reads. Here a value is returned only if
   ``event_ts <= t <= event_ts + ttl`` (ttl 0 = no expiry), where ``t`` is the request's
   prediction time, set with ``with prediction_time(t): store.get_online_features(...)``
   (default: now) - the same rule as the offline point-in-time join.

Timestamps are stored as integer microseconds since the epoch, UTC, computed explicitly.
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

from feast.infra.key_encoding_utils import serialize_entity_key
from feast.infra.online_stores.sqlite import (
    SqliteOnlineStore,
    SqliteOnlineStoreConfig,
    _quote_id,
    _table_id,
)
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from pydantic import StrictStr

from features.errors import StoreUnavailableError

STORE_TYPE = "features.stores.monotonic_sqlite.FeaturelockSqliteOnlineStore"
_PREDICTION_TIME: ContextVar[datetime | None] = ContextVar("featurelock_prediction_time", default=None)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@contextlib.contextmanager
def prediction_time(when: datetime) -> Iterator[None]:
    """Online reads inside this block apply ttl (and the no-future rule) against ``when``."""
    if when.tzinfo is None:
        raise ValueError(f"prediction_time={when!r} is naive; pass a timezone-aware datetime.")
    token = _PREDICTION_TIME.set(when.astimezone(UTC))
    try:
        yield
    finally:
        _PREDICTION_TIME.reset(token)


def current_prediction_time() -> datetime:
    return _PREDICTION_TIME.get() or datetime.now(UTC)


def to_micros(ts: datetime | None) -> int | None:
    if ts is None:
        return None
    if ts.tzinfo is None:  # Feast hands naive UTC in places
        ts = ts.replace(tzinfo=UTC)
    delta = ts.astimezone(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=int(value))


def alive(event_micros: int, ttl: timedelta | None, at: datetime) -> bool:
    """The point-in-time rule: event <= at <= event + ttl (ttl 0 or None: no expiry)."""
    at_micros = to_micros(at)
    assert at_micros is not None
    if event_micros > at_micros:
        return False
    if ttl and ttl > timedelta(0):
        return event_micros + int(ttl / timedelta(microseconds=1)) >= at_micros
    return True


class FeaturelockSqliteOnlineStoreConfig(SqliteOnlineStoreConfig):
    type: StrictStr = STORE_TYPE  # type: ignore[assignment]
    busy_timeout_seconds: float = 1.0


class FeaturelockSqliteOnlineStore(SqliteOnlineStore):
    def _get_conn(self, config: Any) -> sqlite3.Connection:
        if not self._conn:
            path = self._get_db_path(config)
            try:
                self._conn = sqlite3.connect(
                    path, timeout=config.online_store.busy_timeout_seconds, check_same_thread=False
                )
            except sqlite3.Error as exc:
                raise StoreUnavailableError(
                    f"The SQLite online store at {path} cannot be opened: {exc}."
                ) from exc
        return self._conn

    def online_write_batch(
        self,
        config: Any,
        table: Any,
        data: list[tuple[Any, dict[str, ValueProto], datetime, datetime | None]],
        progress: Callable[[int], Any] | None,
    ) -> None:
        conn = self._get_conn(config)
        name = _quote_id(
            _table_id(config.project, table, config.registry.enable_online_feature_view_versioning)
        )
        sql = (
            f"INSERT INTO {name} (entity_key, feature_name, value, event_ts, created_ts) "
            "VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(entity_key, feature_name) DO UPDATE SET value = excluded.value, "
            "event_ts = excluded.event_ts, created_ts = excluded.created_ts "
            f"WHERE excluded.event_ts > {name}.event_ts OR (excluded.event_ts = {name}.event_ts "
            f"AND coalesce(excluded.created_ts, -1) > coalesce({name}.created_ts, -1))"
        )
        version = config.entity_key_serialization_version

        def rows() -> Iterator[tuple[Any, ...]]:
            for entity_key, values, event_ts, created_ts in data:
                key = serialize_entity_key(entity_key, entity_key_serialization_version=version)
                event, created = to_micros(event_ts), to_micros(created_ts)
                for feature, value in values.items():
                    yield key, feature, value.SerializeToString(), event, created

        try:
            with conn:
                conn.executemany(sql, rows())
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"Writing to the SQLite online store failed: {exc}.") from exc
        if progress:
            progress(len(data))

    def online_read(
        self,
        config: Any,
        table: Any,
        entity_keys: list[Any],
        requested_features: list[str] | None = None,
    ) -> list[tuple[datetime | None, dict[str, ValueProto] | None]]:
        conn = self._get_conn(config)
        name = _quote_id(
            _table_id(config.project, table, config.registry.enable_online_feature_view_versioning)
        )
        version = config.entity_key_serialization_version
        keys = [serialize_entity_key(k, entity_key_serialization_version=version) for k in entity_keys]
        try:
            rows = conn.execute(
                f"SELECT entity_key, feature_name, value, CAST(event_ts AS INTEGER) FROM {name} "
                f"WHERE entity_key IN ({','.join('?' * len(keys))}) ORDER BY entity_key, feature_name",
                keys,
            ).fetchall()
        except sqlite3.Error as exc:
            raise StoreUnavailableError(
                f"The SQLite online store could not be read ({exc}); retry when it is available."
            ) from exc
        grouped = {k: list(g) for k, g in itertools.groupby(rows, key=lambda r: r[0])}
        at = current_prediction_time()
        wanted = set(requested_features) if requested_features else None
        result: list[tuple[datetime | None, dict[str, ValueProto] | None]] = []
        for key in keys:
            values: dict[str, ValueProto] = {}
            newest: int | None = None
            for _, feature, blob, event in grouped.get(key, []):
                if wanted is not None and feature not in wanted:
                    continue
                if not alive(event, table.ttl, at):
                    continue
                value = ValueProto()
                value.ParseFromString(blob)
                values[feature] = value
                newest = event if newest is None else max(newest, event)
            result.append((from_micros(newest), values) if values else (None, None))
        return result
