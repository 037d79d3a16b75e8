"""The typed records: a manifest and a run record read from disk write back the same JSON, an old
record keeps its keys, a damaged one is one line naming the field."""

from __future__ import annotations

import json

import pytest

from featurelock.core.errors import ValidationError
from featurelock.training.records import Manifest, RunRecord, read_manifest, read_run_record

INPUTS = {
    "source data": {"raw": {"visits": "sha256:" + "1" * 64}, "feature_tables": {}},
    "feature definitions": {
        "features": [{"ref": "visits_7d@v1", "column": "visits_7d_v1", "fingerprint": "sha256:a"}],
        "request_features": [{"ref": "hour@v1", "column": "hour_v1", "fingerprint": "sha256:b"}],
        "features_lock_sha256": "sha256:" + "2" * 64,
    },
    "population": {"ref": "days@v1", "fingerprint": "sha256:c", "definition": {"id": "row_id"}},
    "environment": {"requirements_lock_sha256": "sha256:" + "3" * 64, "python": "3.11.9"},
}
MANIFEST = {  # as written before knowledge modes: no "knowledge", no "feature_generation"
    "format": "featurelock-dataset/2",
    "project": "shop",
    "service": "return_model_v1",
    "as_of": "2024-04-01T00:00:00+00:00",
    "as_of_source": "argument",
    "inputs": INPUTS,
    "population_rows_sha256": "sha256:" + "4" * 64,
    "rows": 120,
    "columns": {"row_id": "object", "label": "int64"},
    "content_sha256": "sha256:" + "5" * 64,
    "a_newer_engines_key": [1, 2.5, None],
}


def test_a_manifest_reads_and_writes_back_the_same_json(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(MANIFEST, sort_keys=True, indent=2) + "\n")
    manifest = read_manifest(tmp_path)
    assert manifest.text() == path.read_text()  # byte for byte: no key added, none lost
    assert manifest.knowledge == "as-of"  # the default of old manifests, not written
    assert manifest.sha256 == "sha256:" + "5" * 64 and manifest.rows == 120
    assert manifest.feature_fingerprints == {"visits_7d@v1": "sha256:a", "hour@v1": "sha256:b"}
    assert manifest.features_lock_sha256 == "sha256:" + "2" * 64
    assert manifest.population == "days@v1 sha256:c"
    assert manifest.stage("environment")["python"] == "3.11.9"


def test_a_run_record_keeps_its_manifest_and_omits_what_it_was_not_given(tmp_path):
    record = {
        "format": "featurelock-run/1",
        "run_id": "20260101T000000000000Z-return_model_v1-abcd1234",
        "config": {"service": "return_model_v1", "model": "hgb", "seed": 7},
        "feature_columns": ["visits_7d_v1", "hour_v1"],
        "model": {"file_sha256": "sha256:m", "content_sha256": "sha256:n"},
        "baseline": {"file_sha256": "sha256:o", "content_sha256": "sha256:p"},
        "dataset": MANIFEST,
        "split": {"holdout_from": "2024-03-01T00:00:00Z", "train_rows": 90, "holdout_rows": 30},
        "metrics": {"model": {"roc_auc": 0.75, "brier": 0.2}, "baseline": {"roc_auc": 0.5, "brier": 0.25}},
        "holdout_predictions_sha256": "sha256:q",
        "git": {"commit": "unknown", "dirty": False},
        "environment": INPUTS["environment"],
        "features_lock_sha256": "sha256:" + "2" * 64,
        "previous_promoted": None,
    }  # an old run: no categories, no hyperparameters, no estimator, no project
    path = tmp_path / "run.json"
    path.write_text(json.dumps(record, sort_keys=True, indent=2) + "\n")
    run = read_run_record(path, "train again.")
    assert run.text() == path.read_text()
    assert (run.service, run.model_spec, run.metric("roc_auc"), run.metric("brier", "baseline")) == (
        "return_model_v1",
        "hgb",
        0.75,
        0.25,
    )
    assert run.categories == {} and run.estimator is None and run.dataset.rows == 120
    assert isinstance(run.dataset, Manifest) and run.requirements_lock_sha256 == "sha256:" + "3" * 64


def test_a_damaged_record_is_one_line_naming_the_field(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({**MANIFEST, "rows": "many"}))
    with pytest.raises(
        ValidationError,
        match=r"manifest.json is a damaged dataset manifest: 'rows' is 'many' \(int_parsing\); restore",
    ):
        read_manifest(path)
    with pytest.raises(
        ValidationError, match=r"run.json is a damaged run record: 'run_id' is missing; fix it"
    ):
        RunRecord.read({"format": "featurelock-run/1"}, "run.json", "fix it")
