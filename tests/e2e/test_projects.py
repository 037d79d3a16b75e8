"""More projects through the `featurelock` command, with no line of the engine written for them:
a user's panel made from `featurelock init`'s project, and CDNOW (examples/cdnow)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow


def featurelock(cwd: Path, home: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("FEATURELOCK_PROJECT", "FEATURELOCK_PROFILE")}
    env["FEATURELOCK_HOME"] = str(home)
    result = subprocess.run(
        [sys.executable, "-m", "featurelock", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def check_demo(out: str) -> None:
    hashes = re.findall(r"sha256    (sha256:[0-9a-f]{64})", out)
    assert len(hashes) == 2 and hashes[0] == hashes[1]  # the training set built twice, identical
    assert "reproduced exactly" in out
    assert out.count("0 mismatches") == 4  # parity, replay, and the timeline: served and replayed
    assert "served vs training set (knowledge row): 0 mismatches" in out
    assert "Demo complete" in out


SEGMENTS = '''"""The customers' segments: each customer's segment from 2024-01-01, some changed later."""

from datetime import timedelta
from pathlib import Path

import pandas as pd

from featurelock import Source

CSV = Path(__file__).resolve().parents[1] / "raw" / "segments.csv"


def load_segments() -> pd.DataFrame:
    """One row per customer and change: the segment from event_timestamp on."""
    frame = pd.read_csv(CSV, dtype={"change_id": str, "customer": str, "segment": str})
    frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"], utc=True)
    return frame[["change_id", "event_timestamp", "customer", "segment"]]


SEGMENTS = Source(
    name="segments",
    key="change_id",
    columns=(("customer", "string"), ("segment", "string")),
    description="Segment changes of customers.",
    load=load_segments,
    every=timedelta(days=7),
    latency=timedelta(days=1),
)
'''

SEGMENT_V1 = '''"""Feature segment, version 1."""

from datetime import timedelta

from featurelock import sql_feature


@sql_feature(
    entity="customer", view="customer_daily", source="segments", dtype="string",
    ttl=timedelta(days=2), owner="panel", categorical=True,
)
def segment_v1() -> str:
    """The customer's segment at t (a string category).

    Entity: customer. Inputs: segments.customer, segments.segment, segments.event_timestamp.
    Null policy: null before the customer's first segment. Owner: panel.
    """
    return """
        SELECT g.customer, g.event_timestamp, s.segment AS value
        FROM grid g ASOF LEFT JOIN segments s
          ON g.customer = s.customer AND g.event_timestamp >= s.event_timestamp
    """
'''

SEGMENT_ENTITY = """

SEGMENT = JoinKey("segment", "Customer segment.", max_length=16)
SEGMENT_ENTITY = Entity("segment", ("segment",), "A segment of customers.")
"""

SEGMENT_VIEW = '''

SEGMENT_DAILY = View(
    "segment_daily",
    "segment",
    """
    WITH keys AS (SELECT DISTINCT segment FROM segments),
    span AS (
        SELECT date_trunc('day', min(event_timestamp)) AS lo,
               date_trunc('day', max(event_timestamp)) + INTERVAL 1 DAY AS hi
        FROM visits
    ),
    times AS (SELECT unnest(generate_series(lo, hi, INTERVAL 1 DAY)) AS event_timestamp FROM span)
    SELECT segment, event_timestamp FROM keys CROSS JOIN times
    """,
    "The segment at each UTC midnight.",
)
'''

SEGMENT_SIZE_V1 = '''"""Feature segment_size, version 1."""

from datetime import timedelta

from featurelock import sql_feature


@sql_feature(entity="segment", view="segment_daily", source="segments", dtype="Int64",
             ttl=timedelta(days=2), owner="panel")
def segment_size_v1() -> str:
    """Customers in the segment at t (their newest segment change at or before t).

    Entity: segment. Inputs: segments.customer, segments.segment, segments.event_timestamp.
    Null policy: 0 when no customer is in it. Owner: panel.
    """
    return """
        WITH changes AS (
            SELECT g.segment AS seg, g.event_timestamp AS t, s.customer, s.segment AS now_in,
                   row_number() OVER (
                       PARTITION BY g.segment, g.event_timestamp, s.customer ORDER BY s.event_timestamp DESC
                   ) AS n
            FROM grid g JOIN segments s ON s.event_timestamp <= g.event_timestamp
        )
        SELECT g.segment, g.event_timestamp, count(c.customer)::BIGINT AS value
        FROM grid g LEFT JOIN changes c
          ON c.seg = g.segment AND c.t = g.event_timestamp AND c.n = 1 AND c.now_in = g.segment
        GROUP BY g.segment, g.event_timestamp
    """
'''

SERVICE = '''"""The panel's service: a string categorical, two versions of a feature, a looked-up key."""

from featurelock import Lookup, Service

