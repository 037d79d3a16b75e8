"""The featurelock command: argument parsing, progress and printing only.

Every command calls a plain Python function of the engine on the project it is pointed at
(--project DIR, FEATURELOCK_PROJECT, or the working directory and its parents), so a notebook
and the production command run the same code.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence

from featurelock.core.errors import FeaturelockError


def _say(message: str) -> None:
    print(message, flush=True)


class _Step:
    """Prints ``==> what`` and, when done, the elapsed time."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> _Step:
        self.start = time.perf_counter()
        _say(f"==> {self.what}")
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            _say(f"    done in {time.perf_counter() - self.start:.1f}s")


def cmd_ingest(args: argparse.Namespace) -> int:
    from featurelock.data.ingest import ingest_file, ingest_sources
    from featurelock.training.dataset import raw_store

    store = raw_store(args.project)
    with _Step("ingest raw tables"):
        if args.file:
            results = [ingest_file(args.table, args.file, args.knowledge_time, store)]
        else:
            results = ingest_sources(store, progress=_say)
        for r in results:
            _say(f"    {r.table:<9} {r.status:<9} {r.rows:>8,} rows  known at {r.knowledge_time.isoformat()}")
    if args.profile == "production":
        from featurelock.features.publish import publish_raw

        with _Step("load the raw tables into PostgreSQL"):
            publish_raw(store, progress=_say)
    return 0


def cmd_features_build(args: argparse.Namespace) -> int:
    from featurelock.features.build import build_feature_tables
    from featurelock.features.lockfile import check_lock
    from featurelock.training.dataset import raw_store

    project = args.project
    with _Step("check features.lock"):
        catalog = check_lock(project)
        _say(
            f"    {len(catalog.specs)} feature versions and {len(catalog.populations)} population(s), "
            "all locked and unchanged"
        )
    with _Step("build feature tables (DuckDB)"):
        tables = build_feature_tables(catalog, raw_store(project), project.feature_tables_dir, progress=_say)
        for t in tables:
            _say(f"    {t.view:<16} {t.rows:>8,} rows -> {t.path}")
    if args.profile == "production":
        from featurelock.features.publish import publish_feature_tables

        with _Step("load the feature tables into PostgreSQL"):
            publish_feature_tables(project, progress=_say)
    return 0


def cmd_lock(args: argparse.Namespace) -> int:
    from featurelock.features.lockfile import add_new_versions

    added = add_new_versions(args.project)
    if added:
        _say("Locked new feature versions:\n" + "\n".join(f"  + {ref}" for ref in added))
    else:
        _say("features.lock is up to date; nothing to add.")
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    from featurelock.features import feast_repo

    cmd_features_build(args)
    with _Step(f"feast apply (profile {args.profile})"):
        feast_repo.apply(args.project, args.profile)
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from featurelock.features import feast_repo

    feast_repo.plan(args.project, args.profile)
    return 0


def cmd_dataset_build(args: argparse.Namespace) -> int:
    from featurelock.training.dataset import build_training_set, write_training_set

    with _Step(f"build training set for service {args.service}"):
        training_set = build_training_set(args.project, args.service, as_of=args.as_of, profile=args.profile)
        folder = write_training_set(args.project, training_set, args.out)
    m = training_set.manifest
    _say(f"    rows      {m['rows']:,}")
    _say(f"    as_of     {m['as_of']} ({m['as_of_source']})")
    _say(f"    sha256    {m['content_sha256']}")
    _say(f"    written   {folder}/training_set.parquet, manifest.json")
    return 0


def cmd_dataset_verify(args: argparse.Namespace) -> int:
    from featurelock.training.dataset import verify_training_set

    with _Step(f"rebuild from {args.manifest}"):
        result = verify_training_set(args.project, args.manifest, profile=args.profile)
    if result.identical and not result.diverged:
        _say(f"identical: {result.actual_sha256}")
        return 0
    if result.identical:
        _say(f"identical content ({result.actual_sha256}), but inputs changed:")
    else:
        _say(f"DIFFERENT: expected {result.expected_sha256}, rebuilt {result.actual_sha256}")
    _say(f"{'stage':<20} change")
    for stage, change in result.diverged or [
        ("unknown", "no recorded input changed; the store is not deterministic")
    ]:
        _say(f"{stage:<20} {change}")
    return 0 if result.identical else 1


def _run_config(args: argparse.Namespace):
    import json

    from featurelock.training.model import RunConfig

    params = json.loads(args.params) if args.params else {}
    return RunConfig(service=args.service, model=args.model, seed=args.seed, params=params, as_of=args.as_of)


