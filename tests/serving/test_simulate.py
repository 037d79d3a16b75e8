"""A replayed production timeline: batches cut by the sources' own event times, served through the
real predictor, equal to the training set built with knowledge per row; a tampered receipt makes
the command exit 1."""

from __future__ import annotations

import pandas as pd
import pytest

from featurelock.cli import main
from featurelock.core.errors import ValidationError
from featurelock.data.batches import parse_duration, timeline
from featurelock.data.schema import Source
from featurelock.features.project import Project
from featurelock.scaffold import init_project
from featurelock.serving import predictor as predictor_module
from featurelock.serving.simulate import simulate
from tests.conftest import ts
from tests.engine.test_data_home import prepare


def source(name: str, times: list[str], static: bool = False) -> Source:
    frame = pd.DataFrame(
        {"id": [f"{name}{i}" for i in range(len(times))], "event_timestamp": [ts(t) for t in times]}
    )
    return Source(name=name, key="id", columns=(), static=static, load=lambda: frame)


def test_timeline_by_hand():
    events = source(
        "events", ["2024-01-01T10:00Z", "2024-01-02T00:00Z", "2024-01-08T23:59Z", "2024-01-20T00:00Z"]
    )
    fixed = source("fixed", ["2023-06-01T00:00Z"], static=True)
    batches = timeline({"events": events, "fixed": fixed}, pd.Timedelta(days=7), pd.Timedelta(days=1))
    # periods from midnight of the first event: [Jan 1, Jan 8), [Jan 8, Jan 15) [Jan 15, Jan 22)
    assert [b.known for b in batches] == [
        ts("2024-01-09T00:00Z"),
        ts("2024-01-16T00:00Z"),
        ts("2024-01-23T00:00Z"),
    ]
    assert [sorted(b.frames) for b in batches] == [["events", "fixed"], ["events"], ["events"]]
    assert [b.frames["events"]["id"].tolist() for b in batches] == [
        ["events0", "events1"],
        ["events2"],
        ["events3"],
    ]
    later = timeline(
        {"events": events}, pd.Timedelta(days=7), pd.Timedelta(hours=1), start="2024-01-08T00:00Z"
    )
    assert later[0].frames["events"]["id"].tolist() == ["events0", "events1", "events2"]  # earlier: first
    assert later[0].known == ts("2024-01-15T01:00Z")
    assert len(timeline({"events": events}, pd.Timedelta(days=7), pd.Timedelta(days=1), steps=2)) == 2


@pytest.mark.parametrize("text", ["7", "0d", "1w", "-1d", "seven days"])
def test_a_duration_that_is_not_one_is_refused(text):
    with pytest.raises(ValidationError, match=rf"--every={text!r} is not a duration; give a positive whole"):
        parse_duration(text, "--every")


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """An init project with a trained, promoted run (its visits arrive weekly)."""
    from featurelock.training.model import RunConfig
    from featurelock.training.runs import promote, train_run

    root = tmp_path_factory.mktemp("sim")
    project = Project(init_project(root / "shop"), root / "home")
    prepare(project)
    run = train_run(project, RunConfig(service="return_model_v1"))
    promote(project, run.run_id)
    return project


@pytest.mark.slow  # trains a model and replays 13 weeks (~20 s)
def test_the_init_project_served_along_its_timeline_equals_its_row_knowledge_training_set(shop, tmp_path):
    report = simulate(shop, pd.Timedelta(days=7), pd.Timedelta(days=1), out=tmp_path / "t")
    assert len(report.steps) == 13 and report.served == 1_620  # 20 customers x 81 days after Jan 9
    assert report.mismatches == 0 and report.replay_mismatches == 0 and not report.failed
    assert report.compared_cells == report.served  # one feature per prediction
    assert 0 < report.as_of_differences < report.compared_cells


@pytest.mark.slow
def test_a_tampered_receipt_makes_simulate_exit_1(shop, tmp_path, monkeypatch):
    real = predictor_module.Predictor.predict

    def tampered(self, requests):
        receipts = real(self, requests)
        if receipts:
            receipts[0]["features"]["visits_7d_v1"] = 999
        return receipts

    monkeypatch.setattr(predictor_module.Predictor, "predict", tampered)
    args = ["simulate", "--steps", "4", "--out", str(tmp_path / "t"), "--project", str(shop.root)]
    monkeypatch.setenv("FEATURELOCK_HOME", str(shop.home))
    assert main(args) == 1


@pytest.mark.slow
def test_simulate_never_deletes_a_folder_it_did_not_make(shop, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(ValidationError, match=r"was not made by `featurelock simulate`.*nothing was deleted"):
        simulate(shop, pd.Timedelta(days=7), pd.Timedelta(days=1), out=mine)
    assert (mine / "notes.txt").read_text() == "keep me"


def test_simulate_without_a_promoted_run_says_what_to_do(tmp_path):
    project = Project(init_project(tmp_path / "bare"), tmp_path / "home")
    with pytest.raises(Exception, match=r"serves a trained run, and none is promoted; train one"):
        simulate(project, pd.Timedelta(days=7), pd.Timedelta(days=1))
