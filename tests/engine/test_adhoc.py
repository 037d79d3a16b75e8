"""An ad-hoc scikit-learn estimator (made in a notebook, declared nowhere) is trained, recorded,
reproduced exactly, promoted and served like a declared model spec."""

from __future__ import annotations

import pytest
from sklearn.ensemble import RandomForestClassifier

from featurelock.features.project import Project
from featurelock.scaffold import init_project
from featurelock.serving.parity import parity
from featurelock.training.artifacts import ArtifactError
from featurelock.training.model import RunConfig
from featurelock.training.runs import promote, read_run, reproduce, train_run
from tests.engine.test_data_home import prepare

pytestmark = pytest.mark.slow
TREE = "sklearn.tree._tree.Tree"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = init_project(tmp_path_factory.mktemp("adhoc") / "shop")
    p = Project(root, root.parent / "home")
    prepare(p)
    return p


def forest() -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=15, max_depth=4, min_samples_leaf=5)


def test_an_untrusted_type_is_refused_and_nothing_is_written(project):
    with pytest.raises(
        ArtifactError, match=r"sklearn.tree._tree.Tree.*trusted_types=\(\.\.\.\) for an ad-hoc"
    ):
        train_run(project, RunConfig(service="return_model_v1"), estimator=forest())
    assert not project.runs_dir.exists() or list(project.runs_dir.iterdir()) == []


def test_an_adhoc_estimator_is_recorded_reproduced_and_served(project):
    run = train_run(project, RunConfig(service="return_model_v1"), estimator=forest(), trusted_types=(TREE,))
    _, record = read_run(project, run.run_id)
    assert record.model_spec == "adhoc:sklearn.ensemble._forest.RandomForestClassifier"
    assert record.estimator is not None and record.estimator["trusted_types"] == [TREE]
    assert record.estimator["params"]["n_estimators"] == "15"
    again = train_run(
        project, RunConfig(service="return_model_v1"), estimator=forest(), trusted_types=(TREE,)
    )
    assert again.record.holdout_predictions_sha256 == run.record.holdout_predictions_sha256  # seeded
    assert reproduce(project, run.run_id).identical
    promote(project, run.run_id)
    report = parity(project, sample=200)
    assert report.mismatches == 0 and report.rows == 200


def test_a_swapped_estimator_file_is_refused(project):
    run = train_run(project, RunConfig(service="return_model_v1"), estimator=forest(), trusted_types=(TREE,))
    path = run.path / "estimator.skops"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=r"Refusing to load .*estimator.skops"):
        reproduce(project, run.run_id)
