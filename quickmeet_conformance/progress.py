"""Progress lines for long waits: ``waiting for X: 12s ...`` at most every N seconds.

A wait that polls calls :meth:`Progress.update` on each poll; a wait that blocks (a subprocess, a
watch) passes ``ticker=True`` and a daemon thread prints for it. Short waits print nothing: the first
line comes after ``every_s`` seconds, and a closing line only when a waiting line was printed.

    with waiting("pods of rocketchat-ddp-streamer ready", write=tr.write_line, every_s=10) as wait:
        while not ready():
            wait.update(f"{n_ready}/{n} ready")
            ...
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

DEFAULT_EVERY_S = 10.0


def _stderr_line(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Progress:
    """Rate-limited progress lines for one wait (thread-safe)."""

    def __init__(
        self,
        what: str,
        *,
        write: Callable[[str], None] = _stderr_line,
        every_s: float = DEFAULT_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if every_s <= 0:
            raise ValueError("every_s must be positive")
        self.what = what
        self.every_s = every_s
        self._write = write
        self._clock = clock
        self._start = clock()
        self._last = self._start
        self._detail = ""
        self._lock = threading.Lock()
        self.lines = 0  # waiting lines printed so far

    @property
    def elapsed_s(self) -> float:
        return self._clock() - self._start

    def update(self, detail: str | None = None) -> bool:
        """Note the wait's state (``detail``); print a line if ``every_s`` passed since the last one."""
        with self._lock:
            if detail is not None:
                self._detail = detail
            now = self._clock()
            if now - self._last < self.every_s:
                return False
            self._last = now
            self.lines += 1
            suffix = f" ({self._detail})" if self._detail else ""
            line = f"waiting for {self.what}: {now - self._start:.0f}s{suffix} ..."
        self._write(line)
        return True

    def finish(self, ok: bool) -> None:
        """Close a wait that printed: ``X: done after 12s`` or ``X: gave up after 12s``."""
        if self.lines:
            outcome = "done" if ok else "gave up"
            suffix = f" ({self._detail})" if self._detail and not ok else ""
            self._write(f"{self.what}: {outcome} after {self.elapsed_s:.0f}s{suffix}")


@contextmanager
def waiting(
    what: str,
    *,
    write: Callable[[str], None] = _stderr_line,
    every_s: float = DEFAULT_EVERY_S,
    ticker: bool = False,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Progress]:
    """A :class:`Progress` for the ``with`` block; ``ticker=True`` prints from a thread while it blocks."""
    progress = Progress(what, write=write, every_s=every_s, clock=clock)
    stop = threading.Event()
    thread = None
    if ticker:

        def tick() -> None:
            while not stop.wait(min(1.0, every_s)):
                progress.update()

        thread = threading.Thread(target=tick, name=f"progress: {what}", daemon=True)
        thread.start()
    ok = False
    try:
        yield progress
        ok = True
    finally:
        stop.set()
        if thread is not None:
            thread.join()
        progress.finish(ok)


@dataclass(frozen=True)
class Waited:
    """How one bounded wait ended: what it waited for, how long, whether its condition held, and why not.

    Every live and probe wait returns one, so a report (and ``bench/kind_under_load.py``) can show the
    slowest wait behind each rule: a verdict that needed a wait close to its deadline is one a busier
    machine could turn."""

    what: str  # "bus discovery", "install rollout"
    seconds: float
    met: bool  # the condition held before the deadline
    deadline_s: float = 0.0  # the bound it had
    reason: str = ""  # why it stopped without the condition (what was still missing)

    def line(self) -> str:
        bound = f" of {self.deadline_s:.0f}s" if self.deadline_s else ""
        outcome = "met" if self.met else f"NOT met ({self.reason})" if self.reason else "NOT met"
        return f"{self.what}: {outcome} after {self.seconds:.1f}s{bound}"
