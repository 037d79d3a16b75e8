"""`featurelock runs export --mlflow`: the exported run's tags equal run.json's hashes; read back
with the MLflow client."""

from __future__ import annotations

import json

import pytest

from featurelock.cli import main
from featurelock.features.project import Project
from featurelock.scaffold import init_project
from featurelock.training.model import RunConfig
from featurelock.training.runs import train_run
from tests.engine.test_data_home import prepare

mlflow = pytest.importorskip(
    "mlflow", reason="MLflow is an optional extra (pip install 'featurelock[mlflow]')"
)
pytestmark = pytest.mark.slow


def test_export_logs_hashes_params_metrics_and_artifacts(tmp_path, monkeypatch, capsys):
    from mlflow.tracking import MlflowClient

    root = init_project(tmp_path / "shop")
    project = Project(root, tmp_path / "home")
    prepare(project)
    run = train_run(project, RunConfig(service="return_model_v1"))
    record = json.loads((run.path / "run.json").read_text())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FEATURELOCK_HOME", str(project.home))
    uri = f"sqlite:///{tmp_path / 'tracking' / 'mlflow.db'}"
    (tmp_path / "tracking").mkdir()
    capsys.readouterr()  # what feast apply printed while preparing
    assert main(["runs", "export", "--mlflow", uri, "--json", "--project", str(root)]) == 0
    exported = json.loads(capsys.readouterr().out)["runs"]
    assert [(e["run_id"], e["status"]) for e in exported] == [(run.run_id, "exported")]

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("featurelock/shop")
    logged = client.get_run(exported[0]["mlflow_run_id"])
    tags = logged.data.tags
    assert tags["featurelock.run_id"] == run.run_id
    assert tags["featurelock.training_set_sha256"] == record["dataset"]["content_sha256"]
    assert tags["featurelock.as_of"] == record["dataset"]["as_of"]
    assert tags["featurelock.features_lock_sha256"] == record["features_lock_sha256"]
    assert tags["featurelock.model_content_sha256"] == record["model"]["content_sha256"]
    assert tags["featurelock.holdout_predictions_sha256"] == record["holdout_predictions_sha256"]
    fingerprint = record["dataset"]["inputs"]["feature definitions"]["features"][0]["fingerprint"]
    assert tags["featurelock.fingerprint.visits_7d.v1"] == fingerprint
    assert logged.data.params["config.seed"] == "7" and logged.data.params["model.C"] == "1.0"
    assert logged.data.metrics["model.roc_auc"] == record["metrics"]["model"]["roc_auc"]
    artifacts = sorted(a.path for a in client.list_artifacts(logged.info.run_id))
    assert artifacts == ["baseline.skops", "model.skops", "report.html", "run.json"]
    assert experiment.artifact_location.endswith("/tracking/mlflow-artifacts")
    assert not (tmp_path / "mlruns").exists()  # nothing written in the working directory

    assert main(["runs", "export", "--mlflow", uri, "--json", "--project", str(root)]) == 0
    again = json.loads(capsys.readouterr().out)["runs"]
    assert [e["status"] for e in again] == ["already there"]  # idempotent
    assert len(client.search_runs([experiment.experiment_id])) == 1
