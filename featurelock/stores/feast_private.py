"""The one place featurelock touches Feast's private API (names with a leading underscore).

Each helper wraps one private Feast function, so a Feast upgrade that moves or changes them breaks
here, in one small module, and in ``tests/engine/test_feast_private.py``, which pins every name
used (these and the private hooks our store subclasses override) to the Feast version in the lock.
"""

from __future__ import annotations

from typing import Any

from cachetools import LRUCache

#: Feast release these helpers were written and tested against (requirements.lock pins it).
FEAST_VERSION = "0.67.0"

#: Private Feast names featurelock relies on, as (module, attribute): checked by the test above.
PRIVATE_NAMES = (
    ("feast.feature_store", "FeatureStore._get_provider"),
    ("feast.utils", "_convert_arrow_to_proto"),
    ("feast.infra.registry.file", "FileRegistryStore._write_registry"),
    ("feast.infra.online_stores.sqlite", "_quote_id"),
    ("feast.infra.online_stores.sqlite", "_table_id"),
    ("feast.infra.online_stores.sqlite", "SqliteOnlineStore._get_db_path"),
    ("feast.infra.online_stores.sqlite", "SqliteOnlineStore._get_conn"),
    ("feast.infra.online_stores.helpers", "_redis_key"),
    ("feast.infra.online_stores.helpers", "_mmh3"),
    ("feast.infra.online_stores.redis", "_versioned_fv_name"),
    ("feast.infra.online_stores.redis", "_redis_key_prefix"),
    ("feast.infra.online_stores.redis", "RedisOnlineStore._get_client"),
    ("feast.infra.online_stores.redis", "RedisOnlineStore._read_features_per_fv"),
    ("feast.infra.online_stores.redis", "RedisOnlineStore._read_features_per_fv_async"),
    ("feast.infra.online_stores.redis", "RedisOnlineStore._convert_redis_values_to_protobuf"),
)


def provider_of(store: Any) -> Any:
    """The provider of a ``FeatureStore`` (what writes and reads the online store)."""
    return store._get_provider()


def online_store_of(store: Any) -> Any:
    """The configured online store object of a ``FeatureStore`` (ours: it has ``read_at``)."""
    return store._get_provider().online_store


def arrow_to_protos(table: Any, view: Any, join_keys: dict[str, Any]) -> list[Any]:
    """Feast's conversion of an Arrow table to online-write rows (one record batch at a time)."""
    from feast.utils import _convert_arrow_to_proto

    return _convert_arrow_to_proto(table, view, join_keys)


def sqlite_table_name(config: Any, table: Any) -> str:
    """The quoted SQLite table Feast keeps a view's online values in."""
    from feast.infra.online_stores.sqlite import _quote_id, _table_id

    return _quote_id(_table_id(config.project, table, config.registry.enable_online_feature_view_versioning))


#: Entity keys as Feast serializes them, remembered by the key's own protobuf bytes (a pure
#: function of them), least recently used first out. Feast's Python serializer costs ~12 us a
#: key, the protobuf's C++ one ~1 us: a served batch reads the same keys again and again.
_SERIALIZED: LRUCache = LRUCache(maxsize=262_144)


def _remembered(kind: str, entity_key: Any, version: int, make: Any) -> bytes:
    token = (kind, entity_key.SerializeToString(deterministic=True), version)
    found = _SERIALIZED.get(token)
    if found is None:
        found = _SERIALIZED[token] = make()
    return found


def entity_key_bytes(entity_key: Any, entity_key_serialization_version: int) -> bytes:
    """Feast's ``serialize_entity_key`` (the SQLite online store's key), remembered."""
    from feast.infra.key_encoding_utils import serialize_entity_key

    version = entity_key_serialization_version
    return _remembered(
        "sqlite",
        entity_key,
        version,
        lambda: serialize_entity_key(entity_key, entity_key_serialization_version=version),
    )


def redis_key(project: str, entity_key: Any, entity_key_serialization_version: int) -> bytes:
    from feast.infra.online_stores.helpers import _redis_key

    version = entity_key_serialization_version
    return _remembered(
        f"redis:{project}",
        entity_key,
        version,
        lambda: _redis_key(project, entity_key, entity_key_serialization_version=version),
    )


def redis_field(name: str) -> bytes:
    from feast.infra.online_stores.helpers import _mmh3

    return _mmh3(name)


def redis_view_name(table: Any, config: Any) -> str:
    from feast.infra.online_stores.redis import _versioned_fv_name

    return _versioned_fv_name(table, config)


def redis_key_prefix(join_keys: list[str]) -> bytes:
    """The prefix of every Redis entity key of a view with these join keys."""
    from feast.infra.online_stores.redis import _redis_key_prefix

    return _redis_key_prefix(join_keys)
