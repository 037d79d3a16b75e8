"""A pytest plugin that runs Feast's own universal offline-store tests against our stores.

Feast's test suite (``sdk/python/tests`` of Feast's sources, not shipped in its wheel) picks the
offline stores to test from the module named by ``FULL_REPO_CONFIGS_MODULE``; this is that module,
loaded by ``tests/training/test_feast_universal.py`` as ``-p featurelock_universal`` with
``FULL_REPO_CONFIGS_MODULE=featurelock_universal``. ``FEATURELOCK_UNIVERSAL_STORE`` names the
store under test (``STORES``), Feast's own DuckDB store included as the baseline.

What is ours here: the data-source creators (Feast's creator of Parquet files, configured with
each store), the ``worker_id`` fixture that pytest-xdist would give, and pointing Feast's file-only test
(``universal_offline_stores(only=["file"])``) at the store under test.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from feast.infra.offline_stores.duckdb import DuckDBOfflineStoreConfig
from tests.universal.feature_repos.integration_test_repo_config import IntegrationTestRepoConfig
from tests.universal.feature_repos.universal.data_source_creator import DataSourceCreator
from tests.universal.feature_repos.universal.data_sources.file import FileDataSourceCreator

from featurelock.stores.duckdb_offline import FeaturelockDuckDBOfflineStoreConfig
from featurelock.stores.spark_offline import FeaturelockSparkOfflineStoreConfig


class FeaturelockDuckDBSourceCreator(FileDataSourceCreator):
    def create_offline_store_config(self) -> Any:
        return FeaturelockDuckDBOfflineStoreConfig()


class FeaturelockSparkSourceCreator(FileDataSourceCreator):
    def create_offline_store_config(self) -> Any:
        return FeaturelockSparkOfflineStoreConfig()


class FeastDuckDBSourceCreator(FileDataSourceCreator):
    def create_offline_store_config(self) -> Any:
        return DuckDBOfflineStoreConfig()


STORES: dict[str, type[DataSourceCreator]] = {
    "featurelock-duckdb": FeaturelockDuckDBSourceCreator,
    "featurelock-spark": FeaturelockSparkSourceCreator,
    "feast-duckdb": FeastDuckDBSourceCreator,
}
CREATOR = STORES[os.environ.get("FEATURELOCK_UNIVERSAL_STORE", "featurelock-duckdb")]
FULL_REPO_CONFIGS = [IntegrationTestRepoConfig(offline_store_creator=CREATOR)]


@pytest.fixture(scope="session")
def worker_id() -> str:
    """What pytest-xdist names the only worker of a run without it."""
    return "master"


def pytest_configure(config: Any) -> None:
    from tests.universal.feature_repos import repo_configuration

    repo_configuration.OFFLINE_STORE_TO_PROVIDER_CONFIG["file"] = ("local", CREATOR)
