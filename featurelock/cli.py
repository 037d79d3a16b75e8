"""The featurelock command: it parses, calls ``featurelock.api`` and prints what that returns
(``featurelock.render``); it computes nothing of its own.

Options common to every command (--project, --profile, --debug) are accepted before or after the
subcommand (the innermost wins) and read FEATURELOCK_PROJECT / FEATURELOCK_PROFILE /
FEATURELOCK_DEBUG (click's ``auto_envvar_prefix``). Errors end in one line naming what to do next
(--debug shows the traceback). Shell completion: click's, e.g. for bash
``eval "$(_FEATURELOCK_COMPLETE=bash_source featurelock)"``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

import click

from featurelock import api, render
from featurelock.core.errors import FeaturelockError
from featurelock.core.settings import PROFILES, Profile, Settings, check_profile

KNOWLEDGE_HELP = (
    "as-of: every row sees what was known at --as-of; row: each row also sees only feature rows "
    "created by its own prediction time (what serving could have known) [default: the service's]."
)


def knowledge_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--knowledge", type=click.Choice(("as-of", "row")), help=KNOWLEDGE_HELP)(function)


class JsonObject(click.ParamType):
    """A JSON object given on the command line (``--params``)."""

    name = "JSON"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, dict):
            return value
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            self.fail(
                f"{value!r} is not JSON (at column {exc.colno}); e.g. '{{\"max_iter\": 100}}'.", param, ctx
            )
        if not isinstance(parsed, dict):
            self.fail(f"{value!r} is not a JSON object; e.g. '{{\"max_iter\": 100}}'.", param, ctx)
        return parsed


# ---- output ------------------------------------------------------------------------------------
class Output:
    """Lines for people on stdout (stderr under --json, whose document owns stdout); a rich spinner
    with the elapsed time while a step runs, when stdout is a terminal. A ``Progress`` for the API."""

    def __init__(self, as_json: bool = False) -> None:
        from rich.console import Console

        self.as_json = as_json
        self.console = Console(stderr=as_json, highlight=False, soft_wrap=True)

    def say(self, message: str) -> None:
        self.console.print(message, markup=False)

    def lines(self, lines: list[str]) -> None:
        for line in lines:
            self.say(line)

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


SETTING = "featurelock.{}"  # where each level's --project/--profile/--debug lands in click's meta


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """A value given (or read from the environment) at this level replaces an outer level's: click
    processes the root's options, then each group's, then the command's."""
    if value is not None and value is not False:
        ctx.meta[SETTING.format(param.name)] = value
    return value


