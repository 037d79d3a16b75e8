"""`featurelock materialize` with no end materializes up to the newest event, then resumes."""

from __future__ import annotations

import pandas as pd
import pytest

from featurelock.features.project import Project
from featurelock.scaffold import init_project
from featurelock.serving.materialize import materialize, read_state
from tests.engine.test_data_home import prepare

pytestmark = pytest.mark.slow


def test_materialize_without_an_end_goes_to_the_newest_event_and_resumes(tmp_path):
    project = Project(init_project(tmp_path / "shop"), tmp_path / "home")
    prepare(project)
    first = materialize(project)
    newest = pd.read_parquet(project.feature_tables_dir / "customer_daily.parquet")["event_timestamp"].max()
    assert [m.rows for m in first] == [20]  # one newest row per customer
    assert read_state(project)["customer_daily"]["end"] == newest.isoformat()
    assert [m.rows for m in materialize(project)] == [0]  # nothing new since the high-water mark
