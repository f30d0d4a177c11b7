"""The protocol-probe rules (lane ``probes``): ordinary engine rules, so ``conformance explain``, the JSON
report, JUnit and SARIF know them and the suites cite no contract line of their own.

Each judges a probe's context (``probes/context.py``), not a render: ``bus.py`` the NATS bus probe's
:class:`~quickmeet_conformance.probes.context.BusContext`, ``ws.py`` the DDP probe's
:class:`~quickmeet_conformance.probes.context.DdpContext`; ``lane.py`` declares and evaluates them through
``engine.evaluate_rule`` (its crash guard included). Importing this package registers them all.
"""

from __future__ import annotations

from ...findings import Finding
from ...probes.context import BusContext, DdpContext, ProbeContext
from ...probes.ddp import DdpObservation
from ...probes.nats_bus import RULE_REACHABLE, BusExpectations, BusObservation
from ...rules.engine import Options
from . import bus, ws
from .lane import LANE, evaluate_probe, evaluate_probe_rule, probe_rule, rules_of_probe


def evaluate_bus(
    observation: BusObservation, expectations: BusExpectations, options: Options | None = None
) -> list[Finding]:
    """Every bus rule's findings in one list; when the probe never connected, only ``bus.reachable``'s (the
    other rules could only repeat "not checked"). ``options``: the run's (its waivers)."""
    ctx = BusContext(observation, expectations, options=options or Options())
    if not observation.connected:
        return evaluate_probe_rule(ctx, RULE_REACHABLE)
    return [f for findings in evaluate_probe(ctx).values() for f in findings]


def evaluate_ddp(observation: DdpObservation, options: Options | None = None) -> list[Finding]:
    """Every WebSocket rule's findings in one list. ``options``: the run's (its waivers)."""
    ctx = DdpContext(observation, options=options or Options())
    return [f for findings in evaluate_probe(ctx).values() for f in findings]


__all__ = [
    "LANE",
    "BusContext",
    "DdpContext",
    "ProbeContext",
    "bus",
    "evaluate_bus",
    "evaluate_ddp",
    "evaluate_probe",
    "evaluate_probe_rule",
    "probe_rule",
    "rules_of_probe",
    "ws",
]