def common(function: Callable[..., Any]) -> Callable[..., Any]:
    """--project/--profile/--debug on a group or command too (a value given there wins)."""
    options = [
        click.option(
            "--project",
            type=click.Path(file_okay=False),
            expose_value=False,
            callback=_remember,
            allow_from_autoenv=False,
            help="Project directory (default: $FEATURELOCK_PROJECT, else the working directory or a parent).",
        ),
        click.option(
            "--profile",
            type=click.Choice(PROFILES),
            expose_value=False,
            callback=_remember,
            allow_from_autoenv=False,
            help="Store profile [default: $FEATURELOCK_PROFILE or local].",
        ),
        click.option(
            "--debug",
            is_flag=True,
            expose_value=False,
            callback=_remember,
            allow_from_autoenv=False,
            help="Show the traceback of an error.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


class Here:
    """What a command works on: its settings (read once from click's context), the project (found
    when first asked), the output."""

    def __init__(self, ctx: click.Context, as_json: bool = False) -> None:
        meta = ctx.meta
        self.settings = Settings(
            project=meta.get(SETTING.format("project")),
            profile=check_profile(meta.get(SETTING.format("profile"), Profile.LOCAL)),
            debug=bool(meta.get(SETTING.format("debug"), False)),
        )
        self.out = Output(as_json)
        self._project: Any = None

    @property
    def profile(self) -> Profile:
        return self.settings.profile

    @property
    def project(self) -> Any:
        if self._project is None:
            self._project = api.open_project(self.settings.project)
        return self._project


def json_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document (for scripts).")(
        function
    )


def _version() -> str:
    from featurelock import __version__

    return __version__


@click.group(
    context_settings={
        "help_option_names": ["-h", "--help"],
        "max_content_width": 100,
        "auto_envvar_prefix": "FEATURELOCK",
    },
    help="featurelock: a feature store for reproducible machine-learning pipelines, built on Feast.",
)
@click.option(
    "--project",
    type=click.Path(file_okay=False),
    expose_value=False,
    callback=_remember,
    help="Project directory [env: FEATURELOCK_PROJECT; default: the working directory or a parent].",
)
@click.option(
    "--profile",
    type=click.Choice(PROFILES),
    default="local",
    show_default=True,
    expose_value=False,
    callback=_remember,
    help="Store profile [env: FEATURELOCK_PROFILE].",
)
@click.option(
    "--debug", is_flag=True, expose_value=False, callback=_remember, help="Show the traceback of an error."
)
@click.version_option(_version(), "--version", prog_name="featurelock", message="%(prog)s %(version)s")
def cli() -> None:
    pass


# ---- data and features -------------------------------------------------------------------------
@cli.command(help="Load the project's sources (or one correction batch) into the raw store.")
@click.option("--file", "file", type=click.Path(dir_okay=False), help="A Parquet or CSV batch to append.")
@click.option("--table", help="The raw table the --file batch belongs to.")
@click.option("--knowledge-time", help="The batch's declared knowledge time (ISO 8601 with a UTC offset).")
@common
@click.pass_context
def ingest(ctx: click.Context, file: str | None, table: str | None, knowledge_time: str | None) -> None:
    if (table or knowledge_time or file) and not (file and table and knowledge_time):
        raise click.UsageError("--file needs --table and --knowledge-time (and they need --file).")
    c = Here(ctx)
    api.ingest(c.project, file, table, knowledge_time, profile=c.profile, progress=c.out)


@cli.group(help="Feature tables.")
@common
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
def features_build(ctx: click.Context, full: bool) -> None:
    c = Here(ctx)
    api.build_features(c.project, full=full, profile=c.profile, progress=c.out)


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
def lock(ctx: click.Context, drop: tuple[str, ...]) -> None:
    c = Here(ctx)
    if drop:
        c.out.lines(render.dropped(api.drop(c.project, list(drop))))
    else:
        c.out.lines(render.locked(api.lock(c.project)))


@cli.command(help="Build the feature tables, then feast apply.")
@common
@click.pass_context
def apply(ctx: click.Context) -> None:
    c = Here(ctx)
    api.apply(c.project, profile=c.profile, progress=c.out)


@cli.command(help="feast plan on the project's repo.")
@common
@click.pass_context
def plan(ctx: click.Context) -> None:
    c = Here(ctx)
    api.plan(c.project, c.profile)


@cli.command(help="Mark a locked version deprecated (REF is name@vN); it stays locked and servable.")
@click.argument("ref")
@common
@click.pass_context
def deprecate(ctx: click.Context, ref: str) -> None:
    c = Here(ctx)
    c.out.lines(render.deprecated(api.deprecate(c.project, ref)))


@cli.command(help="The services and runs that use a version (REF is name@vN).")
@click.argument("ref")
@json_option
@common
@click.pass_context
def lineage(ctx: click.Context, ref: str, as_json: bool) -> None:
    c = Here(ctx, as_json)
    info = api.lineage(c.project, ref)
    c.out.document(asdict(info)) if as_json else c.out.lines(render.lineage(info))


# ---- training sets -----------------------------------------------------------------------------
@cli.group(help="Point-in-time training sets.")
@common
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
    ctx: click.Context, service: str, as_of: str | None, out: str | None, knowledge: str | None, as_json: bool
) -> None:
    c = Here(ctx, as_json)
    built = api.build_dataset(c.project, service, as_of, out, knowledge, profile=c.profile, progress=c.out)
    c.out.document(built.document()) if as_json else c.out.lines(render.dataset(built))


