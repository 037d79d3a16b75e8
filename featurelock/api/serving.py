"""Serving: materialize, the API, predictions, and the checks that served equals research
(parity, replay, a simulated production timeline)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from featurelock.core.errors import NotFoundError, ValidationError
from featurelock.core.progress import Progress, lines_of
from featurelock.core.settings import Profile
from featurelock.features.project import Project
from featurelock.results import Served

if TYPE_CHECKING:
    from featurelock.serving.materialize import ViewMaterialization
    from featurelock.serving.parity import ParityReport
    from featurelock.serving.replay import ReplayReport
    from featurelock.serving.simulate import SimulationReport


def _require_built(project: Project) -> None:
    """Refuse, before anything is written, a call that needs built and applied feature tables."""
    from featurelock.features.generations import current_generation
    from featurelock.training.dataset import raw_store

    if not raw_store(project).knowledge_times():
        raise NotFoundError(f"The raw store is empty; run `featurelock ingest` first (data: {project.home}).")
    if current_generation(project.feature_tables_dir) is None:
        raise NotFoundError(f"No feature tables are built in {project.home}; run `featurelock apply` first.")


def materialize(
    project: Project,
    end: str | None = None,
    rewind: bool = False,
    profile: Profile = Profile.LOCAL,
    progress: Progress | None = None,
) -> list[ViewMaterialization]:
    """Write each view's newest feature values up to ``end`` (default: the newest event) into the
    online store, incrementally.

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    end : str, optional
        An event time, ISO 8601 with offset.
    rewind : bool
        Rebuild views already materialized past ``end`` (the store then answers as of ``end``).
    profile : str
        Whose online store: ``local`` (default), ``production`` or ``spark``.
    progress : Progress, optional
        Receives the step and its lines.
    """
    from featurelock.data.validate import check_knowledge_time
    from featurelock.serving.materialize import materialize as write

    if end is not None:
        check_knowledge_time(end)  # the argument first, then the state it needs
    _require_built(project)
    out = lines_of(progress)
    with out.step("materialize into the online store"):
        return write(project, end=end, profile=profile, progress=out.say, rewind=rewind)


def parity(
    project: Project,
    sample: int = 1000,
    at: str | None = None,
    run: str | None = None,
    profile: Profile = Profile.LOCAL,
    progress: Progress | None = None,
) -> ParityReport:
    """Online against offline feature values, and served against research predictions, for
    ``sample`` population rows at ``at`` (default: the time the project's examples declare).

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    sample : int
        How many entity rows to compare.
    at : str, optional
        The time, ISO 8601 with offset (up to the newest knowledge time).
    run : str, optional
        A run instead of the promoted one.
    profile : str
        ``local`` (default), ``production`` or ``spark``.
    progress : Progress, optional
        Receives the step and its lines.
    """
    from featurelock.serving.parity import parity as compare
    from featurelock.stores.pit import check_at

    asked = check_at(at, "--at") if at is not None else None  # the argument first, then the state
    _require_built(project)
    if asked is not None:
        from featurelock.training.dataset import raw_store

        newest = raw_store(project).knowledge_times()[-1]
        if asked > newest.to_pydatetime():
            raise ValidationError(
                f"--at={at!r} is after the newest knowledge time in the raw store ({newest.isoformat()}): "
                "nothing is known then, so every feature would be missing and parity trivially clean. "
                f"Pass a time up to {newest.isoformat()}, or none for the project's own."
            )
    out = lines_of(progress)
    with out.step(f"parity on {sample:,} entity rows"):
        return compare(project, sample=sample, at=at, profile=profile, run=run, progress=out.say)


def replay(
    project: Project,
    log: str | Path | None = None,
    receipts: list[dict[str, Any]] | None = None,
    knowledge: str = "as-of",
    profile: Profile = Profile.LOCAL,
    progress: Progress | None = None,
) -> ReplayReport:
    """Re-score the predictions of a log (or the given ``receipts``) offline and compare features
    and probabilities.

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    log : str or Path, optional
        A prediction log (its rotated parts included).
    receipts : list of dict, optional
        Receipts instead of a log (the demo replays what it served).
    knowledge : str
        ``as-of`` (everything known now) or ``row`` (what was known at each prediction's time).
    profile : str
        ``local`` (default), ``production`` or ``spark``.
    progress : Progress, optional
        Receives the step.
    """
    from featurelock.serving.replay import replay as rescore
    from featurelock.serving.replay import replay_receipts

    what = f"the {len(receipts)} prediction(s) just served" if receipts is not None else str(log)
    with lines_of(progress).step(f"replay {what}"):
        if receipts is not None:
            return replay_receipts(project, receipts, profile=profile, knowledge=knowledge)
        return rescore(project, Path(str(log)), profile=profile, knowledge=knowledge)


def simulate(
    project: Project,
    every: str = "7d",
    latency: str = "1d",
    start: str | None = None,
    steps: int | None = None,
    run: str | None = None,
    out: str | None = None,
    profile: Profile = Profile.LOCAL,
    progress: Progress | None = None,
) -> SimulationReport:
    """Replay the project as a production timeline (ingest, incremental build, materialize, serve
    each batch's due rows) and compare what was served with the training set built with knowledge
    per row; ``.failed`` on any mismatch.

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    every : str
        The batch period: ``7d``, ``1d``, ``12h``, ``30m``.
    latency : str
        How long after its period a batch is known.
    start : str, optional
        The start of the first period, ISO 8601 (default: midnight of the first event).
    steps : int, optional
        Replay only the first ``steps`` batches.
    run : str, optional
        A run instead of the promoted one.
    out : str, optional
        The scratch data directory (default: ``<data>/simulation``, replaced on each run).
    profile : str
        Only ``local``: the timeline runs on the embedded stores.
    progress : Progress, optional
        Receives the step and its lines.
    """
    from featurelock.data.batches import parse_duration
    from featurelock.serving.simulate import simulate as replay_timeline

    period, late = parse_duration(every, "--every"), parse_duration(latency, "--latency")
    if start is not None:
        from featurelock.core.times import aware_timestamp

        aware_timestamp(start, "--from")  # the arguments first, then the state they need
    if profile != Profile.LOCAL:
        raise ValidationError(
            f"--profile {profile}: simulate replays the timeline in a scratch directory of its own on "
            "the local profile (DuckDB, SQLite); run it without --profile."
        )
    reporter = lines_of(progress)
    with reporter.step(f"simulate: batches every {every}, known {latency} after each period"):
        return replay_timeline(
            project, period, late, start=start, steps=steps, run=run, out=out, progress=reporter.say
        )


def serve_examples(
    project: Project,
    run: str | None = None,
    profile: Profile = Profile.LOCAL,
    progress: Progress | None = None,
) -> Served:
    """Start the API for ``run`` (default: the promoted one) on a free loopback port, post the
    project's example requests, stop it; the answers and the log it wrote.

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    run : str, optional
        A run instead of the promoted one.
    profile : str
        ``local`` (default), ``production`` or ``spark``.
    progress : Progress, optional
        Receives the step.
    """
    from featurelock.serving.loopback import serve_examples as post

    what = f"serve: start the API for run {run} on loopback and send the example requests"
    with lines_of(progress).step(what):
        answers, log = post(project, profile, run=run)
    return Served(answers, log)


def serve(
    project: Project,
    run: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    profile: Profile = Profile.LOCAL,
) -> None:
    """Serve the prediction API until stopped (``featurelock serve``): everything is checked once,
    here, before a server starts; each of ``workers`` processes then serves the same run.

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    run : str, optional
        A run instead of the promoted one.
    host : str
        The interface to listen on.
    port : int
        The TCP port.
    workers : int
        Worker processes (one per core is the usual choice).
    profile : str
        ``local`` (default), ``production`` or ``spark``.
    """
    import os

    import uvicorn

    from featurelock.serving.app import WORKER_ENV, create_app
    from featurelock.training.runs import promoted_run

    app = create_app(project, run, profile)  # checks everything once, in this process
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level="warning")
        return
    # Each worker builds the same app from these variables (uvicorn starts them as new processes):
    # the same run (resolved here, so a promotion while starting cannot split them), project, data
    # directory and profile.
    os.environ.update(
        {
            WORKER_ENV["project"]: str(project.root),
            WORKER_ENV["home"]: str(project.home),
            WORKER_ENV["run"]: str(run or promoted_run(project)),
            WORKER_ENV["profile"]: profile,
        }
    )
    uvicorn.run(
        "featurelock.serving.app:app_from_environment",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="warning",
    )


def _requests(predictor: Any, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    from featurelock.serving.predictor import request_from_mapping

    return [
        request_from_mapping(
            dict(r),
            predictor.keys,
            predictor.inputs,
            predictor.population.id,
            tuple(lk.key for lk in predictor.lookups),
        )
        for r in rows
    ]


def online_features(
    project: Project,
    requests: Sequence[Mapping[str, Any]],
    profile: Profile = Profile.LOCAL,
    run: str | None = None,
) -> pd.DataFrame:
    """The served run's online feature values for each request at its ``prediction_time`` (required:
    a read has a time), one row per request, with each value's event timestamp (``__ts__<column>``).

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    requests : sequence of mapping
        Requests as the API takes them (join keys, inputs, ``prediction_time``).
    profile : str
        Whose online store: ``local`` (default), ``production`` or ``spark``.
    run : str, optional
        A run instead of the promoted one.
    """
    from featurelock.serving.predictor import Predictor

    predictor = Predictor.load(project, run, profile)
    values, stamps = predictor.online(_requests(predictor, requests))
    frame = pd.DataFrame(values)
    for column in predictor.feast_columns:
        frame[f"__ts__{column}"] = pd.to_datetime(stamps[column], utc=True)
    return frame


def predict(
    project: Project,
    requests: Sequence[Mapping[str, Any]],
    profile: Profile = Profile.LOCAL,
    run: str | None = None,
) -> list[dict[str, Any]]:
    """Predictions with receipts, as ``POST /predict`` gives them (not logged).

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    requests : sequence of mapping
        Requests as the API takes them (join keys, inputs, ``prediction_time``).
    profile : str
        Whose online store: ``local`` (default), ``production`` or ``spark``.
    run : str, optional
        A run instead of the promoted one.
    """
    from featurelock.serving.predictor import Predictor

    predictor = Predictor.load(project, run, profile)
    return json.loads(json.dumps(predictor.predict(_requests(predictor, requests)), default=str))
