"""How the probe lane uses the rule engine: a probe rule is an ordinary engine rule of lane ``probes`` whose
context is a :class:`~quickmeet_conformance.probes.context.ProbeContext` (an observation, not a render), and it
is evaluated by ``engine.evaluate_rule`` like every rule, crash guard included.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ...findings import Finding, Severity, Verdict
from ...probes.context import ProbeContext
from ...rules.engine import RULES, Rule, evaluate_rule, rule, rules_for_lane

LANE = "probes"

Check = TypeVar("Check", bound=Callable[..., Iterable[Finding]])


def probe_rule(
    rule_id: str,
    *,
    title: str,
    contract: str,
    fix: str,
    basis: str = "doc",
    severity: Severity = Severity.ERROR,
) -> Callable[[Check], Check]:
    """``engine.rule`` for a check ``(ctx: <the probe's ProbeContext>, rule: Rule) -> findings``: lane
    ``probes``, no render needed. The rule id's prefix names the probe (``bus.hub-single`` -> ``bus``)."""
    register = rule(
        rule_id,
        title=title,
        severity=severity,
        contract=contract,
        fix=fix,
        basis=basis,
        needs_render=False,
        lane=LANE,
    )

    def declare(check: Check) -> Check:
        register(check)
        return check

    return declare


def rules_of_probe(probe: str) -> list[Rule]:
    """The registered rules of one probe, in the order they were declared (the order they are reported in)."""
    return [r for r in rules_for_lane(LANE) if r.id.partition(".")[0] == probe]


def evaluate_probe_rule(ctx: ProbeContext, rule_id: str) -> list[Finding]:
    """One probe rule judged through the engine on ``ctx``: no finding is a PASS, a crash an ERROR finding."""
    if rule_id not in RULES:
        rules_for_lane(LANE)
    rule_obj = RULES[rule_id]
    if rule_obj.lane != LANE or rule_id.partition(".")[0] != ctx.probe:
        raise ValueError(f"{rule_id} is no rule of the {ctx.probe or type(ctx).__name__} probe")
    return evaluate_rule(ctx, rule_obj)


def evaluate_probe(ctx: ProbeContext) -> dict[str, list[Finding]]:
    """Every rule of ``ctx``'s probe, through the engine: rule id -> findings, in declaration order."""
    return {r.id: evaluate_probe_rule(ctx, r.id) for r in rules_of_probe(ctx.probe)}


# Findings of a probe rule carry the rule's id and severity (a message may still lower the severity).


def passed(r: Rule, message: str) -> Finding:
    return Finding(rule_id=r.id, verdict=Verdict.PASS, message=message, severity=r.severity)


def failed(r: Rule, message: str, **fields: Any) -> Finding:
    return Finding(**{"severity": r.severity, **fields}, rule_id=r.id, verdict=Verdict.FAIL, message=message)


def errored(r: Rule, message: str, **fields: Any) -> Finding:
    """The probe could not judge (no connection, no answer): never a pass."""
    return Finding(**{"severity": r.severity, **fields}, rule_id=r.id, verdict=Verdict.ERROR, message=message)


def skipped(r: Rule, reason: str) -> Finding:
    return r.skip(reason)
