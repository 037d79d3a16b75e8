"""A Feast offline store whose point-in-time join runs on Spark (the ``spark`` profile).

Selected in ``feature_store.spark.yaml`` with
``offline_store: {type: featurelock.stores.spark_offline.FeaturelockSparkOfflineStore}``. The
master URL comes from ``FEATURELOCK_SPARK_MASTER`` (default ``local[2]``; see ``spark_session``).
Historical retrieval is ``spark_join``'s (the semantics of the DuckDB store, row for row); what
the rest of Feast asks of an offline store (materialization's latest rows per key) is inherited
from Feast's DuckDB store over the same Parquet tables. The entity frame carries ``featurelock_as_of``
(see ``featurelock.stores.retrieval``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from feast.infra.offline_stores.duckdb import DuckDBOfflineStore, DuckDBOfflineStoreConfig
from feast.infra.offline_stores.offline_store import RetrievalJob
from pydantic import StrictStr

from featurelock.stores.retrieval import historical_retrieval

STORE_TYPE = "featurelock.stores.spark_offline.FeaturelockSparkOfflineStore"


class FeaturelockSparkOfflineStoreConfig(DuckDBOfflineStoreConfig):
    type: StrictStr = STORE_TYPE
    data_home: StrictStr | None = None  # where relative source paths lie (set by featurelock)
    require_as_of: bool = False  # True: refuse a retrieval whose entity_df has no featurelock_as_of


class FeaturelockSparkOfflineStore(DuckDBOfflineStore):
    supports_filter_by_created_timestamp = False  # Feast raises NotImplementedError before calling us

    @staticmethod
    def get_historical_features(
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
        from featurelock.stores.spark_join import newest_knowledge_spark, point_in_time_join_spark

        return historical_retrieval(
            config,
            feature_views,
            feature_refs,
            entity_df,
            full_feature_names,
            filter_by_created_timestamp,
            join=lambda df, views, ts_col, as_of: point_in_time_join_spark(df, views, ts_col, as_of=as_of),
            newest_knowledge=newest_knowledge_spark,
        )
