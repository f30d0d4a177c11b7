"""The upgrade lane's context: both sides of one ``helm upgrade`` and the to-side as the static lane sees it.

``upgrade/evaluation.py`` builds an :class:`UpgradeContext` per case. An upgrade rule declared with
``needs_render`` (the default) reads its :class:`RenderedUpgrade` instead, where both sides' topologies are
there (the engine skips the rule when the to-side did not render; the from-side always renders).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...rules.context import StaticContext
from ...rules.engine import Options
from ...topology import Topology
from ...upgrade.case import UpgradeView
from ...values import ValuesFile


@dataclass(frozen=True)
class RenderedUpgrade:
    """An upgrade case whose two sides rendered: what a ``needs_render`` upgrade rule reads."""

    target: StaticContext  # the to-side, as a static rule reads it
    view: UpgradeView
    from_topology: Topology
    to_topology: Topology

    @property
    def values_file(self) -> ValuesFile:
        return self.target.values_file

    @property
    def options(self) -> Options:
        return self.target.options


@dataclass(frozen=True)
class UpgradeContext:
    """One upgrade case: the plan and both sides (``view``), the to-side's static context (``target``)."""

    target: StaticContext
    view: UpgradeView

    @property
    def values_file(self) -> ValuesFile:
        return self.target.values_file

    @property
    def options(self) -> Options:
        return self.target.options

    def rendered_view(self) -> RenderedUpgrade | None:
        before, after = self.view.from_side.topology, self.view.to_side.topology
        if before is None or after is None:
            return None
        return RenderedUpgrade(self.target, self.view, before, after)
