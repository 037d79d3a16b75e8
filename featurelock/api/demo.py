"""The whole pipeline end to end, as ``featurelock demo`` runs it: a sequence of the API's calls,
each result printed through the command's own lines (``featurelock.render``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from featurelock import render
from featurelock.api.data import apply, ingest, registered
from featurelock.api.serving import materialize, parity, replay, serve_examples, simulate
from featurelock.api.training import build_dataset, promote, promoted, reproduce, train
from featurelock.core.errors import NotFoundError
from featurelock.core.progress import Progress, lines_of
from featurelock.core.settings import Profile
from featurelock.features.project import Project

DEMO_STEPS = 6  # weekly batches the demo's timeline replays (`featurelock simulate --steps 6`)

if TYPE_CHECKING:
    from featurelock.training.runs import TrainResult


def keep_promotion(project: Project, result: TrainResult, progress: Progress | None = None) -> str:
    """The demo's run is promoted only when nothing is promoted yet and it beats its baseline: the
    demo never replaces a user's promotion. Returns the run the demo serves (its own).

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    result : TrainResult
        The demo's run.
    progress : Progress, optional
        Receives what was decided.
    """
    from featurelock.training.runs import loses_to_baseline

    out = lines_of(progress)
    current = promoted(project)
    worse = loses_to_baseline(project, result.record)
    if current is not None:
        out.say(f"kept the promoted run {current}; the demo serves its own run {result.run_id} explicitly")
    elif worse is not None:
        out.say(f"not promoted: {worse} (the demo serves it explicitly; `promote --force` to serve it)")
    else:
        out.say(render.promoted(promote(project, result.run_id)))
    return result.run_id


def _say(out: Progress, lines: list[str]) -> None:
    for line in lines:
        out.say(line)


def demo(
    project: Project,
    profile: Profile = Profile.LOCAL,
    service: str | None = None,
    progress: Progress | None = None,
) -> bool:
    """The whole pipeline end to end, as ``featurelock demo`` runs it; True when the training set
    was built twice alike, the run reproduced, parity, replay and the simulated timeline clean.

    Parameters
    ----------
    project : Project
        As ``open_project`` gives it.
    profile : str
        ``local`` (default), ``production`` or ``spark``.
    service : str, optional
        The service to train and serve (default: the first by name).
    progress : Progress, optional
        Receives each line the demo prints (``featurelock.core.progress.Lines(sink=print)``).
    """
    out = lines_of(progress)
    if not project.services:
        missing = [
            kind
            for kind, found in (("a source", project.sources), ("a service", project.services))
            if not found
        ]
        raise NotFoundError(
            f"project {project.name!r} at {project.root} declares no service yet: nothing to run (nothing "
            f"was written). Declare {' and '.join(missing)} (each file under features/, training/ and "
            "serving/ holds a commented example; see README.md), run `featurelock lock`, then the demo."
        )
    if service is not None:
        project.service(service)  # an unknown service is refused before anything is written
    out.say(f"project {project.name} at {project.root} (data: {project.home}, profile {profile})")
    ingest(project, profile=profile, progress=out)
    apply(project, profile=profile, progress=out)
    with out.step("registered feature views"):
        _say(out, render.registered(registered(project, profile)))
    service = service or sorted(project.services)[0]
    first = build_dataset(project, service, profile=profile, progress=out)
    _say(out, render.dataset(first))
    _say(out, render.dataset(build_dataset(project, service, profile=profile, progress=out)))
    result = train(project, service, profile=profile, progress=out)
    _say(out, render.trained(result))
    served = keep_promotion(project, result, out)
    reproduction = reproduce(project, result.run_id, profile=profile, progress=out)
    _say(out, render.reproduction(reproduction))
    if not reproduction.identical:
        return False
    materialize(project, project.examples.at, rewind=True, profile=profile, progress=out)
    answers = serve_examples(project, run=served, profile=profile, progress=out)
    _say(out, render.served(answers))
    checked = parity(project, run=served, profile=profile, progress=out)
    _say(out, render.parity(checked))
    if checked.mismatches != 0:
        return False
    receipts = [receipt for _, receipt in answers.answers]
    replayed = replay(project, receipts=receipts, profile=profile, progress=out)
    _say(out, render.replayed(replayed))
    if replayed.mismatches != 0:
        return False
    # the store in time: the project replayed as weekly batches, served as production would have
    # been, against the training set built with knowledge per row (local stores, a scratch folder)
    timeline = simulate(project, "7d", "1d", steps=DEMO_STEPS, progress=out)
    _say(out, render.simulated(timeline))
    if timeline.failed:
        return False
    out.say(
        "Demo complete: data ingested, features built, lock verified, definitions applied, training set "
        "built twice (same hash), model trained and reproduced exactly, features materialized, "
        "predictions served, parity and replay clean, a replayed timeline served as its training set."
    )
    out.say(f"  training set  {first.folder}")
    out.say(f"  run           {result.path}")
    out.say(f"  report        {result.path / 'report.html'}")
    out.say(f"  prediction log {answers.log}")
    flag = f" --project {project.root}" + ("" if profile == Profile.LOCAL else f" --profile {profile}")
    out.say("next:")
    out.say(f"  featurelock serve{flag}                   # the API, docs at http://127.0.0.1:8000/docs")
    out.say(f"  featurelock runs{flag}                    # runs, * = promoted")
    out.say(f"  featurelock dataset verify {first.folder}{flag}")
    out.say(f"  featurelock lineage {project.service(service).all_refs[0]}{flag}")
    return True