def cmd_train(args: argparse.Namespace) -> int:
    from featurelock.training.runs import train_run

    with _Step(f"train on service {args.service}"):
        result = train_run(args.project, _run_config(args), profile=args.profile, progress=_say)
    m = result.record["metrics"]
    _say(f"    run       {result.run_id}")
    _say(f"    {'metric':<10} " + " ".join(f"{name[:28]:>28}" for name in m))
    for metric in ("roc_auc", "pr_auc", "log_loss", "brier"):
        _say(f"    {metric:<10} " + " ".join(f"{m[name][metric]:>28.4f}" for name in m))
    _say(f"    report    {result.path / 'report.html'}")
    if args.promote:
        cmd_promote(argparse.Namespace(project=args.project, run=result.run_id, rollback=False))
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from featurelock.training.runs import list_runs, promoted_run, read_run

    served = promoted_run(args.project)
    runs = list_runs(args.project)
    for run in runs:
        _, record = read_run(args.project, run)
        auc = record["metrics"]["model"]["roc_auc"]
        mark = "*" if run == served else " "
        _say(f"{mark} {run}  service={record['config']['service']}  roc_auc={auc:.4f}")
    if not runs:
        _say("no runs yet: `featurelock train --service SERVICE`")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from featurelock.training.runs import promote, rollback

    history = rollback(args.project) if args.rollback else promote(args.project, args.run)
    _say(f"serving run: {history[-1]}" + (f" (previous: {history[-2]})" if len(history) > 1 else ""))
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from featurelock.training.runs import reproduce

    with _Step(f"reproduce {args.run}"):
        result = reproduce(args.project, args.run, profile=args.profile)
    if result.identical:
        _say("reproduced exactly")
        return 0
    _say(f"NOT reproduced: first diverging stage: {result.stage}")
    _say(f"{'stage':<20} change")
    for stage, change in result.details:
        _say(f"{stage:<20} {change}")
    return 1


def cmd_materialize(args: argparse.Namespace) -> int:
    from featurelock.serving.materialize import materialize

    with _Step("materialize into the online store"):
        materialize(args.project, end=args.end, profile=args.profile, progress=_say, rewind=args.rewind)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from featurelock.serving.app import create_app

    uvicorn.run(
        create_app(args.project, args.run, args.profile), host=args.host, port=args.port, log_level="warning"
    )
    return 0


def cmd_parity(args: argparse.Namespace) -> int:
    from featurelock.serving.parity import parity

    with _Step(f"parity on {args.sample:,} entity rows"):
        report = parity(args.project, sample=args.sample, at=args.at, profile=args.profile, progress=_say)
    _say(f"    at {report.at}")
    _say(f"    {'feature':<32} {'compared':>9} {'mismatches':>11} {'online nulls':>13}")
    for column, row in report.per_feature.items():
        _say(f"    {column:<32} {row['compared']:>9,} {row['mismatches']:>11,} {row['online_nulls']:>13,}")
    _say(
        f"    {'predictions (served vs research)':<32} {report.rows:>9,} {report.prediction_mismatches:>11,}"
    )
    for example in report.examples:
        _say(f"    e.g. {example}")
    _say(f"{report.mismatches} mismatches")
    return 0 if report.mismatches == 0 else 1


def cmd_replay(args: argparse.Namespace) -> int:
    from featurelock.serving.replay import replay

    with _Step(f"replay {args.log}"):
        report = replay(args.project, args.log, profile=args.profile)
    _say(
        f"    {report.predictions:,} logged predictions: {report.feature_mismatches} feature and "
        f"{report.probability_mismatches} probability mismatches"
    )
    for example in report.examples:
        _say(f"    e.g. {example}")
    _say(f"{report.mismatches} mismatches")
    return 0 if report.mismatches == 0 else 1


def demo_predictions(project, profile: str) -> str:
    """Start the service on a free loopback port, send the project's example requests, print the answers.
    Returns the log the service wrote."""
    import json
    import socket
    import threading

    import httpx
    import uvicorn

    from featurelock.serving.app import create_app
    from featurelock.serving.log import log_path

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(project, None, profile), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        answer: dict = {}
        for example in project.examples.requests:
            reply = httpx.post(f"{url}/predict", json=example, timeout=10)
            if reply.status_code != 200:
                raise FeaturelockError(f"/predict answered {reply.status_code}: {reply.text}")
            answer = reply.json()
            asked = ", ".join(f"{k}={v}" for k, v in example.items() if k != "prediction_time")
            _say(f"    {asked}: P = {answer['probability']:.3f}; missing: {answer['missing_features']}")
        _say("    receipt of the last one:")
        _say("\n".join("      " + line for line in json.dumps(answer, indent=1).splitlines()))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return str(log_path(project.home))


