"""The public Python API gives what the command gives: same training-set hash, runs that reproduce,
online features and predictions at an explicit time."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

import featurelock.api as fl
from featurelock.cli import main
from featurelock.core.errors import ValidationError
from featurelock.core.progress import Lines
from featurelock.scaffold import init_project
from tests.engine.test_data_home import prepare

pytestmark = pytest.mark.slow
AT = "2024-03-30T00:00:00+00:00"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = init_project(tmp_path_factory.mktemp("api") / "shop")
    p = fl.open_project(root, home=root.parent / "home")
    prepare(p)
    return p


def test_training_set_is_the_command_s(project, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("FEATURELOCK_HOME", str(project.home))
    ts = fl.training_set(project, "return_model_v1", out=tmp_path / "ts")
    assert (
        main(["dataset", "build", "--service", "return_model_v1", "--json", "--project", str(project.root)])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["sha256"] == ts.sha256
    assert list(ts.frame.columns) == ["row_id", "event_timestamp", "customer", "label", "visits_7d_v1"]
    assert fl.read_training_set(tmp_path / "ts").sha256 == ts.sha256
    frame = pd.read_parquet(tmp_path / "ts" / "training_set.parquet")
    frame.loc[0, "label"] = 1 - frame.loc[0, "label"]
    frame.to_parquet(tmp_path / "ts" / "training_set.parquet")
    with pytest.raises(ValidationError, match=r"does not hold the values its manifest records"):
        fl.read_training_set(tmp_path / "ts")


def test_train_reproduce_predict(project):
    run = fl.train(
        project,
        "return_model_v1",
        estimator=RandomForestClassifier(n_estimators=10, max_depth=3),
        trusted_types=("sklearn.tree._tree.Tree",),
        promote=True,
    )
    assert fl.reproduce(project, run.run_id).identical
    assert [r.promoted for r in fl.runs(project) if r.run_id == run.run_id] == [True]
    from featurelock.serving.materialize import materialize

    materialize(project, end=AT, rewind=True)
    rows = [{"customer": "c01", "prediction_time": AT}, {"customer": "nobody", "prediction_time": AT}]
    online = fl.online_features(project, rows)
    assert pd.isna(online.loc[1, "visits_7d_v1"]) and online.loc[0, "visits_7d_v1"] >= 0
    assert online.loc[0, "__ts__visits_7d_v1"] == pd.Timestamp(AT)
    receipts = fl.predict(project, rows)
    assert [r["run_id"] for r in receipts] == [run.run_id] * 2
    assert receipts[1]["missing_features"] == ["visits_7d_v1"]
    with pytest.raises(ValidationError, match=r"lacks \['prediction_time'\]"):
        fl.predict(project, [{"customer": "c01"}])


def test_the_demo_runs_through_the_api(tmp_path, monkeypatch):
    root = init_project(tmp_path / "shop")
    monkeypatch.setenv("FEATURELOCK_HOME", str(tmp_path / "home"))
    lines: list[str] = []
    assert fl.demo(fl.open_project(root), progress=Lines(sink=lines.append)) is True
    assert "reproduced exactly" in lines and lines.count("0 mismatches") == 2
