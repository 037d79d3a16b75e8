"""The pipeline's steps as the command and the demo run them: each calls engine functions and
reports to a ``Reporter`` (lines for people, a step with its elapsed time, or one JSON document).

``demo`` is the whole pipeline end to end; the command line (``featurelock.cli``) only parses and
chooses how to report, and ``featurelock.api.demo`` runs the same steps quietly.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from featurelock.core.errors import NotFoundError, ValidationError
from featurelock.features.project import Project

DEMO_STEPS = 6  # weekly batches the demo's timeline replays (`featurelock simulate --steps 6`)


class Reporter(Protocol):
    as_json: bool

    def say(self, message: str) -> None: ...

    def step(self, what: str) -> AbstractContextManager[None]: ...

    def document(self, data: Any) -> None: ...


@dataclass
class Lines:
    """A plain reporter: lines to a list (or a callable), steps with their elapsed time."""

    sink: Any = None
    as_json: bool = False
    lines: list[str] = field(default_factory=list)

    def say(self, message: str) -> None:
        self.lines.append(message)
        if self.sink is not None:
            self.sink(message)

    @contextmanager
    def step(self, what: str) -> Iterator[None]:
        self.say(f"==> {what}")
        start = time.perf_counter()
        yield
        self.say(f"    done in {time.perf_counter() - start:.1f}s")

    def document(self, data: Any) -> None:
        self.say(json.dumps(data, indent=2, sort_keys=True, default=str))


@dataclass
class Session:
    """A project, the profile its stores are chosen by, and where progress is reported."""

    project: Project
    profile: str = "local"
    out: Reporter = field(default_factory=Lines)


def ingest(s: Session, file: str | None, table: str | None, knowledge_time: str | None) -> None:
    from featurelock.data.ingest import ingest_file, ingest_sources
    from featurelock.training.dataset import raw_store

    store = raw_store(s.project)
    if s.profile == "production":  # before anything is written locally: the profile, its server
        from featurelock.features.feast_repo import production_settings
        from featurelock.stores.pg import connect

        connect(production_settings(s.project)).close()
    with s.out.step("ingest raw tables"):
        if file:
            results = [ingest_file(str(table), file, knowledge_time, store)]
        else:
            results = ingest_sources(store, progress=s.out.say)
        for r in results:
            s.out.say(
                f"    {r.table:<9} {r.status:<9} {r.rows:>8,} rows  known at {r.knowledge_time.isoformat()}"
            )
    if s.profile == "production":
        from featurelock.features.publish import publish_raw

        with s.out.step("load the raw tables into PostgreSQL"):
            publish_raw(s.project, store, progress=s.out.say)


def features_build(s: Session, full: bool = False) -> None:
    from featurelock.features.build import build_feature_tables
    from featurelock.features.feast_repo import BUILD_ENGINE
    from featurelock.features.lockfile import check_lock
    from featurelock.training.dataset import raw_store

    project = s.project
    if s.profile == "production":  # before anything is written locally: the profile, its server
        from featurelock.features.feast_repo import production_settings
        from featurelock.stores.pg import connect

        connect(production_settings(project)).close()
    with s.out.step("check features.lock"):
        catalog = check_lock(project)
        s.out.say(
            f"    {len(catalog.specs)} feature versions and {len(catalog.populations)} population(s), "
            "all locked and unchanged"
        )
    engine = BUILD_ENGINE[s.profile]
    how = "from nothing" if full else "incremental"
    with s.out.step(f"build feature tables ({'Spark' if engine == 'spark' else 'DuckDB'}, {how})"):
        tables = build_feature_tables(
            catalog, raw_store(project), project.feature_tables_dir, engine=engine, full=full
        )
        for t in tables:
            s.out.say(f"    {t.view:<16} {t.rows:>9,} rows -> {t.path}")
    if s.profile == "production":
        from featurelock.features.publish import publish_feature_tables

        with s.out.step("load the feature tables into PostgreSQL"):
            publish_feature_tables(project, progress=s.out.say)


def apply(s: Session) -> None:
    from featurelock.features import feast_repo

    features_build(s)
    with s.out.step(f"feast apply (profile {s.profile})"):
        feast_repo.apply(s.project, s.profile)


def dataset_build(
    s: Session, service: str, as_of: str | None, out: str | None, knowledge: str | None = None
) -> dict[str, Any]:
    from featurelock.training.dataset import build_training_set, write_training_set

    with s.out.step(f"build training set for service {service}"):
        training_set = build_training_set(
            s.project, service, as_of=as_of, profile=s.profile, knowledge=knowledge
        )
        folder = write_training_set(s.project, training_set, Path(out) if out else None)
    m = training_set.manifest
    summary = {
        "service": service,
        "rows": m["rows"],
        "as_of": m["as_of"],
        "as_of_source": m["as_of_source"],
        "knowledge": m["knowledge"],
        "sha256": m["content_sha256"],
        "folder": str(folder),
    }
    if s.out.as_json:
        s.out.document(summary)
    else:
        s.out.say(f"    rows      {m['rows']:,}")
        s.out.say(f"    as_of     {m['as_of']} ({m['as_of_source']})")
        s.out.say(f"    knowledge {m['knowledge']}")
        s.out.say(f"    sha256    {m['content_sha256']}")
        s.out.say(f"    written   {folder}/training_set.parquet, manifest.json")
    return summary


def train(
    s: Session,
    service: str,
    model: str | None = None,
    seed: int | None = None,
    params: str | None = None,
    as_of: str | None = None,
    promote: bool = False,
    knowledge: str | None = None,
    force: bool = False,
) -> Any:
    from featurelock.training.model import RunConfig
    from featurelock.training.runs import promote as promote_run
    from featurelock.training.runs import train_run

    try:
        hyper = json.loads(params) if params else {}
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"--params {params!r} is not JSON (at column {exc.colno}); e.g. '{{\"max_iter\": 100}}'."
        ) from exc
    if not isinstance(hyper, dict):
        raise ValidationError(f"--params {params!r} is not a JSON object; e.g. '{{\"max_iter\": 100}}'.")
    config = RunConfig(
        service=service, model=model, seed=seed, params=hyper, as_of=as_of, knowledge=knowledge
    )
    with s.out.step(f"train on service {service}"):
        result = train_run(s.project, config, profile=s.profile, progress=s.out.say)
    m = result.record["metrics"]
    s.out.say(f"    run       {result.run_id}")
    s.out.say(f"    {'metric':<10} " + " ".join(f"{name[:28]:>28}" for name in m))
    for metric in ("roc_auc", "pr_auc", "log_loss", "brier"):
        s.out.say(f"    {metric:<10} " + " ".join(f"{m[name][metric]:>28.4f}" for name in m))
    s.out.say(f"    report    {result.path / 'report.html'}")
    if promote:
        history = promote_run(s.project, result.run_id, force=force)
        s.out.say(f"serving run: {history[-1]}")
    return result


def reproduce(s: Session, run: str) -> bool:
    from featurelock.training.runs import reproduce as rerun

    with s.out.step(f"reproduce {run}"):
        result = rerun(s.project, run, profile=s.profile)
    if result.identical:
        s.out.say("reproduced exactly")
        return True
    s.out.say(f"NOT reproduced: first diverging stage: {result.stage}")
    s.out.say(f"{'stage':<20} change")
    for stage, change in result.details:
        s.out.say(f"{stage:<20} {change}")
    return False


def require_built(project: Project) -> None:
    """Refuse, before anything is written, a command that needs built and applied feature tables."""
    from featurelock.features.generations import current_generation
    from featurelock.training.dataset import raw_store

    if not raw_store(project).knowledge_times():
        raise NotFoundError(f"The raw store is empty; run `featurelock ingest` first (data: {project.home}).")
    if current_generation(project.feature_tables_dir) is None:
        raise NotFoundError(f"No feature tables are built in {project.home}; run `featurelock apply` first.")


def materialize(s: Session, end: str | None, rewind: bool) -> None:
    from featurelock.data.validate import check_knowledge_time
    from featurelock.serving.materialize import materialize as write

    if end is not None:
        check_knowledge_time(end)  # the argument first, then the state it needs
    require_built(s.project)
    with s.out.step("materialize into the online store"):
        write(s.project, end=end, profile=s.profile, progress=s.out.say, rewind=rewind)


def parity(s: Session, sample: int = 1000, at: str | None = None, run: str | None = None) -> int:
    from dataclasses import asdict

    from featurelock.serving.parity import parity as compare
    from featurelock.stores.pit import check_at

    asked = check_at(at, "--at") if at is not None else None  # the argument first, then the state
    require_built(s.project)
    if asked is not None:
        from featurelock.training.dataset import raw_store

        newest = raw_store(s.project).knowledge_times()[-1]
        if asked > newest.to_pydatetime():
            raise ValidationError(
                f"--at={at!r} is after the newest knowledge time in the raw store ({newest.isoformat()}): "
                "nothing is known then, so every feature would be missing and parity trivially clean. "
                f"Pass a time up to {newest.isoformat()}, or none for the project's own."
            )
    with s.out.step(f"parity on {sample:,} entity rows"):
        report = compare(s.project, sample=sample, at=at, profile=s.profile, run=run, progress=s.out.say)
    if s.out.as_json:
        s.out.document({**asdict(report), "mismatches": report.mismatches})
        return report.mismatches
    s.out.say(f"    at {report.at}")
    s.out.say(f"    {'feature':<32} {'compared':>9} {'mismatches':>11} {'online nulls':>13}")
    for column, row in report.per_feature.items():
        s.out.say(
            f"    {column:<32} {row['compared']:>9,} {row['mismatches']:>11,} {row['online_nulls']:>13,}"
        )
    s.out.say(
        f"    {'predictions (served vs research)':<32} {report.rows:>9,} {report.prediction_mismatches:>11,}"
    )
    for example in report.examples:
        s.out.say(f"    e.g. {example}")
    s.out.say(f"{report.mismatches} mismatches")
    return report.mismatches


def replay(
    s: Session, log: Path, receipts: list[dict[str, Any]] | None = None, knowledge: str = "as-of"
) -> int:
    """Replay the log at ``log``, or only ``receipts`` (the demo replays what it served)."""
    from dataclasses import asdict

    from featurelock.serving.replay import replay as rescore
    from featurelock.serving.replay import replay_receipts

    what = f"the {len(receipts)} prediction(s) just served" if receipts is not None else str(log)
    with s.out.step(f"replay {what}"):
        if receipts is not None:
            report = replay_receipts(s.project, receipts, profile=s.profile, knowledge=knowledge)
        else:
            report = rescore(s.project, log, profile=s.profile, knowledge=knowledge)
    if s.out.as_json:
        s.out.document({**asdict(report), "mismatches": report.mismatches})
        return report.mismatches
    s.out.say(
        f"    {report.predictions:,} logged predictions: {report.feature_mismatches} feature and "
        f"{report.probability_mismatches} probability mismatches"
    )
    if report.backdated:
        s.out.say(
            f"    {report.backdated:,} backdated (served after newer values were materialized): "
            f"{report.backdated_missing} feature(s) missing for that reason, compared like with like"
        )
    for example in report.examples:
        s.out.say(f"    e.g. {example}")
    s.out.say(f"{report.mismatches} mismatches")
    return report.mismatches


def simulate(
    s: Session,
    every: str = "7d",
    latency: str = "1d",
    start: str | None = None,
    steps: int | None = None,
    run: str | None = None,
    out: str | None = None,
) -> bool:
    """Replay the project as a production timeline; True when what was served equals the training
    set with knowledge per row and the log replays clean."""
    from dataclasses import asdict

    from featurelock.data.batches import parse_duration
    from featurelock.serving.simulate import simulate as replay_timeline

    period, late = parse_duration(every, "--every"), parse_duration(latency, "--latency")
    if start is not None:
        from featurelock.core.times import aware_timestamp

        aware_timestamp(start, "--from")  # the arguments first, then the state they need
    if s.profile != "local":
        raise ValidationError(
            f"--profile {s.profile}: simulate replays the timeline in a scratch directory of its own on "
            "the local profile (DuckDB, SQLite); run it without --profile."
        )
    with s.out.step(f"simulate: batches every {every}, known {latency} after each period"):
        report = replay_timeline(
            s.project, period, late, start=start, steps=steps, run=run, out=out, progress=s.out.say
        )
    if s.out.as_json:
        s.out.document({**asdict(report), "failed": report.failed})
        return not report.failed
    builds = [x.build_seconds for x in report.steps]
    s.out.say(
        f"    {len(report.steps)} steps, {report.served:,} predictions served (run {report.run_id}); "
        f"build {min(builds):.2f}-{max(builds):.2f}s per step"
    )
    for example in report.examples:
        s.out.say(f"    e.g. {example}")
    s.out.say(
        f"served vs training set (knowledge row): {report.mismatches} mismatches; a plain point-in-time "
        f"join differs in {report.as_of_differences:,} cells (of {report.compared_cells:,} compared)"
    )
    s.out.say(f"replay (knowledge row): {report.replay_mismatches} mismatches")
    s.out.say(f"timeline data: {report.folder}")
    return not report.failed


def demo_promotion(s: Session, record: dict[str, Any]) -> str:
    """The demo's run is promoted only when nothing is promoted yet and it beats its baseline: the
    demo never replaces a user's promotion. Returns the run the demo serves (its own)."""
    from featurelock.training.runs import loses_to_baseline, promote, promoted_run

    run_id = str(record["run_id"])
    current = promoted_run(s.project)
    worse = loses_to_baseline(s.project, record)
    if current is not None:
        s.out.say(f"kept the promoted run {current}; the demo serves its own run {run_id} explicitly")
    elif worse is not None:
        s.out.say(f"not promoted: {worse} (the demo serves it explicitly; `promote --force` to serve it)")
    else:
        promote(s.project, run_id)
        s.out.say(f"serving run: {run_id}")
    return run_id