def cmd_deprecate(args: argparse.Namespace) -> int:
    from featurelock.features.lockfile import deprecate

    entry = deprecate(args.project, args.ref)
    _say(f"{entry.ref} is deprecated (still locked, servable and reproducible: {entry.fingerprint})")
    return 0


def cmd_lineage(args: argparse.Namespace) -> int:
    from featurelock.training.lineage import lineage

    info = lineage(args.project, args.ref)
    state = "deprecated" if info.deprecated else "active"
    _say(f"{info.ref}  {info.fingerprint or 'not locked'}  ({state})")
    _say("  services: " + (", ".join(info.services) or "none"))
    _say("  runs:     " + (", ".join(info.runs) or "none"))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from featurelock.features import feast_repo
    from featurelock.training.runs import list_runs

    project = args.project
    _say(f"project {project.name} at {project.root} (data: {project.home})")
    cmd_ingest(argparse.Namespace(**{**vars(args), "file": None, "table": None, "knowledge_time": None}))
    cmd_apply(args)
    with _Step("registered feature views"):
        store = feast_repo.feature_store(project, args.profile)
        for view in sorted(store.list_feature_views(), key=lambda v: v.name):
            columns = ", ".join(f.name for f in view.features)
            _say(f"    {view.name:<16} ttl={view.ttl}  [{columns}]")
        for service in sorted(store.list_feature_services(), key=lambda s: s.name):
            _say(f"    service {service.name}: {service.tags.get('features', '')}")
    service = args.service or sorted(project.services)[0]
    for _ in range(2):
        cmd_dataset_build(
            argparse.Namespace(**{**vars(args), "service": service, "as_of": None, "out": None})
        )
    before = set(list_runs(project))
    cmd_train(
        argparse.Namespace(
            **{**vars(args), "service": service, "model": None, "seed": None, "params": None, "as_of": None},
            promote=True,
        )
    )
    run_id = sorted(set(list_runs(project)) - before)[-1]
    if cmd_reproduce(argparse.Namespace(**{**vars(args), "run": run_id})) != 0:
        return 1
    cmd_materialize(argparse.Namespace(**{**vars(args), "end": project.examples.at, "rewind": True}))
    with _Step("serve: start the API on loopback and send the project's example requests"):
        log = demo_predictions(project, args.profile)
    if cmd_parity(argparse.Namespace(**{**vars(args), "sample": 1000, "at": None})) != 0:
        return 1
    if cmd_replay(argparse.Namespace(**{**vars(args), "log": log})) != 0:
        return 1
    _say(
        "Demo complete: data ingested, features built, lock verified, definitions applied, "
        "training set built twice, model trained, promoted and reproduced, features materialized, "
        "predictions served, parity and replay clean."
    )
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from featurelock.scaffold import init_project

    root = init_project(args.dir)
    _say(f"new project in {root}: run `featurelock demo --project {root}`")
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--profile",
        default=argparse.SUPPRESS,
        help="store profile: local or production (default: $FEATURELOCK_PROFILE or 'local')",
    )
    common.add_argument(
        "--project",
        default=argparse.SUPPRESS,
        help="project directory (default: $FEATURELOCK_PROJECT, else the working directory or a parent)",
    )
    parser = argparse.ArgumentParser(
        prog="featurelock", description=__doc__.splitlines()[0], parents=[common]
    )
    parser.add_argument("--version", action="version", version=f"featurelock {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add = sub.add_parser

    def add(name: str, **kwargs: object) -> argparse.ArgumentParser:
        return _add(name, parents=[common], **kwargs)  # type: ignore[arg-type]

    sub.add_parser = add  # type: ignore[method-assign]

    ingest = sub.add_parser(
        "ingest", help="load the project's sources (or one correction batch) into the raw store"
    )
    ingest.add_argument("--file", help="a Parquet or CSV batch to append instead of the initial load")
    ingest.add_argument("--table", help="raw table the --file batch belongs to")
    ingest.add_argument("--knowledge-time", help="the batch's declared knowledge time (ISO 8601, UTC offset)")
    ingest.set_defaults(func=cmd_ingest)

    feats = sub.add_parser("features", help="feature tables")
    feats_sub = feats.add_subparsers(dest="features_command", required=True)
    build = feats_sub.add_parser("build", help="compute the feature tables with DuckDB", parents=[common])
    build.set_defaults(func=cmd_features_build)

    dataset = sub.add_parser("dataset", help="point-in-time training sets")
    dataset_sub = dataset.add_subparsers(dest="dataset_command", required=True)
    dbuild = dataset_sub.add_parser("build", help="build a training set and its manifest", parents=[common])
    dbuild.add_argument("--service", required=True, help="feature service of the project")
    dbuild.add_argument("--as-of", help="knowledge time (ISO 8601 with offset); default: newest in the store")
    dbuild.add_argument("--out", help="output folder (default: <data>/datasets/<service>-<hash>)")
    dbuild.set_defaults(func=cmd_dataset_build)
    dverify = dataset_sub.add_parser("verify", help="rebuild from a manifest and compare", parents=[common])
    dverify.add_argument("manifest", help="manifest.json (or its folder)")
    dverify.set_defaults(func=cmd_dataset_verify)

    train = sub.add_parser("train", help="train model + baseline on a service, write a run directory")
    train.add_argument("--service", required=True, help="feature service of the project")
    train.add_argument("--model", help="model spec (default: the service's)")
    train.add_argument("--seed", type=int, help="random seed (default: the service's)")
    train.add_argument("--params", help="hyperparameters as JSON, e.g. '{\"max_iter\": 100}'")
    train.add_argument("--as-of", help="knowledge time of the training set (default: newest)")
    train.add_argument("--promote", action="store_true", help="promote the run when done")
    train.set_defaults(func=cmd_train)
    sub.add_parser("runs", help="list training runs (* = promoted)").set_defaults(func=cmd_runs)
    prom = sub.add_parser("promote", help="mark a run as the one serving uses")
    prom.add_argument("run", nargs="?")
    prom.add_argument("--rollback", action="store_true", help="serve the previously promoted run again")
    prom.set_defaults(func=cmd_promote)
    repro = sub.add_parser("reproduce", help="rebuild and retrain a run; exit 0 only if identical")
    repro.add_argument("run")
    repro.set_defaults(func=cmd_reproduce)

    mat = sub.add_parser("materialize", help="write feature values to the online store (incremental)")
    mat.add_argument("--end", help="materialize up to this event time (default: the newest)")
    mat.add_argument("--rewind", action="store_true", help="rebuild views materialized past --end")
    mat.set_defaults(func=cmd_materialize)
    serve = sub.add_parser("serve", help="start the prediction API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--run", help="run to serve (default: the promoted one)")
    serve.set_defaults(func=cmd_serve)
    par = sub.add_parser("parity", help="online vs offline features and predictions at a time T")
    par.add_argument("--sample", type=int, default=1000)
    par.add_argument("--at", help="T (default: the time the project's Examples declare)")
    par.set_defaults(func=cmd_parity)
    rep = sub.add_parser("replay", help="re-score logged predictions offline and compare")
    rep.add_argument("log", help="prediction log (JSON lines)")
    rep.set_defaults(func=cmd_replay)

    dep = sub.add_parser("deprecate", help="mark a locked feature version deprecated (name@vN)")
    dep.add_argument("ref")
    dep.set_defaults(func=cmd_deprecate)
    lin = sub.add_parser("lineage", help="services and runs that use a feature version (name@vN)")
    lin.add_argument("ref")
    lin.set_defaults(func=cmd_lineage)

    sub.add_parser("lock", help="add new feature versions to features.lock").set_defaults(func=cmd_lock)
    sub.add_parser("apply", help="build feature tables, then feast apply").set_defaults(func=cmd_apply)
    sub.add_parser("plan", help="feast plan").set_defaults(func=cmd_plan)
    demo = sub.add_parser("demo", help="run the pipeline end to end")
    demo.add_argument("--service", help="service to train and serve (default: the first by name)")
    demo.set_defaults(func=cmd_demo)
    init = sub.add_parser("init", help="write a new project (a tiny working example) into DIR")
    init.add_argument("dir")
    init.set_defaults(func=cmd_init)
    return parser


def _version() -> str:
    from featurelock import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "ingest" and bool(args.file) != bool(args.table and args.knowledge_time):
        _say("featurelock ingest: --file needs --table and --knowledge-time (and they need --file).")
        return 2
    func: Callable[[argparse.Namespace], int] = args.func
    args.profile = getattr(args, "profile", None) or os.environ.get("FEATURELOCK_PROFILE", "local")
    try:
        from featurelock.features.feast_repo import check_profile
        from featurelock.features.project import Project

        check_profile(args.profile)
        if args.command != "init":
            args.project = Project.find(getattr(args, "project", None))
        return func(args)
    except FeaturelockError as exc:
        print(f"featurelock {args.command}: error: {exc}", file=sys.stderr)
        return 2