@dataset.command("verify", help="Rebuild from a manifest (or its folder) and compare; exit 1 if different.")
@click.argument("manifest", type=click.Path())
@json_option
@common
@click.pass_context
def dataset_verify(ctx: click.Context, manifest: str, as_json: bool) -> None:
    c = Here(ctx, as_json)
    result = api.verify_dataset(c.project, manifest, profile=c.profile, progress=c.out)
    if as_json:
        c.out.document(render.verification_document(result))
    else:
        c.out.lines(render.verification(result))
    if not result.identical:
        ctx.exit(1)


# ---- models ------------------------------------------------------------------------------------
@cli.command(help="Train a service's model and baseline; write a run directory with metrics and a report.")
@click.option("--service", required=True, help="Feature service of the project.")
@click.option("--model", help="Model spec (training/models.py) [default: the service's].")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), help="Random seed [default: the service's].")
@click.option(
    "--params",
    type=JsonObject(),
    help="Hyperparameters as JSON, e.g. '{\"max_iter\": 100}' [default: the spec's].",
)
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
    params: dict[str, Any] | None,
    as_of: str | None,
    knowledge: str | None,
    promote: bool,
    force: bool,
) -> None:
    if force and not promote:
        raise click.UsageError("--force only applies with --promote.")
    c = Here(ctx)
    result = api.train(
        c.project,
        service,
        model=model,
        seed=seed,
        params=params,
        as_of=as_of,
        knowledge=knowledge,
        profile=c.profile,
        progress=c.out,
    )
    c.out.lines(render.trained(result))
    if promote:
        c.out.say(render.promoted(api.promote(c.project, result.run_id, force=force)))


@cli.group(
    invoke_without_command=True,
    help="List the training runs (* = promoted); `runs export --mlflow` logs them into MLflow.",
)
@json_option
@common
@click.pass_context
def runs(ctx: click.Context, as_json: bool) -> None:
    if ctx.invoked_subcommand is not None:
        return
    c = Here(ctx, as_json)
    rows = api.runs(c.project)
    c.out.document([asdict(r) for r in rows]) if as_json else c.out.lines(render.runs(rows))


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
def runs_export(ctx: click.Context, mlflow_uri: str | None, as_json: bool) -> None:
    if mlflow_uri is None:
        raise click.UsageError("Say where to: --mlflow [URI] (no URI: a SQLite store in the data directory).")
    c = Here(ctx, as_json)
    done = api.export_runs(c.project, mlflow_uri or None, progress=c.out)
    if as_json:
        c.out.document(asdict(done))
    else:
        c.out.lines(render.exported(done, c.project.name))


@cli.command(help="Serve RUN from now on (or, with --rollback, the previously promoted run).")
@click.argument("run", required=False)
@click.option("--rollback", is_flag=True, help="Serve the previously promoted run again.")
@click.option("--force", is_flag=True, help="Promote even a run whose model loses to its baseline.")
@common
@click.pass_context
def promote(ctx: click.Context, run: str | None, rollback: bool, force: bool) -> None:
    if bool(run) == rollback:
        raise click.UsageError("Give a RUN to promote, or --rollback (not both).")
    c = Here(ctx)
    history = api.rollback(c.project) if rollback else api.promote(c.project, str(run), force=force)
    c.out.say(render.promoted(history, previous=True))


@cli.command(help="Rebuild and retrain RUN; exit 0 only if its holdout predictions are identical.")
@click.argument("run")
@common
@click.pass_context
def reproduce(ctx: click.Context, run: str) -> None:
    c = Here(ctx)
    result = api.reproduce(c.project, run, profile=c.profile, progress=c.out)
    c.out.lines(render.reproduction(result))
    if not result.identical:
        ctx.exit(1)


