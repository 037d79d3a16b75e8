"""The command: help on every option, options after the subcommand, --json that carries the same
values as the text, and one clear line (never a traceback) for bad input."""

from __future__ import annotations

import json
import re

import click
import pytest

from featurelock.cli import cli, main
from featurelock.scaffold import init_project


def commands(group: click.Group, path: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


ALL = list(commands(cli))


@pytest.mark.parametrize("path", [p for p, _ in ALL], ids=[" ".join(p) for p, _ in ALL])
def test_every_subcommand_has_help_on_every_option(path, capsys):
    assert main([*path, "--help"]) == 0
    text = capsys.readouterr().out
    command = dict(ALL)[path]
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{' '.join(path)} {param.opts} has no help"
            assert param.opts[-1] in text


def test_version_and_no_rst_in_the_top_help(capsys):
    assert main(["--version"]) == 0
    assert re.fullmatch(r"featurelock \d+\.\d+\.\d+\n", capsys.readouterr().out)
    assert main(["--help"]) == 0
    assert "``" not in capsys.readouterr().out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return init_project(tmp_path_factory.mktemp("cli") / "tiny")


def test_common_options_are_accepted_before_and_after_the_subcommand(tiny, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("FEATURELOCK_PROJECT", raising=False)
    monkeypatch.setenv("FEATURELOCK_HOME", str(tmp_path / "home"))
    assert main(["--project", str(tiny), "lineage", "visits_7d@v1", "--json"]) == 0
    before = json.loads(capsys.readouterr().out)
    assert main(["lineage", "visits_7d@v1", "--json", "--project", str(tiny)]) == 0
    after = json.loads(capsys.readouterr().out)
    monkeypatch.setenv("FEATURELOCK_PROJECT", str(tiny))
    assert main(["lineage", "visits_7d@v1", "--json"]) == 0
    from_env = json.loads(capsys.readouterr().out)
    assert before == after == from_env
    assert before["services"] == ["return_model_v1"] and before["fingerprint"].startswith("sha256:")


def test_the_innermost_common_option_wins_and_the_environment_is_the_outermost(
    tiny, tmp_path, capsys, monkeypatch
):
    """Issue 23, item 3: click's own context carries --project/--profile from the root, a group and
    the command (the innermost given wins); FEATURELOCK_PROFILE is read as the root's option."""
    monkeypatch.setenv("FEATURELOCK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FEATURELOCK_PROJECT", str(tmp_path / "nowhere"))
    assert main(["runs", "--json", "--project", str(tiny)]) == 0  # the command's over the environment's
    assert json.loads(capsys.readouterr().out) == []
    monkeypatch.setenv("FEATURELOCK_PROJECT", str(tiny))
    monkeypatch.setenv("FEATURELOCK_PROFILE", "staging")  # read as the root's --profile: refused as it is
    assert main(["runs"]) == 2
    assert "Invalid value for '--profile'" in capsys.readouterr().err
    monkeypatch.setenv("FEATURELOCK_PROFILE", "production")  # simulate runs on the local profile only
    assert main(["simulate"]) == 2
    assert "--profile production: simulate replays the timeline" in capsys.readouterr().err
    assert main(["simulate", "--profile", "local"]) == 2  # the command's wins: it goes on, to the run
    assert "simulate serves a trained run, and none is promoted" in capsys.readouterr().err
    assert main(["dataset", "--profile", "local", "verify", str(tmp_path / "none.json")]) == 2  # a group's
    assert "does not exist; pass a manifest.json or its folder" in capsys.readouterr().err
    assert main(["--profile", "spark", "runs", "--profile", "local", "--json"]) == 0  # the command's wins
    assert json.loads(capsys.readouterr().out) == []


BAD = [
    (["--profile", "staging", "runs"], 2, "Invalid value for '--profile'"),
    (["serve", "--port", "70000"], 2, "70000 is not in the range 1<=x<=65535"),
    (["parity", "--sample", "0"], 2, "0 is not in the range x>=1"),
    (["nonsense"], 2, "No such command 'nonsense'"),
    (["promote"], 2, "Give a RUN to promote, or --rollback"),
    (["runs", "export"], 2, "Say where to: --mlflow [URI]"),
    (["ingest", "--file", "x.csv"], 2, "--file needs --table and --knowledge-time"),
    (["train", "--service", "nope"], 2, "service='nope' is not a feature service of project 'tiny'"),
    (["train", "--service", "return_model_v1", "--params", "{bad"], 2, "is not JSON"),
    (["train", "--service", "return_model_v1", "--params", "[1]"], 2, "is not a JSON object"),
    (["train", "--service", "return_model_v1", "--model", "xgb"], 2, "model='xgb' is not a model spec"),
    (["train", "--service", "return_model_v1", "--params", '{"depth": 3}'], 2, "are not hyperparameters"),
    (["dataset", "build", "--service", "return_model_v1", "--as-of", "soon"], 2, "is not a timestamp"),
    (["dataset", "build", "--service", "return_model_v1", "--as-of", "2024-05-01"], 2, "is naive"),
    (["dataset", "build", "--service", "return_model_v1"], 2, "raw store is empty; run `featurelock ingest`"),
    (["dataset", "verify", "/nowhere"], 2, "does not exist; pass a manifest.json or its folder"),
    (["reproduce", "nope"], 2, "run='nope' is not a run directory"),
    (["replay", "/nowhere.jsonl"], 2, "does not exist"),
    (["lineage", "nope@v1"], 2, "Unknown feature version 'nope@v1'"),
    (["deprecate", "nope@v1"], 2, "ref='nope@v1' is not in features.lock"),
    (["materialize", "--end", "soon"], 2, "is not a timestamp"),
    (["features", "build"], 2, "raw store is empty; run `featurelock ingest` first"),
    (["serve"], 2, "No run is promoted"),
    (
        ["ingest", "--file", "/nowhere.csv", "--table", "visits", "--knowledge-time", "2024-05-01T00:00:00Z"],
        2,
        "file='/nowhere.csv' does not exist",
    ),
    (
        ["ingest", "--file", "/nowhere.csv", "--table", "vists", "--knowledge-time", "2024-05-01T00:00:00Z"],
        2,
        "table='vists' is not a raw table",
    ),
    # issue 13, item 13: the table grows to every command (missing arguments, bad values and formats,
    # files of the wrong kind, commands that need state the data directory does not have yet)
    (["dataset", "build"], 2, "Missing option '--service'"),
    (["train"], 2, "Missing option '--service'"),
    (["train", "--service", "return_model_v1", "--seed", "x"], 2, "'x' is not a valid integer"),
    (["replay"], 2, "Missing argument 'LOG'"),
    (["reproduce"], 2, "Missing argument 'RUN'"),
    (["lineage"], 2, "Missing argument 'REF'"),
    (["deprecate"], 2, "Missing argument 'REF'"),
    (["dataset", "verify"], 2, "Missing argument 'MANIFEST'"),
    (["init"], 2, "Missing argument 'DIR'"),
    (["serve", "--port", "0"], 2, "0 is not in the range 1<=x<=65535"),
    (["serve", "--port", "http"], 2, "'http' is not a valid integer"),
    (["parity", "--sample", "-5"], 2, "-5 is not in the range x>=1"),
    (["parity", "--at", "soon"], 2, "is not a timestamp"),
    (["parity", "--at", "2013-12-30"], 2, "is naive"),
    (["parity"], 2, "raw store is empty; run `featurelock ingest`"),
    (["materialize"], 2, "raw store is empty; run `featurelock ingest`"),
    (["materialize", "--end", "2024-05-01"], 2, "is naive"),
    (["materialize", "--end", "2024-05-01T00:00:00Z", "--rewind"], 2, "raw store is empty"),
    (["apply"], 2, "raw store is empty; run `featurelock ingest` first"),
    (["promote", "nope"], 2, "run='nope' is not a run directory"),
    (["promote", "--rollback"], 2, "Nothing to roll back to: the promotion history is []"),
    (["promote", "../../etc"], 2, "is not a run directory"),
    (["reproduce", "../../etc"], 2, "is not a run directory"),
    (["lineage", "visits_7d"], 2, "Unknown feature version 'visits_7d'; known versions: ['visits_7d@v1']"),
    (["lineage", "visits_7d@v99"], 2, "Unknown feature version 'visits_7d@v99'"),
    (["deprecate", "visits_7d"], 2, "ref='visits_7d' is not in features.lock"),
    (["train", "--service", "return_model_v1", "--as-of", "soon"], 2, "is not a timestamp"),
    (["train", "--service", "return_model_v1", "--params", '{"max_iter": "many"}'], 2, "max_iter"),
    (["train", "--service", "return_model_v1"], 2, "raw store is empty; run `featurelock ingest`"),
    (["dataset", "build", "--service", "nope"], 2, "service='nope' is not a feature service"),
    (
        ["dataset", "build", "--service", "return_model_v1", "--as-of", "2100-01-01T00:00:00Z"],
        2,
        "raw store is empty",
    ),
    (["demo", "--service", "nope"], 2, "service='nope' is not a feature service"),
    (["runs", "export", "--mlflow"], 2, "There are no runs to export"),
    (["ingest", "--table", "visits"], 2, "(and they need --file)"),
    (
        ["ingest", "--knowledge-time", "2024-05-01T00:00:00Z"],
        2,
        "(and they need --file)",
    ),
    (
        ["ingest", "--file", "/nowhere.csv", "--table", "visits", "--knowledge-time", "soon"],
        2,
        "file='/nowhere.csv' does not exist",
    ),
    (
        ["ingest", "--file", "/nowhere.csv", "--table", "nope", "--knowledge-time", "2024-05-01"],
        2,
        "table='nope' is not a raw table",
    ),
    (["reproduce", "x", "--seed", "1"], 2, "No such option '--seed'"),
    # issue 20, item 2: the table grows past 150 (with the tables below): simulate, knowledge modes,
    # durations, ranges, files of the wrong kind, the argument before the state it needs
    (["simulate", "--every", "7"], 2, "--every='7' is not a duration; give a positive whole number"),
    (["simulate", "--every", "0d"], 2, "--every='0d' is not a duration"),
    (["simulate", "--every", "1w"], 2, "--every='1w' is not a duration"),
    (["simulate", "--every", "30s"], 2, "--every='30s' is not a duration"),
    (["simulate", "--latency", "x"], 2, "--latency='x' is not a duration"),
    (["simulate", "--latency", "0d"], 2, "--latency='0d' is not a duration"),
    (["simulate", "--steps", "0"], 2, "0 is not in the range x>=1"),
    (["simulate", "--steps", "abc"], 2, "'abc' is not a valid integer"),
    (["simulate"], 2, "serves a trained run, and none is promoted; train one"),
    (["simulate", "--from", "soon"], 2, "--from='soon' is not a timestamp"),
    (["simulate", "--from", "2024-01-01"], 2, "--from='2024-01-01' is naive"),
    (["simulate", "--profile", "production"], 2, "simulate replays the timeline in a scratch directory"),
    (["simulate", "--run", "nope"], 2, "run='nope' is not a run directory"),
    (["simulate", "--out", "notes.txt"], 2, "is a file"),
    (["dataset", "build", "--service", "return_model_v1", "--knowledge", "rows"], 2, "'rows' is not one of"),
    (
        ["dataset", "build", "--service", "return_model_v1", "--as-of", "2024-01-01"],
        2,
        "as_of='2024-01-01' is naive",
    ),
    (
        ["dataset", "build", "--service", "return_model_v1", "--as-of", "garbage"],
        2,
        "as_of='garbage' is not a",
    ),
    (
        ["dataset", "build", "--service", "return_model_v1", "--as-of", "2999-01-01T00:00:00Z"],
        2,
        "outside the",
    ),
    (["train", "--service", "return_model_v1", "--knowledge", "x"], 2, "'x' is not one of 'as-of', 'row'"),
    (["train", "--service", "return_model_v1", "--model", "nope"], 2, "model='nope' is not a model spec"),
    (["train", "--service", "return_model_v1", "--params", "[1]"], 2, "is not a JSON object"),
    (["train", "--service", "return_model_v1", "--params", "{"], 2, "is not JSON (at column 2)"),
    (["train", "--service", "return_model_v1", "--as-of", "2013-01-01"], 2, "as_of='2013-01-01' is naive"),
    (["train", "--service", "return_model_v1", "--seed", "-1"], 2, "-1 is not in the range 0<=x<=4294967295"),
    (["train", "--service", "return_model_v1", "--seed", "99999999999"], 2, "is not in the range 0<=x"),
    (["train", "--service", "nope"], 2, "service='nope' is not a feature service"),
    (["replay", "--knowledge", "x", "log.jsonl"], 2, "'x' is not one of 'as-of', 'row'"),
    (["replay", "adir"], 2, "log='adir' is a directory; pass the log file itself"),
    (["replay", "missing.jsonl"], 2, "log='missing.jsonl' does not exist"),
    (["replay", "notes.txt"], 2, "is not a prediction log entry"),
    (["materialize", "--end", "garbage"], 2, "is not a timestamp"),
    (["materialize", "--end", "2999-01-01T00:00:00Z"], 2, "is outside the supported range"),
    (["parity", "--sample", "0"], 2, "0 is not in the range x>=1"),
    (["parity", "--sample", "x"], 2, "'x' is not a valid integer"),
    (["parity", "--at", "2024-05-01T00:00:00+99:00"], 2, "is not a timestamp"),
    (["parity", "--at", "2013-12-30T18:00:00Z"], 2, "raw store is empty; run `featurelock ingest`"),
    (["lineage", ""], 2, "Unknown feature version ''"),
    (["lineage", "visits_7d@vX"], 2, "Unknown feature version 'visits_7d@vX'"),
    (["lineage", "customer_days@v9"], 2, "Unknown feature version 'customer_days@v9'"),
    (["deprecate", "nope@v1"], 2, "ref='nope@v1' is not in features.lock"),
    (["deprecate", "visits_7d@v2"], 2, "ref='visits_7d@v2' is not in features.lock"),
    (["promote", ""], 2, "Give a RUN to promote, or --rollback (not both)"),
    (["promote", "--rollback", "x"], 2, "Give a RUN to promote, or --rollback (not both)"),
    (["promote", "a", "b"], 2, "Got unexpected extra argument (b)"),
    (["serve", "--workers", "0"], 2, "0 is not in the range 1<=x<=64"),
    (["serve", "--workers", "100"], 2, "100 is not in the range 1<=x<=64"),
    (["serve", "--host"], 2, "Option '--host' requires an argument"),
    (["serve", "--port", "70000"], 2, "70000 is not in the range 1<=x<=65535"),
    (["serve"], 2, "No run is promoted; train one and run `featurelock promote RUN`"),
    (["serve", "--run", "nope"], 2, "run='nope' is not a run directory"),
    (["init", "notes.txt"], 2, "is a file"),
    (
        [
            "ingest",
            "--file",
            "notes.txt",
            "--table",
            "visits",
            "--knowledge-time",
            "2024-05-01T00:00:00Z",
        ],
        2,
        "has suffix '.txt'",
    ),
    (
        ["ingest", "--file", "adir", "--table", "visits", "--knowledge-time", "2024-05-01T00:00:00Z"],
        2,
        "is a directory",
    ),
    (
        ["ingest", "--table", "visits", "--file", "notes.txt"],
        2,
        "--file needs --table and --knowledge-time",
    ),
    (["features", "build", "--full"], 2, "raw store is empty; run `featurelock ingest` first"),
    (["features", "build", "--profile", "production"], 2, "profile='production' needs"),
    (["features", "nope"], 2, "No such command 'nope'"),
    (["dataset", "nope"], 2, "No such command 'nope'"),
    (["runs", "nope"], 2, "No such command 'nope'"),
    (["runs", "--json", "--bogus"], 2, "No such option '--bogus'"),
    (["--profile", "nope", "runs"], 2, "'nope' is not one of 'local', 'production', 'spark'"),
    (["nope"], 2, "No such command 'nope'"),
    (["dataset", "verify", "missing"], 2, "manifest='missing' does not exist"),
    (["dataset", "verify", "adir"], 2, "manifest.json' does not exist"),
    (["reproduce", "20260101T000000000000Z-x-y"], 2, "is not a run directory"),
    (["lock", "--bogus"], 2, "No such option '--bogus'"),
    (["demo", "--profile", "nope"], 2, "'nope' is not one of 'local', 'production', 'spark'"),
    (["apply", "--profile", "spark"], 2, "raw store is empty; run `featurelock ingest` first"),
]


@pytest.mark.parametrize(("args", "code", "words"), BAD, ids=[" ".join(a)[:60] for a, _, _ in BAD])
def test_bad_input_ends_in_one_clear_line_and_writes_nothing(
    tiny, tmp_path, capsys, monkeypatch, args, code, words
):
    home = tmp_path / "home"
    monkeypatch.setenv("FEATURELOCK_HOME", str(home))
    monkeypatch.chdir(tmp_path)  # relative paths among the bad inputs resolve the same on every machine
    (tmp_path / "notes.txt").write_text("not a batch, a log, a manifest or a folder")
    (tmp_path / "adir").mkdir()
    before = sorted(tiny.rglob("*"))
    assert main(["--project", str(tiny), *args]) == code
    out, err = capsys.readouterr()
    text = out + err
    assert words in text
    assert "Traceback" not in text
    assert not home.exists() and sorted(tiny.rglob("*")) == before


def test_a_project_that_does_not_exist_is_one_line(capsys):
    assert main(["--project", "/nowhere", "runs"]) == 2
    err = capsys.readouterr().err
    assert "project='/nowhere' is not a featurelock project" in err and "Traceback" not in err


@pytest.fixture(scope="module")
def demoed(tmp_path_factory):
    """The tiny project through `featurelock demo`, in process, on a private data directory."""
    root = init_project(tmp_path_factory.mktemp("demo") / "shop")
    mp = pytest.MonkeyPatch()
    mp.setenv("FEATURELOCK_HOME", str(root.parent / "home"))
    mp.delenv("FEATURELOCK_PROFILE", raising=False)
    try:
        assert main(["demo", "--project", str(root)]) == 0
        yield root
    finally:
        mp.undo()


def run(capsys, root, monkeypatch, *args):
    monkeypatch.setenv("FEATURELOCK_HOME", str(root.parent / "home"))
    code = main([*args, "--project", str(root)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_json_outputs_parse_and_carry_the_text_values(demoed, capsys, monkeypatch):
    code, text, _ = run(capsys, demoed, monkeypatch, "dataset", "build", "--service", "return_model_v1")
    assert code == 0
    code, doc, progress = run(
        capsys, demoed, monkeypatch, "dataset", "build", "--service", "return_model_v1", "--json"
    )
    built = json.loads(doc)
    assert code == 0 and "==> build training set" in progress  # progress on stderr, the document on stdout
    assert f"sha256    {built['sha256']}" in text and f"rows      {built['rows']:,}" in text

    code, doc, _ = run(capsys, demoed, monkeypatch, "dataset", "verify", built["folder"], "--json")
    assert code == 0 and json.loads(doc) == {
        "identical": True,
        "expected_sha256": built["sha256"],
        "actual_sha256": built["sha256"],
        "diverged": [],
    }

    _, text, _ = run(capsys, demoed, monkeypatch, "runs")
    _, doc, _ = run(capsys, demoed, monkeypatch, "runs", "--json")
    runs = json.loads(doc)
    assert len(runs) == 1 and runs[0]["promoted"] is True
    assert f"* {runs[0]['run_id']}  service=return_model_v1  roc_auc={runs[0]['roc_auc']:.4f}" in text

    code, text, _ = run(capsys, demoed, monkeypatch, "parity", "--sample", "50")
    code_j, doc, _ = run(capsys, demoed, monkeypatch, "parity", "--sample", "50", "--json")
    report = json.loads(doc)
    assert code == code_j == 0 and report["mismatches"] == 0 and report["rows"] == 50
    assert re.search(
        r"visits_7d_v1\s+50\s+0\s+" + str(report["per_feature"]["visits_7d_v1"]["online_nulls"]), text
    )

    log = str(demoed.parent / "home" / "predictions" / "local" / "predictions.jsonl")
    _, text, _ = run(capsys, demoed, monkeypatch, "replay", log)
    _, doc, _ = run(capsys, demoed, monkeypatch, "replay", log, "--json")
    replayed = json.loads(doc)
    assert replayed["mismatches"] == 0 and f"{replayed['predictions']:,} logged predictions" in text


@pytest.mark.slow
def test_the_demo_ends_with_paths_and_next_commands(demoed, capsys, monkeypatch):
    code, text, _ = run(capsys, demoed, monkeypatch, "demo")
    assert code == 0
    tail = text[text.index("Demo complete") :]
    for words in (
        "training set",
        "run ",
        "report",
        "report.html",
        "prediction log",
        "next:",
        "featurelock serve",
    ):
        assert words in tail
    assert '"run_id"' in text and text.count("{") == text.count("}")  # the receipt whole


def test_files_are_written_with_the_process_umask(tmp_path):
    import os

    from featurelock.core.atomic import write_text_atomic

    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "report.html", "<html></html>")
    finally:
        os.umask(old)
    assert (tmp_path / "report.html").stat().st_mode & 0o777 == 0o644  # a teammate can read it


def test_issue20_item11_the_umask_is_read_without_being_changed(tmp_path, monkeypatch):
    """Before: os.umask(0) then back, a window in which another thread's files got mode 0666."""
    import os

    from featurelock.core import atomic

    old = os.umask(0o027)
    try:

        def forbidden(_mask):
            raise AssertionError("the umask was set while being read")

        monkeypatch.setattr(atomic.os, "umask", forbidden)
        atomic.write_text_atomic(tmp_path / "a.txt", "a")
        monkeypatch.undo()
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o640


def test_a_run_id_from_a_log_is_never_a_path(tiny, tmp_path, monkeypatch):
    from featurelock.core.errors import ValidationError
    from featurelock.features.project import Project
    from featurelock.training.runs import read_run

    monkeypatch.setenv("FEATURELOCK_HOME", str(tmp_path / "home"))
    outside = tmp_path / "evil"
    outside.mkdir()
    (outside / "run.json").write_text("{}")
    project = Project(tiny)
    for bad in ("../../evil", str(outside), ".hidden"):
        with pytest.raises(ValidationError, match=r"is not a run id .* never read as a path"):
            read_run(project, bad, by_id=True)


def _tree(home):
    return sorted((str(p.relative_to(home)), p.stat().st_size) for p in home.rglob("*") if p.is_file())


def refused(capsys, demoed, monkeypatch, *args) -> tuple[str, str]:
    """Run the command on the demoed project: it must exit 2 with no traceback and leave the data
    directory as it was. Returns (stdout + stderr, stderr) for the caller's own words."""
    home = demoed.parent / "home"
    before = _tree(home)
    code, out, err = run(capsys, demoed, monkeypatch, *args)
    assert code == 2, out + err
    assert "Traceback" not in out + err
    assert _tree(home) == before
    return out + err, err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["serve", "--run", "nope"], "run='nope' is not a run directory"),
        (["reproduce", "nope"], "run='nope' is not a run directory"),
        (["train", "--service", "return_model_v1", "--params", '{"max_iter": "many"}'], "max_iter"),
        (["train", "--service", "return_model_v1", "--params", '{"depth": 3}'], "are not hyperparameters"),
        (["dataset", "build", "--service", "return_model_v1", "--as-of", "2100-01-01T00:00:00Z"], "after"),
        (["materialize", "--end", "2024-01-01T00:00:00Z"], "an online store never goes back in time"),
        (["replay", "features.lock"], "is not a prediction log entry"),
        (["dataset", "verify", "features.lock"], "is not a featurelock dataset manifest"),
    ],
    ids=lambda v: " ".join(v)[:50] if isinstance(v, list) else None,
)
def test_bad_input_on_a_data_directory_in_use_changes_nothing(demoed, capsys, monkeypatch, args, words):
    """Issue 13, item 13: the same bar with state in place (a demo ran): one line, nothing written."""
    monkeypatch.chdir(demoed)
    text, _ = refused(capsys, demoed, monkeypatch, *args)
    assert words in text