PANEL_MODEL_V1 = Service(
    name="panel_model_v1",
    features=("segment@v1", "segment_size@v1", "visits_7d@v1", "visits_7d@v2"),
    lookups=(Lookup("segment", "segment@v1"),),  # the customer's segment at the prediction time
    request_features=(),
    population="customer_days@v1",
    model="logistic",
    baseline="prior",
    holdout_from="2024-03-01T00:00:00Z",
    description="Will the customer visit tomorrow? (segment one-hot encoded)",
    seed=7,
    knowledge="row",
)
'''


def segments_csv(visits: str) -> str:
    """Segments by January visits (tertiles), from 2024-01-01; c03 becomes 'platinum' (a category no
    training row has: training ends at 2024-03-01) and c05 moves to 'gold' on 2024-02-10."""
    counts: dict[str, int] = {}
    for line in visits.splitlines()[1:]:
        _, when, customer, _ = line.split(",")
        counts[customer] = counts.get(customer, 0) + (when < "2024-02")
    ranked = sorted(counts, key=lambda c: (counts[c], c))
    rows = ["change_id,event_timestamp,customer,segment"]
    for i, customer in enumerate(ranked):
        segment = ("bronze", "silver", "gold")[3 * i // len(ranked)]
        rows.append(f"{customer}-0,2024-01-01T00:00:00Z,{customer},{segment}")
    rows += ["c05-1,2024-02-10T00:00:00Z,c05,gold", "c03-1,2024-03-10T00:00:00Z,c03,platinum"]
    return "\n".join(rows) + "\n"


def make_panel(root: Path) -> None:
    """`featurelock init`'s project made a panel of the user's: a second source, a string
    categorical, a `_v2` beside its `_v1`, a second entity whose key is looked up (a customer's
    segment at the prediction time), a service of its own and examples that reach an unseen
    category. No engine line is written for it."""
    (root / "raw" / "segments.csv").write_text(segments_csv((root / "raw" / "visits.csv").read_text()))
    (root / "features" / "segments.py").write_text(SEGMENTS)
    (root / "features" / "customer" / "segment_v1.py").write_text(SEGMENT_V1)
    v1 = (root / "features" / "customer" / "visits_7d_v1.py").read_text()
    v2 = v1.replace("visits_7d_v1", "visits_7d_v2").replace(
        "INTERVAL 7 DAY PRECEDING", "INTERVAL 14 DAY PRECEDING"
    )
    v2 = v2.replace("lookback=timedelta(days=7)", "lookback=timedelta(days=14)").replace(
        "in the 7 days", "in the 14 days"
    )
    (root / "features" / "customer" / "visits_7d_v2.py").write_text(v2.replace("version 1", "version 2"))
    (root / "features" / "services.py").write_text(SERVICE)
    with (root / "features" / "entities.py").open("a") as f:
        f.write(SEGMENT_ENTITY)
    with (root / "features" / "views.py").open("a") as f:
        f.write(SEGMENT_VIEW)
    (root / "features" / "segment").mkdir()
    (root / "features" / "segment" / "segment_size_v1.py").write_text(SEGMENT_SIZE_V1)
    examples = (root / "serving" / "examples.py").read_text()
    c02 = '{"customer": "c02", "prediction_time": AT},'
    c03 = '\n        {"customer": "c03", "prediction_time": AT},'
    (root / "serving" / "examples.py").write_text(examples.replace(c02, c02 + c03))


@pytest.fixture(scope="module")
def panel(tmp_path_factory) -> tuple[Path, Path, str]:
    """The third project through `featurelock demo`: (root, data directory, the demo's output)."""
    base = tmp_path_factory.mktemp("panel")
    root, home = base / "panel", base / "home"
    featurelock(base, base / "unused", "init", str(root))
    make_panel(root)
    assert "+ segment@v1" in featurelock(root, home, "lock")
    return root, home, featurelock(base, home, "demo", "--project", str(root))


def console(root: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    """The installed console script, as a user or a CI job runs it (its exit code is the verdict)."""
    env = {**os.environ, "FEATURELOCK_HOME": str(home)}
    script = str(Path(sys.executable).with_name("featurelock"))
    return subprocess.run(
        [script, *args, "--project", str(root)], env=env, capture_output=True, text=True, timeout=600
    )


def test_a_users_panel_with_a_string_categorical_runs_end_to_end(panel):
    """Issue 21, items 1 and 9: the third project, through the command as a user runs it."""
    _, home, out = panel
    check_demo(out)
    assert "rows      1,780" in out
    runs = sorted((home / "runs").glob("*/run.json"))
    record = json.loads(runs[-1].read_text())
    assert record["config"]["service"] == "panel_model_v1"
    assert record["categories"] == {"segment_v1": ["bronze", "gold", "silver"]}
    assert record["feature_columns"] == ["segment_v1", "segment_size_v1", "visits_7d_v1", "visits_7d_v2"]
    assert "customer=c03: P = " in out
    log = (home / "predictions" / "local" / "predictions.jsonl").read_text().splitlines()
    served = {json.loads(line)["request"]["customer"]: json.loads(line) for line in log}
    assert served["c03"]["features"]["segment_v1"] == "platinum"
    assert served["c03"]["unseen_categories"] == ["segment_v1"] and served["c03"]["unseen_count"] == 1
    assert served["c01"]["unseen_count"] == 0
    assert served["c01"]["features"]["segment_v1"] in ("bronze", "gold", "silver")


def test_issue21_item3_a_looked_up_key_is_the_same_offline_and_online(panel):
    """The segment is looked up from the customer's segment_v1 at each prediction time: in the
    training set it equals the feature joined the usual way on every row; parity compares it like
    a feature; the receipts carry it; the API does not ask for it and refuses a conflicting one."""
    from fastapi.testclient import TestClient

    from featurelock.features.project import Project
    from featurelock.serving.app import create_app

    root, home, out = panel
    folder = Path(re.search(r"^  training set  (\S+)$", out, re.M).group(1))
    frame = pd.read_parquet(folder / "training_set.parquet")
    assert list(frame.columns[:5]) == ["row_id", "event_timestamp", "customer", "segment", "label"]
    known = frame["segment_v1"].notna()
    assert known.sum() == 480 and (frame.loc[known, "segment"] == frame.loc[known, "segment_v1"]).all()
    assert frame.loc[~known, "segment"].isna().all() and frame.loc[~known, "segment_size_v1"].isna().all()
    assert re.search(r"^    segment +1,000 +0 ", out, re.M)  # parity: looked up online == offline
    log = (home / "predictions" / "local" / "predictions.jsonl").read_text().splitlines()
    served = {json.loads(line)["request"]["customer"]: json.loads(line) for line in log}
    assert served["c03"]["looked_up"] == {"segment": "platinum"}
    assert served["c03"]["features"]["segment_size_v1"] == 1  # c03 alone is platinum
    project = Project(root, home)
    with TestClient(create_app(project)) as client:
        schema = client.get("/openapi.json").json()["components"]["schemas"]["PredictRequest"]
        assert "segment" in schema["properties"] and "segment" not in schema.get("required", [])
        at = "2024-03-30T00:00:00+00:00"
        ok = client.post("/predict", json={"customer": "c03", "segment": "platinum", "prediction_time": at})
        assert ok.status_code == 200 and ok.json()["looked_up"] == {"segment": "platinum"}
        bad = client.post("/predict", json={"customer": "c03", "segment": "gold", "prediction_time": at})
        assert bad.status_code == 422
        assert "sent segment='gold', but segment is looked up from segment@v1 by ['customer']" in bad.text
        assert "'platinum'" in bad.text


def test_issue20_item1_verify_exits_1_on_a_tampered_manifest(panel, tmp_path):
    import shutil

    root, home, out = panel
    folder = Path(re.search(r"^  training set  (\S+)$", out, re.M).group(1))
    built = re.findall(r"sha256    (sha256:[0-9a-f]{64})", out)[0]
    copy = tmp_path / "tampered"
    shutil.copytree(folder, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["content_sha256"] = "sha256:" + "0" * 64
    (copy / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    honest = console(root, home, "dataset", "verify", str(folder))
    assert honest.returncode == 0, honest.stdout + honest.stderr
    assert re.search(rf"identical(: | content \(){built}", honest.stdout)  # content as recorded
    tampered = console(root, home, "dataset", "verify", str(copy))
    assert tampered.returncode == 1, tampered.stdout + tampered.stderr
    assert "DIFFERENT: expected sha256:0000" in tampered.stdout


def test_issue20_item1_replay_exits_1_on_a_tampered_log(panel, tmp_path):
    root, home, out = panel
    log = Path(re.search(r"^  prediction log (\S+)$", out, re.M).group(1))
    lines = log.read_text().splitlines()
    honest = tmp_path / "honest.jsonl"
    honest.write_text("\n".join(lines) + "\n")
    first = json.loads(lines[0])
    first["probability"] += 0.125
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    kept = console(root, home, "replay", str(honest))
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "0 mismatches" in kept.stdout
    changed = console(root, home, "replay", str(tampered))
    assert changed.returncode == 1, changed.stdout + changed.stderr
    assert "1 mismatches" in changed.stdout


def test_cdnow_builds_its_golden_training_set_from_the_real_log(tmp_path):
    """CDNOW's own data through the command: ingest, features and the training set, with its golden
    hash. Its whole pipeline (training, reproduce, serving, parity, replay) is `make demo
    PROJECT=examples/cdnow` (2 minutes; measured in its README); in `make test` the whole pipeline
    of a project other than nycflights13 is the panel project's demo above, which runs the same
    engine path, so the suite stays within its time budget."""
    cwd = REPO_ROOT / "examples" / "cdnow" / "features"
    out = featurelock(cwd, tmp_path / "home", "ingest")
    assert re.search(r"purchases\s+written\s+69,659 rows", out)
    featurelock(cwd, tmp_path / "home", "apply")
    built = featurelock(cwd, tmp_path / "home", "dataset", "build", "--service", "repurchase_v1")
    assert "rows      1,397,851" in built
    assert "sha256    sha256:fa6e098bccc9c966e6da6cef14d388b23ee615ec51be3119cdbfb609fc1e3fa5" in built
    generation = (tmp_path / "home" / "features").resolve().name
    featurelock(cwd, tmp_path / "home", "features", "build", "--full")  # issue 19: from nothing
    assert (tmp_path / "home" / "features").resolve().name == generation
