"""The engine names no dataset: a scan of featurelock/ for the demo projects' vocabulary."""

from __future__ import annotations

import re

from tests.conftest import REPO_ROOT

ENGINE = REPO_ROOT / "featurelock"
#: Words of the nycflights13 and CDNOW projects; none may appear in the engine (templates included).
VOCABULARY = re.compile(
    r"flight|carrier|tailnum|\borigin\b|weather|nycflights|new_york|\bEWR\b|\bJFK\b|\bLGA\b"
    r"|airport|dep_delay|\bdelay|cdnow|\bcds?\b|purchase",
    re.IGNORECASE,
)


def engine_files() -> list:
    return sorted(p for p in ENGINE.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def test_the_engine_holds_no_word_of_any_dataset():
    hits = []
    for path in engine_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if VOCABULARY.search(line):
                hits.append(f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}")
    assert hits == []


def test_the_scan_finds_a_planted_word(tmp_path):
    assert VOCABULARY.search("def carrier_delay(x):") and VOCABULARY.search("tz='America/New_York'")
    assert not VOCABULARY.search("original = origins_of(x)")  # 'origin' only as a word


def test_no_context_variable_and_no_private_feast_call_in_serving():
    text = "\n".join(p.read_text() for p in (ENGINE / "serving").rglob("*.py"))
    assert "ContextVar" not in text and "_get_provider" not in text
