"""A Feast SQLite online store with monotonic upserts and ttl applied on read.

Selected in ``feature_store.yaml`` with
``online_store: {type: featurelock.stores.sqlite_online.FeaturelockSqliteOnlineStore, path: ...}``;
a relative ``path`` lies in the data directory (``featurelock.core.home``). Two Feast defects fixed:

1. Feast's SQLite store overwrites unconditionally, so an older row written later replaces a
   newer value. Here a write lands only if its (event_timestamp, created_timestamp) is greater
   than the stored one: a same-time correction with a later knowledge time replaces the value,
   an older row never does.
2. Feast does not apply ttl on SQLite reads. Here a value is returned only if
   ``event_ts <= t <= event_ts + ttl`` (ttl 0 = no expiry; ``featurelock.stores.pit``), where
   ``t`` is passed to ``read_at`` (the request's prediction time). Feast's own ``online_read``
   has no time argument: it reads at the wall clock, taken there, at Feast's API boundary.

Timestamps are stored as integer microseconds since the epoch, UTC, computed explicitly.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from feast.infra.key_encoding_utils import serialize_entity_key
from feast.infra.online_stores.sqlite import SqliteOnlineStore, SqliteOnlineStoreConfig
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from pydantic import StrictStr

from featurelock.core.errors import StoreUnavailableError
from featurelock.core.home import data_home_of
from featurelock.stores.feast_private import entity_key_bytes, sqlite_table_name
from featurelock.stores.pit import alive_at, check_at, from_micros, to_micros
from featurelock.stores.timed import TimedReads

STORE_TYPE = "featurelock.stores.sqlite_online.FeaturelockSqliteOnlineStore"


class FeaturelockSqliteOnlineStoreConfig(SqliteOnlineStoreConfig):
    type: StrictStr = STORE_TYPE  # type: ignore[assignment]
    busy_timeout_seconds: float = 1.0


_MARKERS = "CREATE TABLE IF NOT EXISTS featurelock_marks (name TEXT PRIMARY KEY, token TEXT NOT NULL)"


class FeaturelockSqliteOnlineStore(TimedReads, SqliteOnlineStore):
    @staticmethod
    def _get_db_path(config: Any) -> str:
        path = Path(config.online_store.path)
        return str(path if path.is_absolute() else data_home_of(config.repo_path) / path)

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

    def read_marker(self, config: Any, name: str) -> str | None:
        """The token materialize left in this store for ``name`` (None: never written, or lost)."""
        conn = self._get_conn(config)
        try:
            with conn:
                conn.execute(_MARKERS)
                row = conn.execute("SELECT token FROM featurelock_marks WHERE name = ?", (name,)).fetchone()
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"The SQLite online store could not be read: {exc}.") from exc
        return str(row[0]) if row else None

    def write_marker(self, config: Any, name: str, token: str | None) -> None:
        conn = self._get_conn(config)
        try:
            with conn:
                conn.execute(_MARKERS)
                conn.execute("DELETE FROM featurelock_marks WHERE name = ?", (name,))
                if token is not None:
                    conn.execute("INSERT INTO featurelock_marks (name, token) VALUES (?, ?)", (name, token))
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"Writing to the SQLite online store failed: {exc}.") from exc

    def online_write_batch(
        self,
        config: Any,
        table: Any,
        data: list[tuple[Any, dict[str, ValueProto], datetime, datetime | None]],
        progress: Callable[[int], Any] | None,
    ) -> None:
        conn = self._get_conn(config)
        name = sqlite_table_name(config, table)
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
        """Feast's read API (no time argument): values as of the wall clock."""
        return self.read_at(config, table, entity_keys, requested_features, datetime.now(UTC))

    def stored_key(self, config: Any, entity_key: Any) -> bytes:
        """An entity key as this store keeps it (Feast's serialized key); ``read_stored_views_at``
        takes these, so a caller reading the same keys again serializes each once."""
        version = config.entity_key_serialization_version
        return entity_key_bytes(entity_key, entity_key_serialization_version=version)

    def read_stored_views_at(
        self, config: Any, reads: list[tuple[Any, list[bytes], list[str]]], at: datetime
    ) -> list[list[tuple[datetime | None, dict[str, ValueProto] | None]]]:
        """``read_views_at`` with the keys given as ``stored_key`` makes them."""
        return [self._read(config, view, keys, features, at) for view, keys, features in reads]

    def _read(
        self,
        config: Any,
        table: Any,
        keys: list[bytes],
        requested_features: list[str] | None,
        at: datetime,
    ) -> list[tuple[datetime | None, dict[str, ValueProto] | None]]:
        when = check_at(at)
        conn = self._get_conn(config)
        name = sqlite_table_name(config, table)
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
        wanted = set(requested_features) if requested_features else None
        served = alive_at(table.ttl, when)
        found: dict[bytes, tuple[list[int], dict[str, ValueProto]]] = {}  # key -> ([newest], values)
        for key, feature, blob, event in rows:  # ordered by key, then feature name
            if (wanted is not None and feature not in wanted) or not served(event):
                continue
            entry = found.get(key)
            if entry is None:
                entry = found[key] = ([event], {})
            entry[1][feature] = ValueProto.FromString(blob)
            if event > entry[0][0]:
                entry[0][0] = event
        result: list[tuple[datetime | None, dict[str, ValueProto] | None]] = []
        for key in keys:
            entry = found.get(key)
            result.append((from_micros(entry[0][0]), entry[1]) if entry else (None, None))
        return result
