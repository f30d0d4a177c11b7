"""Turn a probe rule's findings into a pytest outcome that reads like a review comment."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import pytest

from ..findings import Finding, Severity, Verdict


class ProbeWarning(UserWarning):
    """A warning-severity probe finding (fails the run only when strict)."""


def check_probe_findings(findings: Sequence[Finding], *, target: str, contract: str, strict: bool = False) -> None:
    """Pass, skip, warn or fail the current test from one rule's findings against ``target``
    (the NATS or ingress URL); ``contract`` is the CONTRACT.md line the rule enforces."""
    if not findings:
        pytest.fail(f"the rule produced no finding for {target}", pytrace=False)
    rule_ids = ", ".join(sorted({f.rule_id for f in findings}))
    failed = [f for f in findings if f.failed]
    if not failed:
        if all(f.verdict == Verdict.SKIP for f in findings):
            pytest.skip("; ".join(sorted({f.message for f in findings})))
        return
    blocking = [f for f in failed if f.verdict == Verdict.ERROR or f.severity == Severity.ERROR or strict]
    text = f"{rule_ids} against {target}\ncontract: {contract}\n" + "\n".join(f.detail() for f in failed)
    if blocking:
        pytest.fail(text, pytrace=False)
    warnings.warn(ProbeWarning(text), stacklevel=2)
