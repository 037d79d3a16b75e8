"""A private data directory with the real data, a small promoted model and a materialized store."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from featurelock.features import feast_repo
from featurelock.serving.materialize import materialize
from featurelock.training.model import RunConfig
from featurelock.training.runs import promote, train_run
from tests.conftest import DEFAULT_AT, nyc


@pytest.fixture(scope="session")
def served_home(real_home, tmp_path_factory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("served")
    for part in ("raw", "features"):
        shutil.copytree(real_home / part, home / part)
    before = os.environ["FEATURELOCK_HOME"]
    os.environ["FEATURELOCK_HOME"] = str(home)
    try:
        feast_repo.apply(nyc())
        run = train_run(nyc(), RunConfig(service="delay_model_v1", params={"max_iter": 30}))
        promote(nyc(), run.run_id)
        materialize(nyc(), end=DEFAULT_AT)
        yield home
    finally:
        os.environ["FEATURELOCK_HOME"] = before