# ---- serving -----------------------------------------------------------------------------------
@cli.command(help="Write the newest feature values to the online store (incremental).")
@click.option("--end", help="Materialize up to this event time, ISO 8601 with offset [default: the newest].")
@click.option("--rewind", is_flag=True, help="Rebuild views already materialized past --end.")
@common
@click.pass_context
def materialize(ctx: click.Context, end: str | None, rewind: bool) -> None:
    c = Here(ctx)
    api.materialize(c.project, end, rewind, profile=c.profile, progress=c.out)


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
def serve(ctx: click.Context, host: str, port: int, run: str | None, workers: int) -> None:
    c = Here(ctx)
    api.serve(c.project, run, host=host, port=port, workers=workers, profile=c.profile)


@cli.command(help="Online vs offline features, and served vs research predictions, at a time T.")
@click.option(
    "--sample", type=click.IntRange(1), default=1000, show_default=True, help="Entity rows to compare."
)
@click.option("--at", help="T, ISO 8601 with offset [default: the time the project's Examples declare].")
@json_option
@common
@click.pass_context
def parity(ctx: click.Context, sample: int, at: str | None, as_json: bool) -> None:
    c = Here(ctx, as_json)
    report = api.parity(c.project, sample, at, profile=c.profile, progress=c.out)
    c.out.document(render.check_document(report)) if as_json else c.out.lines(render.parity(report))
    if report.mismatches != 0:
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
def replay(ctx: click.Context, log: str, knowledge: str | None, as_json: bool) -> None:
    c = Here(ctx, as_json)
    report = api.replay(c.project, log, knowledge=knowledge or "as-of", profile=c.profile, progress=c.out)
    c.out.document(render.check_document(report)) if as_json else c.out.lines(render.replayed(report))
    if report.mismatches != 0:
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
) -> None:
    c = Here(ctx, as_json)
    report = api.simulate(
        c.project, every, latency, start, steps, run, out, profile=c.profile, progress=c.out
    )
    if as_json:
        c.out.document(render.simulation_document(report))
    else:
        c.out.lines(render.simulated(report))
    if report.failed:
        ctx.exit(1)


# ---- projects ----------------------------------------------------------------------------------
@cli.command(help="Write a new project into DIR (a tiny working example) and lock its versions.")
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False))
@click.option("--empty", is_flag=True, help="Write the skeleton only: nothing declared, nothing locked.")
@common
@click.pass_context
def init(ctx: click.Context, directory: str, empty: bool) -> None:
    Here(ctx).out.lines(render.created(api.new_project(directory, empty=empty), empty))


@cli.command(help="Run the whole pipeline on the project, end to end, with a summary.")
@click.option("--service", help="Service to train and serve [default: the first by name].")
@common
@click.pass_context
def demo(ctx: click.Context, service: str | None) -> None:
    c = Here(ctx)
    if not api.demo(c.project, c.profile, service, progress=c.out):
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
        if "--debug" in (argv if argv is not None else sys.argv[1:]) or _debug_from_environment():
            raise
        click.echo(f"featurelock: error: {one_line(exc)}", err=True)
        return 2 if isinstance(exc, FeaturelockError) else 1
    if isinstance(returned, int) and not isinstance(returned, bool):
        return returned
    return 0


def _debug_from_environment() -> bool:
    """FEATURELOCK_DEBUG as click reads it for --debug (1, true, yes, on)."""
    value = os.environ.get("FEATURELOCK_DEBUG", "")
    try:
        return bool(value) and bool(click.BOOL.convert(value, None, None))
    except click.BadParameter:
        return False


def one_line(exc: BaseException) -> str:
    """featurelock's own message as it is, or any other error (Feast, DuckDB, pandas) as one line
    with its type and where to look next."""
    if isinstance(exc, FeaturelockError):
        return str(exc)  # ours: what is wrong, what was received, the fix (a lock error lists each)
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text[:500]} (run again with --debug for the traceback)"
