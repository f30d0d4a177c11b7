"""Bounded waits for the framework's own tests, all through the package's one poll loop
(:func:`quickmeet_conformance.clusters.processes.wait_for`): a condition and a deadline, never a fixed sleep.

Imported as ``waits`` (tests/ is on sys.path through tests/conftest.py, like suite_runner).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from quickmeet_conformance.clusters.processes import wait_for
from quickmeet_conformance.errors import ToolError

T = TypeVar("T")


def eventually(what: str, condition: Callable[[], bool], *, timeout: float, interval: float = 0.1) -> bool:
    """True as soon as ``condition`` holds, False at the deadline. The caller then asserts on the state itself,
    so a failure reads with the test's own message and detail (wait_for's ToolError names only ``what``)."""
    try:
        wait_for(what, condition, timeout=timeout, interval=interval)
    except ToolError:
        return False
    return True


def last_observation(
    what: str, observe: Callable[[], T], done: Callable[[T], bool], *, timeout: float, interval: float
) -> T:
    """Observe until ``done`` holds for an observation or the deadline passes, and return the last one: the
    caller asserts on it. An ``observe`` that keeps raising raises its own error here (wait_for would only
    keep its text)."""
    seen: list[T] = []

    def ready() -> bool:
        seen.append(observe())
        return done(seen[-1])

    eventually(what, ready, timeout=timeout, interval=interval)
    return seen[-1] if seen else observe()
