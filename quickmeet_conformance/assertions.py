"""Turn a rule's findings into a pytest outcome that reads like a review comment, never a traceback."""

from __future__ import annotations

import warnings

import pytest

from .findings import Severity, Verdict
from .pipeline import CaseResult
from .rules.engine import RULES, rules_for_lane


class ConformanceWarning(UserWarning):
    """A warning-severity rule failed (fails the run only with --strict)."""


def _header(result: CaseResult, rule_id: str) -> str:
    case = result.case
    return f"{rule_id} on {case.values_path} ({case.chart.label}, {case.renderer.helm.label} {case.renderer.helm.version})"


def check_rule(
    result: CaseResult, rule_id: str, *, strict: bool = False, properties: list | None = None
) -> None:
    """Pass, skip, warn or fail the current test from ``rule_id``'s findings for ``result``.

    ``properties`` (a test's ``user_properties``) receives the rule id, values file and verdict, which
    ``--junitxml`` writes as test-case properties.
    """
    props = properties if properties is not None else []
    props += [("rule_id", rule_id), ("values_file", result.case.values_path),
              ("helm", result.case.renderer.helm.version)]
    if rule_id not in RULES:
        rules_for_lane("static")
    rule_obj = RULES[rule_id]
    if result.input_error is not None:
        pytest.fail(f"{result.input_error}\n(no rule was evaluated for this values file)", pytrace=False)
    findings = result.findings.get(rule_id)
    if findings is None:
        pytest.fail(f"rule {rule_id} was not evaluated for {result.case.values_path}", pytrace=False)
    verdict = result.verdict(rule_id)
    props.append(("verdict", verdict.value))
    if verdict == Verdict.SKIP:
        pytest.skip("; ".join(sorted({f.message for f in findings})))
    if verdict == Verdict.PASS:
        return
    failed = [f for f in findings if f.failed]
    blocking = [f for f in failed if f.severity == Severity.ERROR or f.verdict == Verdict.ERROR or strict]
    body = "\n".join(f.detail() for f in failed)
    text = (
        f"{_header(result, rule_id)}\n"
        f"contract: {rule_obj.contract}\n"
        f"{body}\n"
        f"fix: {rule_obj.fix}"
    )
    if blocking:
        pytest.fail(text, pytrace=False)
    props.append(("conformance_warning", text))
    warnings.warn(ConformanceWarning(text), stacklevel=2)
