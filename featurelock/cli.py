"""The featurelock command: parsing, progress and printing; every step is an engine function.

Options common to every command (--project, --profile, --debug) are accepted before or after the
subcommand and read FEATURELOCK_PROJECT / FEATURELOCK_PROFILE. Errors end in one line naming what
to do next (--debug shows the traceback). Shell completion: click's, e.g. for bash
``eval "$(_FEATURELOCK_COMPLETE=bash_source featurelock)"``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from featurelock import pipeline
from featurelock.core.errors import FeaturelockError
from featurelock.features.feast_repo import PROFILES

KNOWLEDGE_HELP = (
    "as-of: every row sees what was known at --as-of; row: each row also sees only feature rows "
    "created by its own prediction time (what serving could have known) [default: the service's]."
)


def knowledge_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--knowledge", type=click.Choice(("as-of", "row")), help=KNOWLEDGE_HELP)(function)


# ---- output ------------------------------------------------------------------------------------
class Output:
    """Lines for people on stdout (stderr under --json, whose document owns stdout); a rich spinner
    with the elapsed time while a step runs, when stdout is a terminal."""

    def __init__(self, as_json: bool = False) -> None:
        from rich.console import Console

        self.as_json = as_json
        self.console = Console(stderr=as_json, highlight=False, soft_wrap=True)

    def say(self, message: str) -> None:
        self.console.print(message, markup=False)

    @contextmanager
    def step(self, what: str) -> Iterator[None]:
        self.say(f"==> {what}")
        start = time.perf_counter()
        if self.console.is_terminal:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
            with Progress(*columns, console=self.console, transient=True) as bar:
                bar.add_task(what, total=None)
                yield
        else:
            yield
        self.say(f"    done in {time.perf_counter() - start:.1f}s")

    def document(self, data: Any) -> None:
        click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


class Context:
    """What every command receives: the project (found once), the profile, the output."""

    def __init__(self, project: str | None, profile: str, debug: bool, as_json: bool = False) -> None:
        self.project_arg, self.profile, self.debug = project, profile, debug
        self.out = Output(as_json)
        self._project: Any = None

    @property
    def session(self) -> Any:
        from featurelock.pipeline import Session

        return Session(self.project, self.profile, self.out)

    @property
    def project(self) -> Any:
        if self._project is None:
            from featurelock.features.project import Project

            self._project = Project.find(self.project_arg)
        return self._project


def common(function: Callable[..., Any]) -> Callable[..., Any]:
    """--project/--profile/--debug on a subcommand too (a value given there wins)."""
    options = [
        click.option(
            "--project",
            "sub_project",
            type=click.Path(file_okay=False),
            help="Project directory (default: $FEATURELOCK_PROJECT, else the working directory or a parent).",
        ),
        click.option(
            "--profile",
            "sub_profile",
            type=click.Choice(PROFILES),
            help="Store profile [default: $FEATURELOCK_PROFILE or local].",
        ),
        click.option("--debug", "sub_debug", is_flag=True, help="Show the traceback of an error."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def context(
    ctx: click.Context,
    sub_project: str | None,
    sub_profile: str | None,
    sub_debug: bool,
    as_json: bool = False,
) -> Context:
    chain = []  # this command's context, its parent groups', then the root's
    node: click.Context | None = ctx.parent
    while node is not None:
        chain.append(node.params)
        node = node.parent

    def pick(sub: Any, name: str) -> Any:
        for params in chain:  # a group's own --project/--profile (sub_*) before the root's
            if params.get(f"sub_{name}"):
                return params[f"sub_{name}"]
        return sub or ctx.find_root().params.get(name)

    c = Context(
        sub_project or pick(None, "project"),
        sub_profile or pick(None, "profile") or "local",
        bool(sub_debug or pick(None, "debug")),
        as_json,
    )
    ctx.find_root().meta["debug"] = c.debug
    return c


def json_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document (for scripts).")(
        function
    )


def _version() -> str:
    from featurelock import __version__

    return __version__


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    help="featurelock: a feature store for reproducible machine-learning pipelines, built on Feast.",
)
@click.option(
    "--project",
    envvar="FEATURELOCK_PROJECT",
    type=click.Path(file_okay=False),
    help="Project directory [env: FEATURELOCK_PROJECT; default: the working directory or a parent].",
)
@click.option(
    "--profile",
    envvar="FEATURELOCK_PROFILE",
    type=click.Choice(PROFILES),
    default="local",
    show_default=True,
    help="Store profile [env: FEATURELOCK_PROFILE].",
)
@click.option("--debug", is_flag=True, help="Show the traceback of an error.")
@click.version_option(_version(), "--version", prog_name="featurelock", message="%(prog)s %(version)s")
def cli(project: str | None, profile: str, debug: bool) -> None:
    pass


# ---- data and features -------------------------------------------------------------------------
@cli.command(help="Load the project's sources (or one correction batch) into the raw store.")
@click.option("--file", "file", type=click.Path(dir_okay=False), help="A Parquet or CSV batch to append.")
@click.option("--table", help="The raw table the --file batch belongs to.")
@click.option("--knowledge-time", help="The batch's declared knowledge time (ISO 8601 with a UTC offset).")
@common
@click.pass_context
def ingest(
    ctx: click.Context, file: str | None, table: str | None, knowledge_time: str | None, **kw: Any
) -> None:
    c = context(ctx, **kw)
    if (table or knowledge_time or file) and not (file and table and knowledge_time):
        raise click.UsageError("--file needs --table and --knowledge-time (and they need --file).")
    pipeline.ingest(c.session, file, table, knowledge_time)


@cli.group(help="Feature tables.")
def features() -> None:
    pass


@features.command(
    "build",
    help="Check the lock, then compute one Parquet table per feature view: incrementally, only the "
    "knowledge times and (for features with a lookback) the grid points new batches reach.",
)
@click.option(
    "--full", is_flag=True, help="Recompute every view at every knowledge time from nothing (same tables)."
)
@common
@click.pass_context
def features_build(ctx: click.Context, full: bool, **kw: Any) -> None:
    pipeline.features_build(context(ctx, **kw).session, full=full)


@cli.command(
    help="Add new feature and population versions to features.lock (after a trial run of their SQL)."
)
@click.option(
    "--drop",
    "drop",
    multiple=True,
    metavar="REF",
    help="Take a locked version that was never published (never committed, applied or trained on) "
    "out of features.lock, to replace a sample; repeatable. A published version stays locked.",
)
@common
@click.pass_context
def lock(ctx: click.Context, drop: tuple[str, ...], **kw: Any) -> None:
    from featurelock.features.lockfile import add_new_versions, drop_versions

    c = context(ctx, **kw)
    if drop:
        dropped = drop_versions(c.project, list(drop))
        modules = [f"{ref.replace('@v', '_v')}.py" for ref in dropped]
        c.out.say(
            "Dropped from features.lock (never published):\n"
            + "\n".join(f"  - {ref}" for ref in dropped)
            + f"\nnext: delete {', '.join(modules)} (or change them), then `featurelock lock`."
        )
        return
    added = add_new_versions(c.project)
    if added:
        c.out.say("Locked new versions:\n" + "\n".join(f"  + {ref}" for ref in added))
    else:
        c.out.say("features.lock is up to date; nothing to add.")


@cli.command(help="Build the feature tables, then feast apply.")
@common
@click.pass_context
def apply(ctx: click.Context, **kw: Any) -> None:
    pipeline.apply(context(ctx, **kw).session)


@cli.command(help="feast plan on the project's repo.")
@common
@click.pass_context
def plan(ctx: click.Context, **kw: Any) -> None:
    from featurelock.features import feast_repo

    c = context(ctx, **kw)
    feast_repo.plan(c.project, c.profile)


@cli.command(help="Mark a locked version deprecated (REF is name@vN); it stays locked and servable.")
@click.argument("ref")
@common
@click.pass_context
def deprecate(ctx: click.Context, ref: str, **kw: Any) -> None:
    from featurelock.features.lockfile import deprecate as mark

    c = context(ctx, **kw)
    entry = mark(c.project, ref)
    c.out.say(f"{entry.ref} is deprecated (still locked, servable and reproducible: {entry.fingerprint})")


@cli.command(help="The services and runs that use a version (REF is name@vN).")
@click.argument("ref")
@json_option
@common
@click.pass_context
def lineage(ctx: click.Context, ref: str, as_json: bool, **kw: Any) -> None:
    from dataclasses import asdict

    from featurelock.training.lineage import lineage as find

    c = context(ctx, as_json=as_json, **kw)
    info = find(c.project, ref)
    if as_json:
        c.out.document(asdict(info))
        return
    state = "deprecated" if info.deprecated else "active"
    c.out.say(f"{info.ref}  {info.fingerprint or 'not locked'}  ({state})")
    c.out.say("  services: " + (", ".join(info.services) or "none"))
    c.out.say("  runs:     " + (", ".join(info.runs) or "none"))


# ---- training sets -----------------------------------------------------------------------------
@cli.group(help="Point-in-time training sets.")
def dataset() -> None:
    pass


@dataset.command("build", help="Build a service's training set and its manifest.")
@click.option("--service", required=True, help="Feature service of the project (see features/services.py).")
@click.option("--as-of", help="Knowledge time, ISO 8601 with offset [default: the newest in the raw store].")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Output folder [default: <data>/datasets/<service>-<hash>].",
)
@knowledge_option
@json_option
@common
@click.pass_context
def dataset_build(
    ctx: click.Context,
    service: str,
    as_of: str | None,
    out: str | None,
    knowledge: str | None,
    as_json: bool,
    **kw: Any,
) -> None:
    pipeline.dataset_build(context(ctx, as_json=as_json, **kw).session, service, as_of, out, knowledge)


@dataset.command("verify", help="Rebuild from a manifest (or its folder) and compare; exit 1 if different.")
@click.argument("manifest", type=click.Path())
@json_option
@common
@click.pass_context
def dataset_verify(ctx: click.Context, manifest: str, as_json: bool, **kw: Any) -> None:
    from featurelock.training.dataset import verify_training_set

    c = context(ctx, as_json=as_json, **kw)
    with c.out.step(f"rebuild from {manifest}"):
        result = verify_training_set(c.project, Path(manifest), profile=c.profile)
    if as_json:
        c.out.document(
            {
                "identical": result.identical,
                "expected_sha256": result.expected_sha256,
                "actual_sha256": result.actual_sha256,
                "diverged": [{"stage": s, "change": ch} for s, ch in result.diverged],
            }
        )
    elif result.identical and not result.diverged:
        c.out.say(f"identical: {result.actual_sha256}")
    else:
        if result.identical:
            c.out.say(f"identical content ({result.actual_sha256}), but inputs changed:")
        else:
            c.out.say(f"DIFFERENT: expected {result.expected_sha256}, rebuilt {result.actual_sha256}")
        c.out.say(f"{'stage':<20} change")
        for stage, change in result.diverged or [("unknown", "no recorded input changed")]:
            c.out.say(f"{stage:<20} {change}")
    if not result.identical:
        ctx.exit(1)


# ---- models ------------------------------------------------------------------------------------
@cli.command(help="Train a service's model and baseline; write a run directory with metrics and a report.")
@click.option("--service", required=True, help="Feature service of the project.")
@click.option("--model", help="Model spec (training/models.py) [default: the service's].")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), help="Random seed [default: the service's].")
@click.option("--params", help="Hyperparameters as JSON, e.g. '{\"max_iter\": 100}' [default: the spec's].")
@click.option("--as-of", help="Knowledge time of the training set [default: the newest].")
@knowledge_option
@click.option(
    "--promote", is_flag=True, help="Promote the run (serve it) when done, if it beats its baseline."
)
@click.option(
    "--force", is_flag=True, help="With --promote: promote even if the model loses to its baseline."
)
@common
@click.pass_context
def train(
    ctx: click.Context,
    service: str,
    model: str | None,
    seed: int | None,
    params: str | None,
    as_of: str | None,
    knowledge: str | None,
    promote: bool,
    force: bool,
    **kw: Any,
) -> None:
    if force and not promote:
        raise click.UsageError("--force only applies with --promote.")
    session = context(ctx, **kw).session
    pipeline.train(session, service, model, seed, params, as_of, promote, knowledge, force=force)


@cli.group(
    invoke_without_command=True,
    help="List the training runs (* = promoted); `runs export --mlflow` logs them into MLflow.",
)
@json_option
@common
@click.pass_context
def runs(ctx: click.Context, as_json: bool, **kw: Any) -> None:
    if ctx.invoked_subcommand is not None:
        return
    from featurelock.api import runs as list_all

    c = context(ctx, as_json=as_json, **kw)
    rows = list_all(c.project)
    if as_json:
        c.out.document(rows)
        return
    for r in rows:
        mark = "*" if r["promoted"] else " "
        c.out.say(f"{mark} {r['run_id']}  service={r['service']}  roc_auc={r['roc_auc']:.4f}")
    if not rows:
        c.out.say("no runs yet: `featurelock train --service SERVICE`")


@runs.command(
    "export", help="Log every run (parameters, metrics, report, model, reproducibility tags) into MLflow."
)
@click.option(
    "--mlflow",
    "mlflow_uri",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[URI]",
    help="MLflow tracking URI [default with no URI: sqlite:///<data directory>/mlflow.db].",
)
@json_option
@common
@click.pass_context
def runs_export(ctx: click.Context, mlflow_uri: str | None, as_json: bool, **kw: Any) -> None:
    from featurelock.training.mlflow_export import default_uri, export_runs

    c = context(ctx, as_json=as_json, **kw)
    if mlflow_uri is None:
        raise click.UsageError("Say where to: --mlflow [URI] (no URI: a SQLite store in the data directory).")
    uri = mlflow_uri or default_uri(c.project)
    with c.out.step(f"export runs to MLflow at {uri}"):
        done = export_runs(c.project, uri)
    if as_json:
        c.out.document({"tracking_uri": uri, "runs": [vars(e) for e in done]})
        return
    for e in done:
        c.out.say(f"    {e.run_id} -> {e.mlflow_run_id} ({e.status})")
    c.out.say(f"experiment featurelock/{c.project.name} in {uri}: `mlflow ui --backend-store-uri {uri}`")


@cli.command(help="Serve RUN from now on (or, with --rollback, the previously promoted run).")
@click.argument("run", required=False)
@click.option("--rollback", is_flag=True, help="Serve the previously promoted run again.")
@click.option("--force", is_flag=True, help="Promote even a run whose model loses to its baseline.")
@common
@click.pass_context
def promote(ctx: click.Context, run: str | None, rollback: bool, force: bool, **kw: Any) -> None:
    from featurelock.training.runs import promote as mark
    from featurelock.training.runs import rollback as back

    c = context(ctx, **kw)
    if bool(run) == rollback:
        raise click.UsageError("Give a RUN to promote, or --rollback (not both).")
    history = back(c.project) if rollback else mark(c.project, str(run), force=force)
    c.out.say(f"serving run: {history[-1]}" + (f" (previous: {history[-2]})" if len(history) > 1 else ""))


@cli.command(help="Rebuild and retrain RUN; exit 0 only if its holdout predictions are identical.")
@click.argument("run")
@common
@click.pass_context
def reproduce(ctx: click.Context, run: str, **kw: Any) -> None:
    if not pipeline.reproduce(context(ctx, **kw).session, run):
        ctx.exit(1)


# ---- serving -----------------------------------------------------------------------------------
@cli.command(help="Write the newest feature values to the online store (incremental).")
@click.option("--end", help="Materialize up to this event time, ISO 8601 with offset [default: the newest].")
@click.option("--rewind", is_flag=True, help="Rebuild views already materialized past --end.")
@common
@click.pass_context
def materialize(ctx: click.Context, end: str | None, rewind: bool, **kw: Any) -> None:
    pipeline.materialize(context(ctx, **kw).session, end, rewind)


@cli.command(help="Start the prediction API for the promoted run (or --run).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="TCP port.")
@click.option("--run", help="Run to serve [default: the promoted one].")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help=f"Worker processes; one per core is the usual choice (this machine has {os.cpu_count()}).",
)
@common
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, run: str | None, workers: int, **kw: Any) -> None:
    import uvicorn

    from featurelock.serving.app import WORKER_ENV, create_app
    from featurelock.training.runs import promoted_run

    c = context(ctx, **kw)
    app = create_app(c.project, run, c.profile)  # checks everything once, in this process
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level="warning")
        return
    # Each worker builds the same app from the environment: the same run (resolved here, so a
    # promotion while starting cannot split them), project, data directory and profile.
    os.environ.update(
        {
            WORKER_ENV["project"]: str(c.project.root),
            WORKER_ENV["home"]: str(c.project.home),
            WORKER_ENV["run"]: str(run or promoted_run(c.project)),
            WORKER_ENV["profile"]: c.profile,
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


@cli.command(help="Online vs offline features, and served vs research predictions, at a time T.")
@click.option(
    "--sample", type=click.IntRange(1), default=1000, show_default=True, help="Entity rows to compare."
)
@click.option("--at", help="T, ISO 8601 with offset [default: the time the project's Examples declare].")
@json_option
@common
@click.pass_context
def parity(ctx: click.Context, sample: int, at: str | None, as_json: bool, **kw: Any) -> None:
    if pipeline.parity(context(ctx, as_json=as_json, **kw).session, sample, at) != 0:
        ctx.exit(1)


@cli.command(help="Re-score logged predictions offline and compare; exit 1 on any mismatch.")
@click.argument("log", type=click.Path())
@click.option(
    "--knowledge",
    type=click.Choice(("as-of", "row")),
    help="as-of: replay with everything known now [default]; row: each prediction with what was known "
    "at its time (a log served while batches kept arriving).",
)
@json_option
@common
@click.pass_context
def replay(ctx: click.Context, log: str, knowledge: str | None, as_json: bool, **kw: Any) -> None:
    session = context(ctx, as_json=as_json, **kw).session
    if pipeline.replay(session, Path(log), knowledge=knowledge or "as-of") != 0:
        ctx.exit(1)


@cli.command(
    help="Replay the project's sources as production batches (ingest, incremental build, materialize, "
    "serve each batch's rows at their times) and compare what was served with the training set built "
    "with knowledge per row; exit 1 on any mismatch."
)
@click.option("--every", default="7d", show_default=True, help="Batch period: 7d, 1d, 12h, 30m.")
@click.option(
    "--latency", default="1d", show_default=True, help="How long after its period a batch is known."
)
@click.option(
    "--from", "start", help="Start of the first period, ISO 8601 [default: midnight of the first event]."
)
@click.option("--steps", type=click.IntRange(1), help="Replay only the first N batches.")
@click.option("--run", help="Run to serve [default: the promoted one].")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Scratch data directory [default: <data>/simulation, replaced on each run].",
)
@json_option
@common
@click.pass_context
def simulate(
    ctx: click.Context,
    every: str,
    latency: str,
    start: str | None,
    steps: int | None,
    run: str | None,
    out: str | None,
    as_json: bool,
    **kw: Any,
) -> None:
    session = context(ctx, as_json=as_json, **kw).session
    if not pipeline.simulate(session, every, latency, start, steps, run, out):
        ctx.exit(1)


# ---- projects ----------------------------------------------------------------------------------
@cli.command(help="Write a new project into DIR (a tiny working example) and lock its versions.")
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False))
@click.option("--empty", is_flag=True, help="Write the skeleton only: nothing declared, nothing locked.")
@common
@click.pass_context
def init(ctx: click.Context, directory: str, empty: bool, **kw: Any) -> None:
    from featurelock.scaffold import init_project

    c = context(ctx, **kw)
    root = init_project(directory, empty=empty)
    if empty:
        c.out.say(
            f"new empty project in {root}\nnext: declare your data in {root / 'features'} (see README.md)"
        )
    else:
        c.out.say(f"new project in {root}\nnext: featurelock demo --project {root}")


@cli.command(help="Run the whole pipeline on the project, end to end, with a summary.")
@click.option("--service", help="Service to train and serve [default: the first by name].")
@common
@click.pass_context
def demo(ctx: click.Context, service: str | None, **kw: Any) -> None:
    c = context(ctx, **kw)
    if not pipeline.demo(c.session, service):
        ctx.exit(1)


# ---- entry point -------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; an error becomes one line (the traceback only with --debug)."""
    try:
        # Under standalone_mode=False click returns the code a command gave ctx.exit() instead of
        # raising it: that code is the command's verdict (a check that found a difference is 1).
        returned = cli.main(
            args=list(argv) if argv is not None else None, prog_name="featurelock", standalone_mode=False
        )
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort:
        click.echo("featurelock: aborted", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except Exception as exc:  # one line, never a traceback, unless --debug
        if "--debug" in (argv if argv is not None else sys.argv[1:]):
            raise
        click.echo(f"featurelock: error: {one_line(exc)}", err=True)
        return 2 if isinstance(exc, FeaturelockError) else 1
    if isinstance(returned, int) and not isinstance(returned, bool):
        return returned
    return 0


def one_line(exc: BaseException) -> str:
    """featurelock's own message as it is, or any other error (Feast, DuckDB, pandas) as one line
    with its type and where to look next."""
    if isinstance(exc, FeaturelockError):
        return str(exc)  # ours: what is wrong, what was received, the fix (a lock error lists each)
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text[:500]} (run again with --debug for the traceback)"