def test_a_published_version_cannot_be_dropped(demoed, capsys, monkeypatch):
    """Issue 21, item 2: the demo applied the sample and trained on it; both keep it locked."""
    from featurelock.features.lockfile import run_refs
    from featurelock.features.project import Project
    from featurelock.training.runs import promoted_run

    text, _ = refused(capsys, demoed, monkeypatch, "lock", "--drop", "visits_7d@v1")
    assert "--drop 'visits_7d@v1' refused: it was applied in the data directory" in text
    assert "so it is published and stays locked (nothing was changed)" in text
    project = Project(demoed, demoed.parent / "home")
    used = run_refs(project.runs_dir)
    assert used["visits_7d@v1"] == used["customer_days@v1"] == promoted_run(project)


def test_a_run_losing_to_its_baseline_is_not_promoted_unless_forced(demoed, capsys, monkeypatch):
    """Issue 21, item 5: promote and the demo respect the user."""
    from featurelock.api import keep_promotion
    from featurelock.features.project import Project
    from featurelock.training.model import RunConfig
    from featurelock.training.runs import promoted_history, train_run

    project = Project(demoed, demoed.parent / "home")
    promoted = promoted_history(project)
    # the prior (0.5 ROC AUC) as the model, the logistic regression as its baseline: it loses
    result = train_run(project, RunConfig("return_model_v1", model="prior", baseline="logistic"))
    loser = result.record
    auc = {k: loser.metric("roc_auc", k) for k in ("model", "baseline")}
    assert auc["model"] == 0.5 < auc["baseline"]
    text, _ = refused(capsys, demoed, monkeypatch, "promote", loser.run_id)
    assert f"run {loser.run_id} is not promoted: its model loses to its baseline on roc_auc" in text
    assert f"model 0.5000, baseline {auc['baseline']:.4f}, by {auc['baseline'] - 0.5:.4f}" in text
    assert "promote it anyway with --force" in text
    assert promoted_history(project) == promoted
    # the demo keeps the user's promotion: it serves its own run explicitly
    assert keep_promotion(project, result) == loser.run_id
    assert promoted_history(project) == promoted
    code, out, _ = run(capsys, demoed, monkeypatch, "promote", loser.run_id, "--force")
    assert code == 0 and f"serving run: {loser.run_id}" in out
    assert main(["promote", "--rollback", "--project", str(demoed)]) == 0
    assert promoted_history(project) == promoted


