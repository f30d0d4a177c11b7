"""Turn a rule's findings into a pytest outcome that reads like a review comment, never a traceback."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import pytest

from .findings import Finding, Status, status_of
from .pipeline import CaseResult
from .rules.engine import RULES, rules_for_lane

if TYPE_CHECKING:  # the upgrade lane is imported by the runs that have upgrade cases
    from .upgrade.case import UpgradeResult


class ConformanceWarning(UserWarning):
    """A warning-severity rule failed (fails the run only with --conformance-strict / QMC_STRICT=1)."""


def conclude(
    findings: Sequence[Finding] | None,
    *,
    header: str,
    contract: str,
    fix: str = "",
    strict: bool = False,
    properties: list | None = None,
    notes: Sequence[str] = (),
    on_failure: Callable[[Status], None] | None = None,
) -> None:
    """Pass, skip, warn or fail the current test from one rule's findings: THE one implementation, every
    lane (static, upgrade, live, probes) concludes through it.

    ``header`` names the rule and its subject (values file, upgrade pair, live case, probe target); the failure
    text adds the contract line, each failed finding's detail, the ``notes`` (a live case's rollout error) and
    the fix. ``properties`` (a test's ``user_properties``) receives the rule's status in the run (``verdict``:
    pass, warn, fail, skip or error, as ``status_of`` says), which ``--junitxml`` writes as a test-case
    property. ``on_failure(status)`` runs before a warning or failure is raised (a live case attaches its
    diagnostics there).
    """
    props = properties if properties is not None else []
    if not findings:
        pytest.fail(f"{header}: the rule produced no finding", pytrace=False)
    status = status_of(findings, strict=strict)
    props.append(("verdict", status.value))
    if status == Status.SKIP:
        pytest.skip("; ".join(sorted({f.message for f in findings})))
    if status == Status.PASS:
        return
    if status == Status.ACCEPTED:  # a waiver in force accepts every failure: the test passes, saying why
        props.extend(("waiver", f.waiver.line()) for f in findings if f.waiver is not None and f.accepted)
        return
    failed = [f for f in findings if f.failed]
    text = f"{header}\ncontract: {contract}\n" + "\n".join(f.detail() for f in failed)
    text += "".join(f"\n{note}" for note in notes if note)
    if fix:
        text += f"\nfix: {fix}"
    if on_failure is not None:
        on_failure(status)
    if status.blocks:
        pytest.fail(text, pytrace=False)
    props.append(("conformance_warning", text))
    warnings.warn(ConformanceWarning(text), stacklevel=3)


def _header(result: CaseResult, rule_id: str) -> str:
    case = result.case
    helm = case.renderer.helm
    return f"{rule_id} on {case.values_path} ({case.chart.label}, {helm.label} {helm.version})"


def check_rule(
    result: CaseResult, rule_id: str, *, strict: bool = False, properties: list | None = None
) -> None:
    """Pass, skip, warn or fail the current test from ``rule_id``'s findings for a static case."""
    props = properties if properties is not None else []
    props += [
        ("rule_id", rule_id),
        ("values_file", result.case.values_path),
        ("helm", result.case.renderer.helm.version),
    ]
    if rule_id not in RULES:
        rules_for_lane("static")
    rule_obj = RULES[rule_id]
    if result.input_error is not None:
        pytest.fail(f"{result.input_error}\n(no rule was evaluated for this values file)", pytrace=False)
    findings = result.findings.get(rule_id)
    if findings is None:
        pytest.fail(f"rule {rule_id} was not evaluated for {result.case.values_path}", pytrace=False)
    conclude(
        findings,
        header=_header(result, rule_id),
        contract=rule_obj.contract,
        fix=rule_obj.fix,
        strict=strict,
        properties=props,
    )


def check_upgrade_rule(
    result: UpgradeResult, rule_id: str, *, strict: bool = False, properties: list | None = None
) -> None:
    """Pass, skip, warn or fail the current test from ``rule_id``'s findings for one upgrade pair."""
    case = result.case
    props = properties if properties is not None else []
    props += [("rule_id", rule_id), ("upgrade_pair", case.pair.name), ("helm", case.renderer.helm.version)]
    if result.input_error is not None:
        pytest.fail(f"{result.input_error}\n(no upgrade rule was evaluated for this pair)", pytrace=False)
    findings = result.findings.get(rule_id)
    if findings is None:
        pytest.fail(f"rule {rule_id} was not evaluated for upgrade {case.pair.name}", pytrace=False)
    rule_obj = RULES[rule_id]
    header = (
        f"{rule_id} on upgrade {case.pair.name}: {case.pair.from_side.values_label} ({case.from_chart.label}) -> "
        f"{case.pair.to_side.values_label} ({case.to_chart.label}), {case.renderer.helm.label} "
        f"{case.renderer.helm.version}"
    )
    conclude(
        findings, header=header, contract=rule_obj.contract, fix=rule_obj.fix, strict=strict, properties=props
    )


def check_probe(
    findings: Sequence[Finding], *, target: str, strict: bool = False, properties: list | None = None
) -> None:
    """Pass, skip, warn or fail the current test from one probe rule's findings against ``target`` (the NATS
    or ingress URL); the contract line and fix come from the rule registry (``probes/rules/``)."""
    props = properties if properties is not None else []
    rule_ids = sorted({f.rule_id for f in findings})
    if len(rule_ids) != 1:
        pytest.fail(f"a probe check takes one rule's findings, got rules {rule_ids or 'none'}", pytrace=False)
    rule_id = rule_ids[0]
    if rule_id not in RULES:
        rules_for_lane("probes")
    rule_obj = RULES[rule_id]
    props += [("rule_id", rule_id), ("probe_target", target)]
    conclude(
        findings,
        header=f"{rule_id} against {target}",
        contract=rule_obj.contract,
        fix=rule_obj.fix,
        strict=strict,
        properties=props,
    )
