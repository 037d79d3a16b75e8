"""The prediction log: every served prediction appended, with its receipt, as one JSON line."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from featurelock.core.errors import ValidationError


def log_path(home: Path) -> Path:
    """The prediction log of a data directory."""
    return home / "predictions" / "predictions.jsonl"


class PredictionLog:
    """Append-only JSON-lines file; one line per prediction, flushed before the response returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._file = open(self.path, "a", encoding="utf-8")

    def append(self, receipts: list[dict[str, Any]]) -> list[str]:
        """Append the receipts; returns each one's JSON text (reused as the HTTP response body)."""
        texts = [json.dumps(r, sort_keys=True) for r in receipts]
        with self._lock:
            self._file.write("".join(t + "\n" for t in texts))
            self._file.flush()
        return texts

    def close(self) -> None:
        with self._lock:
            self._file.close()


def read_log(path: Path) -> list[dict[str, Any]]:
    path = Path(path)
    if not path.exists():
        raise ValidationError(
            f"log={str(path)!r} does not exist; the service writes "
            "<data directory>/predictions/predictions.jsonl."
        )
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
