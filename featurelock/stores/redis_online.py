"""A Feast Redis online store with monotonic writes and ttl applied on read (the production profile).

Selected with ``online_store: {type: featurelock.stores.redis_online.FeaturelockRedisOnlineStore}``.
Fixes, as for SQLite (``monotonic_sqlite``):

1. Feast's Redis store skips a write whose event time equals the stored one, so a same-time
   correction with a later knowledge time never lands. Here each key's write runs as one Lua
   script that compares (event, created) with the stored pair, atomically: newer wins, older never.
2. ttl is applied on read (the rule of ``featurelock.stores.pit``): ``read_at(..., at)`` reads at
   the request's prediction time; Feast's own read paths (``online_read``, the batched
   ``get_online_features`` path that ``feast serve`` takes) have no time argument, so they read at
   the wall clock, taken there, at Feast's API boundary.

Connection failures raise ``StoreUnavailableError`` (HTTP 503), naming the host.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from feast.infra.online_stores.redis import RedisOnlineStore, RedisOnlineStoreConfig
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import StrictStr

from featurelock.core.errors import StoreUnavailableError
from featurelock.stores.feast_private import redis_field, redis_key, redis_key_prefix, redis_view_name
from featurelock.stores.pit import alive_at, check_at, from_micros, to_micros
from featurelock.stores.timed import TimedReads

STORE_TYPE = "featurelock.stores.redis_online.FeaturelockRedisOnlineStore"

# KEYS[1]: entity hash. ARGV: event field, created field, event micros, created micros, then
# field/value pairs to set (Feast's _ts field and the features). Returns 1 if written.
_MONOTONIC_HSET = """
local ev = tonumber(redis.call('HGET', KEYS[1], ARGV[1]))
local cr = tonumber(redis.call('HGET', KEYS[1], ARGV[2])) or -1
local nev = tonumber(ARGV[3])
local ncr = tonumber(ARGV[4])
if ev == nil or nev > ev or (nev == ev and ncr > cr) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3], ARGV[2], ARGV[4], unpack(ARGV, 5))
  return 1
