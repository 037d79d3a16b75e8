"""The prediction log: every served prediction appended, with its receipt, as one JSON line.

Each profile has its own log (``<data home>/predictions/<profile>/predictions.jsonl``): receipts
served from Redis are never replayed against SQLite. Several service processes (``serve
--workers N``) append to one log: a batch of lines is written with one ``write`` on an
``O_APPEND`` descriptor under an exclusive ``flock``, so lines are never interleaved or lost. The
log rotates by size: when the next write would pass ``max_bytes``, the file is renamed to
``predictions.<NNNNNN>.jsonl`` (the next number) under the same lock and a new one is started;
``read_log`` reads the rotated files in number order, then the current one.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import threading
from pathlib import Path
from typing import Any

from featurelock.core.errors import ValidationError
from featurelock.core.settings import Profile

MAX_BYTES = 64 * 1024 * 1024
_ROTATED = re.compile(r"^predictions\.(\d{6})\.jsonl$")


def log_path(home: Path, profile: Profile = Profile.LOCAL) -> Path:
    """The prediction log of a data directory and profile."""
    return home / "predictions" / profile / "predictions.jsonl"


def rotated_files(path: Path) -> list[Path]:
    """The rotated parts of the log at ``path``, oldest first (by their number, not by listing)."""
    found = [
        (int(m.group(1)), p) for p in path.parent.glob("predictions.*.jsonl") if (m := _ROTATED.match(p.name))
    ]
    return [p for _, p in sorted(found)]


class PredictionLog:
    """Append-only JSON-lines file; one line per prediction, written before the response returns."""

    def __init__(self, path: Path, max_bytes: int = MAX_BYTES) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._lock_fd = os.open(self.path.parent / ".lock", os.O_RDWR | os.O_CREAT, 0o666)
        self._fd = self._open()

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)

    def _current(self) -> None:
        """Reopen if another process rotated the file away from under our descriptor."""
        try:
            same = os.path.samestat(os.fstat(self._fd), os.stat(self.path))
        except FileNotFoundError:
            same = False
        if not same:
            os.close(self._fd)
            self._fd = self._open()

    def _rotate(self) -> None:
        parts = rotated_files(self.path)
        number = int(_ROTATED.match(parts[-1].name).group(1)) + 1 if parts else 1  # type: ignore[union-attr]
        os.replace(self.path, self.path.with_name(f"predictions.{number:06d}.jsonl"))
        os.close(self._fd)
        self._fd = self._open()

    def append(self, receipts: list[dict[str, Any]]) -> list[str]:
        """Append the receipts; returns each one's JSON text (reused as the HTTP response body)."""
        texts = [json.dumps(r, sort_keys=True) for r in receipts]
        data = "".join(t + "\n" for t in texts).encode("utf-8")
        with self._lock:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            try:
                self._current()
                size = os.fstat(self._fd).st_size
                if size and size + len(data) > self.max_bytes:
                    self._rotate()
                written = os.write(self._fd, data)
                while written < len(data):  # a short write (a full disk raises instead)
                    written += os.write(self._fd, data[written:])
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        return texts

    def close(self) -> None:
        with self._lock:
            os.close(self._fd)
            os.close(self._lock_fd)


#: What a receipt must hold to be replayed.
RECEIPT_KEYS = ("run_id", "request", "prediction_time", "features", "probability")


def read_log(path: Path, needed: tuple[str, ...] = ("run_id",)) -> list[dict[str, Any]]:
    """Every receipt of the log at ``path``: its rotated parts in order, then the current file;
    each line must be a JSON object with the ``needed`` keys (``RECEIPT_KEYS`` to replay it)."""
    path = Path(path)
    if path.is_dir():
        raise ValidationError(
            f"log={str(path)!r} is a directory; pass the log file itself "
            "(<data directory>/predictions/<profile>/predictions.jsonl)."
        )
    parts = [*rotated_files(path), *([path] if path.exists() else [])]
    if not parts:
        raise ValidationError(
            f"log={str(path)!r} does not exist; the service writes "
            "<data directory>/predictions/<profile>/predictions.jsonl."
        )
    receipts = []
    for part in parts:
        try:
            text = part.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationError(
                f"{part} is not a prediction log (not UTF-8 text: {exc.reason}); pass a log the service "
                "wrote (predictions/<profile>/predictions.jsonl)."
            ) from exc
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            reason = ""
            try:
                receipt = json.loads(line)
            except json.JSONDecodeError as exc:
                receipt, reason = None, f"not JSON at column {exc.colno}"
            if not isinstance(receipt, dict) or any(k not in receipt for k in needed):
                if receipt is not None:
                    missing = [k for k in needed if k not in receipt] if isinstance(receipt, dict) else None
                    reason = f"it lacks {missing}" if missing else "not a JSON object"
                shown = line if len(line) <= 60 else line[:57] + "..."
                raise ValidationError(
                    f"{part}:{number} is not a prediction log entry ({shown!r}: {reason}"
                    + "); pass a log the service wrote (predictions/<profile>/predictions.jsonl)."
                )
            receipts.append(receipt)
    return receipts