def demo(s: Session, service: str | None) -> bool:
    from featurelock.features import feast_repo
    from featurelock.serving.loopback import serve_examples

    project = s.project
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
    s.out.say(f"project {project.name} at {project.root} (data: {project.home}, profile {s.profile})")
    ingest(s, None, None, None)
    apply(s)
    with s.out.step("registered feature views"):
        store = feast_repo.feature_store(project, s.profile)
        for view in sorted(store.list_feature_views(), key=lambda v: v.name):
            columns = ", ".join(f.name for f in view.features)
            s.out.say(f"    {view.name:<16} ttl={view.ttl}  [{columns}]")
        for fs in sorted(store.list_feature_services(), key=lambda x: x.name):
            s.out.say(f"    service {fs.name}: {fs.tags.get('features', '')}")
    service = service or sorted(project.services)[0]
    first = dataset_build(s, service, None, None)
    dataset_build(s, service, None, None)
    result = train(s, service)
    served = demo_promotion(s, result.record)
    if not reproduce(s, result.run_id):
        return False
    materialize(s, project.examples.at, rewind=True)
    with s.out.step(f"serve: start the API for run {served} on loopback and send the example requests"):
        answers, log = serve_examples(project, s.profile, run=served)
        for request, receipt in answers:
            asked = ", ".join(f"{k}={v}" for k, v in request.items() if k != "prediction_time")
            s.out.say(
                f"    {asked}: P = {receipt['probability']:.3f}; missing: {receipt['missing_features']}"
            )
        s.out.say("    receipt of the last one:")
        s.out.say("\n".join("      " + line for line in json.dumps(answers[-1][1], indent=1).splitlines()))
    if parity(s, run=served) != 0 or replay(s, log, [receipt for _, receipt in answers]) != 0:
        return False
    # the store in time: the project replayed as weekly batches, served as production would have
    # been, against the training set built with knowledge per row (local stores, a scratch folder)
    if not simulate(Session(project, "local", s.out), "7d", "1d", steps=DEMO_STEPS):
        return False
    s.out.say(
        "Demo complete: data ingested, features built, lock verified, definitions applied, training set "
        "built twice (same hash), model trained and reproduced exactly, features materialized, "
        "predictions served, parity and replay clean, a replayed timeline served as its training set."
    )
    s.out.say(f"  training set  {first['folder']}")
    s.out.say(f"  run           {result.path}")
    s.out.say(f"  report        {result.path / 'report.html'}")
    s.out.say(f"  prediction log {log}")
    flag = f" --project {project.root}" + ("" if s.profile == "local" else f" --profile {s.profile}")
    s.out.say("next:")
    s.out.say(f"  featurelock serve{flag}                   # the API, docs at http://127.0.0.1:8000/docs")
    s.out.say(f"  featurelock runs{flag}                    # runs, * = promoted")
    s.out.say(f"  featurelock dataset verify {first['folder']}{flag}")
    s.out.say(f"  featurelock lineage {project.service(service).all_refs[0]}{flag}")
    return True
