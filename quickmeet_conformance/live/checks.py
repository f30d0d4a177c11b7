"""Judging one test of a live case: its findings through ``assertions`` (as in every lane), with the case's
log, rollout error and diagnostics attached to the test's report.

The pytest plugin (``plugin_live.py``) hands in what only it knows (the run's strictness, how findings become
report properties); the pass/skip/warn/fail logic is ``assertions.conclude`` / ``assertions.check_probe``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from ..assertions import check_probe, conclude
from ..findings import Finding, Status
from ..rules.engine import RULES, rules_for_lane
from .case import LiveCaseResult

NO_PROBES = (
    "probes not run: they need a cluster whose pods really run (--cluster kind); KWOK runs no containers, "
    "and --cluster existing is probed with --nats-url/--ingress-url (suites/probes)"
)
FindingProperties = Callable[[str, list[Finding]], Sequence[tuple[str, Any]]]


def conclude_live_rule(
    result: LiveCaseResult,
    rule_id: str,
    node: pytest.Item,
    *,
    strict: bool,
    finding_properties: FindingProperties,
    static: bool = False,
) -> None:
    """Pass, skip, warn or fail the current test from ``rule_id``'s findings (``assertions.conclude``, as in
    every lane); a failure reads like a review comment and carries the case's log and diagnostics (events,
    pods, describe) as report sections."""
    findings = (result.static_findings if static else result.findings).get(rule_id)
    node.user_properties += [("rule_id", rule_id), ("live_case", result.id), ("namespace", result.namespace)]
    node.add_report_section("call", "live log", "\n".join(result.log))
    if findings is None:
        pytest.fail(f"rule {rule_id} was not evaluated for {result.label}", pytrace=False)
    if rule_id not in RULES:
        rules_for_lane("static" if static else "live")
    rule_obj = RULES[rule_id]
    # JUnit keeps properties whatever junit_logging says (report sections only reach it with junit_logging)
    node.user_properties += finding_properties(rule_id, list(findings))

    def attach_diagnostics(status: Status) -> None:
        node.user_properties += [
            (name, value)
            for name, value in (
                ("rollout_error", result.view.rollout_error),
                ("live_diagnostics", result.diagnostics),
            )
            if value
        ]
        if status.blocks and result.diagnostics:
            node.add_report_section("call", "live diagnostics", result.diagnostics)

    conclude(
        findings,
        header=f"{rule_id} on {result.label} (namespace {result.namespace})",
        contract=rule_obj.contract,
        fix=rule_obj.fix,
        strict=strict,
        properties=node.user_properties,
        notes=(f"rollout: {result.view.rollout_error}" if result.view.rollout_error else "",),
        on_failure=attach_diagnostics,
    )


def conclude_live_probe(result: LiveCaseResult, rule_id: str, node: pytest.Item, *, strict: bool) -> None:
    """Judge the current test by a protocol probe's findings on the live case (the bus probe through the
    release's NATS Service, the DDP probe through the ingress); contract and fix come from the rule registry,
    as for the probe suites. Skipped where the cluster runs no pods."""
    if not result.probe_targets:
        pytest.skip(NO_PROBES)
    family = rule_id.split(".", 1)[0]
    target = result.probe_targets.get(family, "")
    node.user_properties += [("live_case", result.id), ("namespace", result.namespace)]
    node.add_report_section("call", "live log", "\n".join(result.log))
    findings = result.findings.get(rule_id)
    if findings is None:
        pytest.fail(f"probe rule {rule_id} was not evaluated for {result.label}", pytrace=False)
    check_probe(
        findings,
        target=f"{result.label}: {target}",
        strict=strict,
        properties=node.user_properties,
    )
