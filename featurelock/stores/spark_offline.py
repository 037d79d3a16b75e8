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

from collections.abc import Callable
from typing import Any

import pandas as pd
from pydantic import StrictStr

from featurelock.stores.duckdb_offline import (
    FeaturelockDuckDBOfflineStore,
    FeaturelockDuckDBOfflineStoreConfig,
)

STORE_TYPE = "featurelock.stores.spark_offline.FeaturelockSparkOfflineStore"


class FeaturelockSparkOfflineStoreConfig(FeaturelockDuckDBOfflineStoreConfig):
    type: StrictStr = STORE_TYPE  # data_home and require_as_of as the DuckDB store's; threads unused


class FeaturelockSparkOfflineStore(FeaturelockDuckDBOfflineStore):
    """The DuckDB store's boundary and inherited methods, with Spark as the join engine."""

    @staticmethod
    def _join(config: Any) -> Callable[..., pd.DataFrame]:
        from featurelock.stores.spark_join import point_in_time_join_spark

        return lambda df, views, ts_col, as_of: point_in_time_join_spark(df, views, ts_col, as_of=as_of)

    @staticmethod
    def _knowledge_times(views: list[Any]) -> list[pd.Timestamp]:
        from featurelock.stores.spark_join import knowledge_times_spark

        return knowledge_times_spark(views)
