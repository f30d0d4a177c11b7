"""The static lane's context: one values file, the chart, and (when the chart rendered) its topology.

The pipeline builds a :class:`StaticContext` per case. A static rule declared with ``needs_render`` (the
default) reads its :class:`RenderedContext` instead, whose topology is never None: the engine skips the
rule when the chart refused the values, so the rule body needs no None checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..chart_reads import ReleaseSwitch
from ..charts import Chart
from ..connections.model import Connections
from ..expectations import Expectations
from ..render import Rendered
from ..topology import ComponentMatcher, Topology
from ..values import ValuesFile
from .engine import Options


@dataclass(frozen=True)
class RenderedContext:
    """A static case whose chart rendered: what a ``needs_render`` static rule reads."""

    values_file: ValuesFile
    merged: dict[str, Any]
    chart: Chart
    expectations: Expectations
    options: Options
    matcher: ComponentMatcher
    topology: Topology
    rendered: Rendered | None = None  # None where a topology stands in for a render (the audit's manifest)
    connections: Connections | None = None  # gathered by the static lane (None: not gathered, not judged)
    upgrade_rendered: Rendered | None = (
        None  # the same values rendered --is-upgrade (only when switches flip)
    )
    upgrade_render_error: str | None = None
    switches: tuple[ReleaseSwitch, ...] = ()  # the chart's IsInstall/IsUpgrade lines these values flip
    upgrade_standins: tuple[
        str, ...
    ] = ()  # keys given a stand-in where a real upgrade reads them with lookup


@dataclass
class StaticContext:
    """One static case as the pipeline evaluated it; the rules that run without a render read this."""

    values_file: ValuesFile
    merged: dict[str, Any]
    chart: Chart
    expectations: Expectations
    options: Options
    matcher: ComponentMatcher
    rendered: Rendered | None = None
    topology: Topology | None = None
    render_error: str | None = None  # the one-line reason when the chart refused these values
    connections: Connections | None = None
    upgrade_rendered: Rendered | None = (
        None  # the same values rendered --is-upgrade (only when switches flip)
    )
    upgrade_render_error: str | None = None
    switches: tuple[ReleaseSwitch, ...] = ()  # the chart's IsInstall/IsUpgrade lines these values flip
    upgrade_standins: tuple[
        str, ...
    ] = ()  # keys given a stand-in where a real upgrade reads them with lookup

    def rendered_view(self) -> RenderedContext | None:
        if self.topology is None:
            return None
        return RenderedContext(
            self.values_file,
            self.merged,
            self.chart,
            self.expectations,
            self.options,
            self.matcher,
            self.topology,
            self.rendered,
            self.connections,
            self.upgrade_rendered,
            self.upgrade_render_error,
            self.switches,
            self.upgrade_standins,
        )
