"""The prediction log: whole lines under concurrent writers, rotation by size without a lost line."""

from __future__ import annotations

import json
import multiprocessing

import pytest

from featurelock.core.errors import ValidationError
from featurelock.serving.log import PredictionLog, log_path, read_log, rotated_files

WRITERS, BATCHES, PER_BATCH = 4, 60, 3


def _write(path: str, writer: int, max_bytes: int) -> None:
    from pathlib import Path

    log = PredictionLog(Path(path), max_bytes=max_bytes)
    for batch in range(BATCHES):
        log.append(
            [
                {"run_id": "r", "writer": writer, "n": batch * PER_BATCH + i, "pad": "x" * 200}
                for i in range(PER_BATCH)
            ]
        )
    log.close()


@pytest.mark.parametrize("max_bytes", [64 * 1024 * 1024, 20_000], ids=["no-rotation", "rotating"])
def test_issue11_concurrent_writers_lose_and_interleave_no_line(tmp_path, max_bytes):
    """N processes x M lines into one log (rotating or not): every line present once, each valid JSON."""
    path = tmp_path / "predictions" / "local" / "predictions.jsonl"
    context = multiprocessing.get_context("fork")
    procs = [context.Process(target=_write, args=(str(path), w, max_bytes)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    receipts = read_log(path)  # json.loads of every line: a torn line would raise
    seen = sorted((r["writer"], r["n"]) for r in receipts)
    assert seen == [(w, n) for w in range(WRITERS) for n in range(BATCHES * PER_BATCH)]
    parts = rotated_files(path)
    if max_bytes == 20_000:
        assert len(parts) >= 7  # about 166 kB in parts of at most 20 kB
        assert all(p.stat().st_size <= 20_000 for p in parts)  # each part closed before passing the limit
        assert [p.name for p in parts][:2] == ["predictions.000001.jsonl", "predictions.000002.jsonl"]
    else:
        assert parts == []
    for part in [*parts, path]:
        for line in part.read_text().splitlines():
            json.loads(line)


def test_each_profile_has_its_own_log(tmp_path):
    assert log_path(tmp_path, "local") != log_path(tmp_path, "production")
    assert log_path(tmp_path, "production").parent.name == "production"


def test_a_missing_log_is_named(tmp_path):
    with pytest.raises(ValidationError, match=r"log='.*nope.jsonl' does not exist; the service writes"):
        read_log(tmp_path / "nope.jsonl")
