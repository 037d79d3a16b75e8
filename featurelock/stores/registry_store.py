"""A Feast file registry store that lives in the data directory, written atomically.

Selected in ``feature_store.yaml`` with ``registry_store_type:
featurelock.stores.registry_store.DataHomeRegistryStore`` and a relative ``path``: the path is
resolved against the data directory (``$FEATURELOCK_HOME``, else ``feature_repo/data``), the same
rule featurelock uses, so plain ``feast`` and ``featurelock`` read one registry. Writes go aside,
are fsynced, then renamed over the old file: a killed ``feast apply`` leaves the previous registry.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from feast.infra.registry.file import FileRegistryStore

from featurelock.core.atomic import write_atomic
from featurelock.core.home import data_home_of


class DataHomeRegistryStore(FileRegistryStore):
    def __init__(self, registry_config: Any, repo_path: Path) -> None:
        super().__init__(registry_config, repo_path)
        path = Path(registry_config.path)
        self._filepath = path if path.is_absolute() else data_home_of(repo_path) / path

    def _write_registry(self, registry_proto: Any) -> None:
        registry_proto.version_id = str(uuid.uuid4())
        registry_proto.last_updated.FromDatetime(datetime.now(UTC))
        data = registry_proto.SerializeToString()
        write_atomic(self._filepath, lambda tmp: tmp.write_bytes(data))
