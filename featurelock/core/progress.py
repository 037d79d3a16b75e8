"""Where a long call reports while it runs: lines, and steps with their elapsed time.

The engine and ``featurelock.api`` take a ``Progress``; the command gives its rich console (text
on stdout, or on stderr under ``--json``), a notebook or a test a ``Lines`` that keeps them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Protocol


class Progress(Protocol):
    def say(self, message: str) -> None: ...

    def step(self, what: str) -> AbstractContextManager[None]: ...


@dataclass
class Lines:
    """Lines kept in a list (and handed to ``sink``); a step is ``==> what`` then its elapsed time."""

    sink: Callable[[str], None] | None = None
    lines: list[str] = field(default_factory=list)

    def say(self, message: str) -> None:
        self.lines.append(message)
        if self.sink is not None:
            self.sink(message)

    @contextmanager
    def step(self, what: str) -> Iterator[None]:
        self.say(f"==> {what}")
        start = time.perf_counter()
        yield
        self.say(f"    done in {time.perf_counter() - start:.1f}s")


def lines_of(progress: Progress | None) -> Progress:
    """``progress``, or a ``Lines`` that keeps what is said (a quiet call)."""
    return progress if progress is not None else Lines()
