"""A Feast offline store whose point-in-time join is DuckDB's native ASOF JOIN.

Selected in ``feature_store.yaml`` with
``offline_store: {type: featurelock.stores.duckdb_offline.FeaturelockDuckDBOfflineStore}``; Feast
finds ``FeaturelockDuckDBOfflineStoreConfig`` in this module by name. Everything but
``get_historical_features`` is inherited from Feast's DuckDB store. The entity frame carries
``featurelock_as_of`` (see ``featurelock.stores.retrieval``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
from feast.infra.offline_stores.duckdb import DuckDBOfflineStore, DuckDBOfflineStoreConfig
from feast.infra.offline_stores.offline_store import RetrievalJob
from pydantic import StrictStr

from featurelock.stores.duckdb_join import knowledge_times, point_in_time_join
from featurelock.stores.retrieval import historical_retrieval

STORE_TYPE = "featurelock.stores.duckdb_offline.FeaturelockDuckDBOfflineStore"


class FeaturelockDuckDBOfflineStoreConfig(DuckDBOfflineStoreConfig):
    type: StrictStr = STORE_TYPE
    threads: int | None = None  # DuckDB threads; None = DuckDB's default
    data_home: StrictStr | None = None  # where relative source paths lie (set by featurelock)
    require_as_of: bool = False  # True: refuse a retrieval whose entity_df has no featurelock_as_of


class FeaturelockDuckDBOfflineStore(DuckDBOfflineStore):
    """Historical retrieval through ``retrieval.historical_retrieval`` with this store's engine
    (``_join`` and ``_knowledge_times``; the Spark store overrides both). ``filter_by_created_timestamp``
    is honoured: knowledge per row (see ``retrieval``)."""

    supports_filter_by_created_timestamp = True  # knowledge per row (retrieval.join_row_knowledge)

    @staticmethod
    def _join(config: Any) -> Callable[..., pd.DataFrame]:
        threads = getattr(config.offline_store, "threads", None)
        return lambda df, views, ts_col, as_of: point_in_time_join(
            df, views, ts_col, as_of=as_of, threads=threads
        )

    @staticmethod
    def _knowledge_times(views: list[Any]) -> list[pd.Timestamp]:
        return knowledge_times(views)

    @classmethod
    def get_historical_features(  # type: ignore[override]
        cls,
        config: Any,
        feature_views: list[Any],
        feature_refs: list[str],
        entity_df: pd.DataFrame | str,
        registry: Any,
        project: str,
        full_feature_names: bool = False,
        filter_by_created_timestamp: bool = False,
        **kwargs: Any,
    ) -> RetrievalJob:
        return historical_retrieval(
            config,
            feature_views,
            feature_refs,
            entity_df,
            full_feature_names,
            filter_by_created_timestamp,
            join=cls._join(config),
            knowledge_times=cls._knowledge_times,
            registry=registry,
            project=project,
        )
