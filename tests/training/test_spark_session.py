"""The Spark session featurelock uses: its value-deciding settings, and a session that lacks them."""

from __future__ import annotations

import pytest

from featurelock.core.errors import ValidationError
from featurelock.stores.spark_session import FIXED, check_settings, master_url, spark_session

pytestmark = [pytest.mark.slow, pytest.mark.spark]


def test_the_session_has_the_fixed_settings(spark):
    assert spark_session() is spark  # one session per process
    for key in (
        "spark.sql.session.timeZone",
        "spark.sql.ansi.enabled",
        "spark.sql.legacy.parquet.nanosAsLong",
    ):
        assert spark.conf.get(key).lower() == FIXED[key].lower()
    assert spark.conf.get("spark.sql.shuffle.partitions") == "2"
    assert spark.sparkContext.master == master_url()  # local[2] unless FEATURELOCK_SPARK_MASTER says


@pytest.mark.parametrize(
    ("key", "value"),
    [("spark.sql.session.timeZone", "America/New_York"), ("spark.sql.ansi.enabled", "false")],
)
def test_a_session_with_other_value_deciding_settings_is_refused(spark, key, value):
    before = spark.conf.get(key)
    spark.conf.set(key, value)
    try:
        with pytest.raises(
            ValidationError, match=rf"active Spark session has {key}='{value}'.*featurelock needs"
        ):
            spark_session()
        with pytest.raises(ValidationError, match=rf"{key}"):
            check_settings(spark)
    finally:
        spark.conf.set(key, before)
    assert spark_session() is spark