end
return 0
"""


class FeaturelockRedisOnlineStoreConfig(RedisOnlineStoreConfig):
    type: StrictStr = STORE_TYPE  # type: ignore[assignment]


class FeaturelockRedisOnlineStore(TimedReads, RedisOnlineStore):
    _ttls: dict[str, timedelta | None]

    def _unavailable(self, config: Any, exc: Exception) -> StoreUnavailableError:
        where = config.online_store.connection_string.split(",")[0]
        return StoreUnavailableError(
            f"The Redis online store at {where} is unavailable ({exc}); retry when it is back."
        )

    def online_write_batch(
        self,
        config: Any,
        table: Any,
        data: list[tuple[Any, dict[str, ValueProto], datetime, datetime | None]],
        progress: Callable[[int], Any] | None,
    ) -> None:
        try:
            client = self._get_client(config.online_store)
            script = client.register_script(_MONOTONIC_HSET)
            view = redis_view_name(table, config)
            ev_field, cr_field, ts_field = f"_ev:{view}", f"_cr:{view}", f"_ts:{view}"
            with client.pipeline(transaction=False) as pipe:
                for entity_key, values, event_ts, created_ts in data:
                    key = redis_key(
                        config.project,
                        entity_key,
                        entity_key_serialization_version=config.entity_key_serialization_version,
                    )
                    stamp = Timestamp()
                    stamp.FromMicroseconds(to_micros(event_ts))
                    args: list[Any] = [
                        ev_field,
                        cr_field,
                        to_micros(event_ts),
                        to_micros(created_ts) or -1,
                        ts_field,
                        stamp.SerializeToString(),
                    ]
                    for feature, value in values.items():
                        args += [redis_field(f"{view}:{feature}"), value.SerializeToString()]
                    script(keys=[key], args=args, client=pipe)
                pipe.execute()
        except redis.exceptions.RedisError as exc:
            raise self._unavailable(config, exc) from exc
        if progress:
            progress(len(data))

    def delete_table(self, config: Any, table: Any) -> None:
        """Feast's delete, plus our (event, created) fields: left behind, they made the compare-and-set
        refuse every older row written after a rewind (the store stayed empty: parity mismatches)."""
        try:
            super().delete_table(config, table)
            client = self._get_client(config.online_store)
            view = redis_view_name(table, config)
            pattern = redis_key_prefix(table.join_keys) + b"*" + config.project.encode("utf8")
            with client.pipeline(transaction=False) as pipe:
                for key in client.scan_iter(pattern):
                    pipe.hdel(key, f"_ev:{view}", f"_cr:{view}")
                pipe.execute()
        except redis.exceptions.RedisError as exc:
            raise self._unavailable(config, exc) from exc

    def read_marker(self, config: Any, name: str) -> str | None:
        """The token materialize left in this store for ``name`` (None: never written, or lost)."""
        try:
            value = self._get_client(config.online_store).get(_marker_key(config, name))
        except redis.exceptions.RedisError as exc:
            raise self._unavailable(config, exc) from exc
        return value.decode() if value is not None else None

    def write_marker(self, config: Any, name: str, token: str | None) -> None:
        try:
            client = self._get_client(config.online_store)
            if token is None:
                client.delete(_marker_key(config, name))
            else:
                client.set(_marker_key(config, name), token.encode())
        except redis.exceptions.RedisError as exc:
            raise self._unavailable(config, exc) from exc

    def _remember_ttls(self, config: Any, tables: Sequence[Any]) -> None:
        if not hasattr(self, "_ttls"):
            self._ttls = {}
        for table in tables:
            self._ttls[redis_view_name(table, config)] = table.ttl

    def online_read(
        self, config: Any, table: Any, entity_keys: list[Any], requested_features: list[str] | None = None
    ):
        self._remember_ttls(config, [table])
        try:
            return super().online_read(config, table, entity_keys, requested_features)
        except redis.exceptions.RedisError as exc:
            raise self._unavailable(config, exc) from exc

    def _read_features_per_fv(self, config: Any, grouped_refs: Any, *args: Any, **kwargs: Any) -> None:
        self._remember_ttls(config, [table for table, _ in grouped_refs])
        try:
            return super()._read_features_per_fv(config, grouped_refs, *args, **kwargs)
        except redis.exceptions.RedisError as exc:
            raise self._unavailable(config, exc) from exc

    async def online_read_async(
        self, config: Any, table: Any, entity_keys: list[Any], requested_features: list[str] | None = None
    ):
        self._remember_ttls(config, [table])
        try:
            return await super().online_read_async(config, table, entity_keys, requested_features)
        except redis.exceptions.RedisError as exc:
            raise self._unavailable(config, exc) from exc

    async def _read_features_per_fv_async(
        self, config: Any, grouped_refs: Any, *args: Any, **kwargs: Any
    ) -> None:
        """The path `feast serve` takes: same ttl rule, same error."""
        self._remember_ttls(config, [table for table, _ in grouped_refs])
        try:
            return await super()._read_features_per_fv_async(config, grouped_refs, *args, **kwargs)
        except redis.exceptions.RedisError as exc:
            raise self._unavailable(config, exc) from exc

    def _convert_redis_values_to_protobuf(
        self, redis_values: Any, feature_view: str, requested_features: list[str]
    ):
        rows = super()._convert_redis_values_to_protobuf(redis_values, feature_view, requested_features)
        ttl = getattr(self, "_ttls", {}).get(feature_view)
        # Feast's read API has no time: its reads are as of the wall clock
        served = alive_at(ttl, datetime.now(UTC))
        out = []
        for stamp, values in rows:
            if stamp is None or values is None or not served(to_micros(stamp)):
                out.append((None, None))
            else:
                out.append((stamp, values))
        return out

    def stored_key(self, config: Any, entity_key: Any) -> bytes:
        """An entity key as this store keeps it (Feast's Redis key); ``read_stored_views_at``
        takes these, so a caller reading the same keys again serializes each once."""
        version = config.entity_key_serialization_version
        return redis_key(config.project, entity_key, entity_key_serialization_version=version)

    def read_stored_views_at(
        self, config: Any, reads: list[tuple[Any, list[bytes], list[str]]], at: datetime
    ) -> list[list[tuple[datetime | None, dict[str, ValueProto] | None]]]:
        """``read_views_at`` with the keys given as ``stored_key`` makes them."""
        when = check_at(at)
        plans = []
        try:
            client = self._get_client(config.online_store)
            with client.pipeline(transaction=False) as pipe:
                for table, keys, requested_features in reads:
                    view = redis_view_name(table, config)
                    fields = [redis_field(f"{view}:{f}") for f in requested_features]
                    for key in keys:
                        pipe.hmget(key, [f"_ev:{view}", *fields])
                    plans.append((table, len(keys), requested_features))
                replies = pipe.execute()
        except redis.exceptions.RedisError as exc:
            raise self._unavailable(config, exc) from exc
        results, start = [], 0
        for table, count, requested_features in plans:
            served = alive_at(table.ttl, when)  # the rule built once per view read, as in the SQLite store
            out: list[tuple[datetime | None, dict[str, ValueProto] | None]] = []
            for reply in replies[start : start + count]:
                event, blobs = reply[0], reply[1:]
                if event is None or not served(int(event)):
                    out.append((None, None))
                    continue
                values = {}
                for feature, blob in zip(requested_features, blobs, strict=True):
                    if blob is not None:
                        values[feature] = ValueProto.FromString(blob)
                out.append((from_micros(int(event)), values) if values else (None, None))
            results.append(out)
            start += count
        return results


def _marker_key(config: Any, name: str) -> bytes:
    return f"featurelock:{config.project}:materialized:{name}".encode()
