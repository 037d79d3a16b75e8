"""Atomic file writes: write beside the target, fsync, then rename over it."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from featurelock.core.errors import ValidationError


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a hidden temporary file in ``path``'s folder, then rename it to ``path``.

    A reader sees the old file or the new one, never half of one; a crash leaves only a
    ``.tmp-*`` file, which readers ignore.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".tmp-{path.name}-", dir=path.parent)
    except OSError as exc:
        raise unwritable(path, exc) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; the file gets what open() would give
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def unwritable(path: Path, exc: OSError) -> ValidationError:
    """The one-line refusal of a path that cannot be written (nothing was written)."""
    reasons = {
        errno.ENOENT: "a folder on the way does not exist",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.EACCES: "permission denied",
        errno.EPERM: "not permitted",
        errno.EROFS: "the file system is read-only",
        errno.ENOSPC: "no space left",
    }
    reason = reasons.get(exc.errno or 0, f"error {exc.errno}")
    return ValidationError(f"cannot write {path} ({reason}); choose a writable location.")


def _umask() -> int:
    """The process umask, read without changing it (``os.umask`` can only read by setting, which
    another thread could see): Linux reports it in ``/proc/self/status``. Elsewhere, a fresh file
    made with mode 0o666 shows what the umask takes away."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    probe = Path(tempfile.mkdtemp(prefix=".umask-")) / "probe"
    try:
        os.close(os.open(probe, os.O_CREAT | os.O_WRONLY, 0o666))
        return 0o666 & ~probe.stat().st_mode & 0o777
    finally:
        probe.unlink(missing_ok=True)
        probe.parent.rmdir()


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