def test_a_tampered_model_file_is_one_line_at_serve(demoed, capsys, monkeypatch):
    from featurelock.features.project import Project
    from featurelock.training.runs import promoted_run

    project = Project(demoed, demoed.parent / "home")
    model = project.runs_dir / str(promoted_run(project)) / "model.skops"
    original = model.read_bytes()
    try:
        model.write_bytes(original[:-10] + b"0123456789")
        code, out, err = run(capsys, demoed, monkeypatch, "reproduce", str(promoted_run(project)))
        assert code == 2 and "Traceback" not in out + err
        assert "model.skops" in out + err and "sha256" in (out + err).lower()
    finally:
        model.write_bytes(original)


MANIFEST = {
    "format": "featurelock-dataset/2",
    "service": "return_model_v1",
    "as_of": "2024-04-02T00:00:00+00:00",
}
KT = "2024-05-01T00:00:00Z"
INGEST = ["ingest", "--table", "visits", "--knowledge-time", KT, "--file"]


@pytest.mark.parametrize(
    ("name", "content", "args", "words"),
    [
        ("empty.csv", b"", INGEST, "is empty (0 bytes)"),
        ("garbage.parquet", b"PAR1 not parquet", INGEST, "cannot be read as Parquet"),
        ("garbage.csv", b"\xff\xfe\x00\x81bad", INGEST, "cannot be read as CSV (UTF-8 text)"),
        (
            "late.csv",
            b"visit_id,event_timestamp,customer,amount\nv1,yesterday,c01,1.0\n",
            INGEST,
            "holds 'yesterday', which is not an ISO 8601 timestamp",
        ),
        (
            "m1.json",
            json.dumps({**MANIFEST, "content_sha256": "sha256:0"}).encode(),
            ["dataset", "verify"],
            "'inputs' is None, expected a dict",
        ),
        (
            "m2.json",
            json.dumps({**MANIFEST, "content_sha256": "sha256:0", "inputs": "all"}).encode(),
            ["dataset", "verify"],
            "'inputs' is 'all', expected a dict",
        ),
        (
            "log.jsonl",
            b'{"run_id": "x", "probability": 0.5}\n',
            ["replay"],
            "it lacks ['request', 'prediction_time', 'features']",
        ),
        ("bin.jsonl", b"\xff\xfe\x00\x81", ["replay"], "is not a prediction log (not UTF-8 text"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 20 else None,
)
def test_issue20_item2_bad_files_end_in_one_line_and_change_nothing(
    demoed, capsys, monkeypatch, tmp_path, name, content, args, words
):
    """Before: pandas', pyarrow's and Python's own exceptions, wrapped in one line."""
    path = tmp_path / name
    path.write_bytes(content)
    text, err = refused(capsys, demoed, monkeypatch, *args, str(path))
    assert words in text
    for foreign in ("EmptyDataError", "ArrowInvalid", "UnicodeDecodeError", "KeyError", "TypeError"):
        assert f"{foreign}:" not in err.split("(")[0]  # our words first, never a foreign message


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            ["train", "--service", "return_model_v1", "--seed", "-1"],
            "-1 is not in the range 0<=x<=4294967295",
        ),
        (["train", "--service", "return_model_v1", "--params", '{"bogus": 1}'], "bogus"),
        (["parity", "--at", "2100-01-01T00:00:00Z"], "is after the newest knowledge time in the raw store"),
    ],
    ids=lambda v: " ".join(v)[:40] if isinstance(v, list) else None,
)
def test_issue20_item2_bad_values_end_in_one_line_and_change_nothing(
    demoed, capsys, monkeypatch, args, words
):
    text, _ = refused(capsys, demoed, monkeypatch, *args)
    assert words in text


