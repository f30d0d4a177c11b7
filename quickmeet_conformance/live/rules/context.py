"""The live lane's context: what the scenario or the audit observed for one release (a :class:`LiveView`).

A live rule is declared with ``rule(..., needs_render=False, lane="live")`` and one of the decorators below,
which hand it the view (``observed``) or also the cluster state after the install (``with_state``), and
skip it with the reason when that was not observed. No live rule calls the cluster.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ...charts import Chart
from ...expectations import Expectations
from ...findings import Finding
from ...live.state import LiveState, LiveView
from ...rules.engine import Check, Options, Rule
from ...topology import ComponentMatcher
from ...values import ValuesFile


@dataclass(frozen=True)
class LiveContext:
    """One release observed on a cluster, with the values and chart it was installed from."""

    values_file: ValuesFile
    merged: dict[str, Any]
    chart: Chart
    expectations: Expectations
    options: Options
    matcher: ComponentMatcher
    live: LiveView  # what the cluster showed (snapshots, watches, upgrade outcomes)


def observed(fn: Callable[[LiveContext, Rule[Any], LiveView], Iterable[Finding]]) -> Check[LiveContext]:
    """A live rule that reads the case's :class:`LiveView` (an upgrade outcome, a pod watch)."""

    @functools.wraps(fn)
    def check(ctx: LiveContext, r: Rule[Any]) -> Iterable[Finding]:
        return fn(ctx, r, ctx.live)

    return check


def with_state(
    fn: Callable[[LiveContext, Rule[Any], LiveView, LiveState], Iterable[Finding]],
) -> Check[LiveContext]:
    """A live rule that reads the cluster state observed after the case's install (or upgrade)."""

    @functools.wraps(fn)
    def check(ctx: LiveContext, r: Rule[Any]) -> Iterable[Finding]:
        state = ctx.live.state
        if state is None:
            return [r.skip("not evaluated: the release could not be observed")]
        return fn(ctx, r, ctx.live, state)

    return check


def note(r: Rule[Any], message: str) -> Finding:
    """A check that does not apply here, said explicitly (counts as a skip, never as a pass)."""
    return r.skip(message)