@pytest.mark.parametrize(
    ("relative", "command", "words"),
    [
        ("home/runs/promoted.json", ["runs"], "is not the promotion history (not JSON"),
        ("home/materialize.local.json", ["materialize"], "is not the online store's materialize marks"),
        ("shop/feature_repo/feature_store.yaml", ["materialize"], "is not YAML"),
    ],
    ids=["promoted.json", "marks", "feature_store.yaml"],
)
def test_issue20_item2_a_damaged_state_file_is_named_in_one_line(
    demoed, capsys, monkeypatch, relative, command, words
):
    path = demoed.parent / relative
    original = path.read_bytes()
    try:
        path.write_bytes(b"{not json: [")
        code, out, err = run(capsys, demoed, monkeypatch, *command)
        assert code == 2, out + err
        assert words in out + err and "Traceback" not in out + err
        assert "JSONDecodeError:" not in out + err and "ParserError:" not in out + err
    finally:
        path.write_bytes(original)


def test_issue20_item2_a_damaged_run_record_is_named_in_one_line(demoed, capsys, monkeypatch):
    from featurelock.features.project import Project
    from featurelock.training.runs import promoted_run

    project = Project(demoed, demoed.parent / "home")
    record = project.runs_dir / str(promoted_run(project)) / "run.json"
    original = record.read_bytes()
    try:
        record.write_bytes(original[: len(original) // 2])
        code, out, err = run(capsys, demoed, monkeypatch, "reproduce", str(promoted_run(project)))
        assert code == 2 and "is not a run record (not JSON" in out + err and "Traceback" not in out + err
    finally:
        record.write_bytes(original)


def test_issue20_item2_a_data_directory_that_is_a_file_is_refused(tiny, tmp_path, capsys, monkeypatch):
    home = tmp_path / "home"
    home.write_text("a file")
    monkeypatch.setenv("FEATURELOCK_HOME", str(home))
    assert main(["--project", str(tiny), "runs"]) == 2
    err = capsys.readouterr().err
    assert "is a file, not a directory; point FEATURELOCK_HOME at a directory" in err
    assert home.read_text() == "a file"


@pytest.mark.parametrize(
    "damage",
    [lambda b: b[:-10] + b"0123456789", lambda b: b""],
    ids=["one byte flipped", "empty"],
)
def test_issue20_item2_serve_with_a_damaged_model_is_one_line_before_any_server(
    demoed, capsys, monkeypatch, damage
):
    """Before: the check ran in the app's startup hook, so uvicorn printed a traceback and exit 3."""
    from featurelock.features.project import Project
    from featurelock.training.runs import promoted_run

    project = Project(demoed, demoed.parent / "home")
    model = project.runs_dir / str(promoted_run(project)) / "model.skops"
    original = model.read_bytes()
    try:
        model.write_bytes(damage(original))
        code, out, err = run(capsys, demoed, monkeypatch, "serve", "--port", "1")
        assert code == 2, out + err
        assert "model.skops" in out + err and "Traceback" not in out + err
    finally:
        model.write_bytes(original)


def test_issue20_item2_a_run_outside_the_data_directory_is_not_promoted(
    demoed, capsys, monkeypatch, tmp_path
):
    """Before: a directory outside the data directory whose run.json named its own path was stored,
    and `serve` then loaded a model from outside the data directory."""
    import shutil

    from featurelock.features.project import Project
    from featurelock.training.runs import promoted_history, promoted_run

    project = Project(demoed, demoed.parent / "home")
    outside = tmp_path / "elsewhere"
    shutil.copytree(project.runs_dir / str(promoted_run(project)), outside)
    record = json.loads((outside / "run.json").read_text())
    record["run_id"] = str(outside)
    (outside / "run.json").write_text(json.dumps(record))
    before = promoted_history(project)
    code, out, err = run(capsys, demoed, monkeypatch, "promote", str(outside))
    assert code == 2 and "is not a run of this data directory" in out + err
    assert promoted_history(project) == before


@pytest.mark.parametrize(
    "args",
    [
        ["init", "features.lock/shop"],
        ["init", "features.lock"],
        ["dataset", "build", "--service", "return_model_v1", "--out", "features.lock/set"],
    ],
    ids=["init under a file", "init onto a file", "--out under a file"],
)
def test_issue20_item2_an_unwritable_place_is_one_line(demoed, capsys, monkeypatch, args):
    monkeypatch.chdir(demoed)
    text, _ = refused(capsys, demoed, monkeypatch, *args)
    assert "a part of the path is a file" in text or "is a file" in text
    assert "FileNotFoundError" not in text and "NotADirectoryError" not in text


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("uri", "words"),
    [
        ("ftp://127.0.0.1/mlflow", "has scheme 'ftp'; featurelock exports to"),
        ("sqlite:///features.lock/mlflow.db", "is a file, not a folder"),
        ("sqlite:///features.lock", "exists and is not a SQLite database"),
        (f"http://127.0.0.1:{_closed_port()}", "nothing answers at 127.0.0.1:"),
    ],
    ids=["unknown scheme", "under a file", "not a database", "closed port"],
)
def test_issue20_item2_runs_export_to_a_bad_place_is_one_line_and_bounded(
    demoed, capsys, monkeypatch, uri, words
):
    """Before: MLflow's own errors, and a closed port still retried after 150 s."""
    import time

    monkeypatch.chdir(demoed)
    began = time.monotonic()
    text, _ = refused(capsys, demoed, monkeypatch, "runs", "export", "--mlflow", uri)
    assert time.monotonic() - began < 20
    assert words in text


def test_issue20_item2_a_damaged_feature_table_is_one_line(demoed, capsys, monkeypatch):
    """Before: DuckDB's InvalidInputException, in one line."""
    table = (demoed.parent / "home" / "features").resolve() / "customer_daily.parquet"
    original = table.read_bytes()
    try:
        table.write_bytes(original[: len(original) // 2])
        code, out, err = run(capsys, demoed, monkeypatch, "dataset", "build", "--service", "return_model_v1")
        assert code == 2, out + err
        assert "cannot be read as Parquet" in out + err and "features build --full" in out + err
        assert "InvalidInputException" not in out + err and "Traceback" not in out + err
    finally:
        table.write_bytes(original)


def test_featurelock_debug_in_the_environment_shows_the_traceback(tiny, tmp_path, capsys, monkeypatch):
    """Issue 23, item 3: --debug is read from FEATURELOCK_DEBUG like every root option."""
    from featurelock.core.errors import NotFoundError

    monkeypatch.setenv("FEATURELOCK_HOME", str(tmp_path / "home"))
    assert main(["lineage", "nope@v1", "--project", str(tiny)]) == 2  # one line
    assert "featurelock: error: Unknown feature version 'nope@v1'" in capsys.readouterr().err
    monkeypatch.setenv("FEATURELOCK_DEBUG", "1")
    with pytest.raises(NotFoundError, match=r"Unknown feature version 'nope@v1'"):
        main(["lineage", "nope@v1", "--project", str(tiny)])
