"""Turn a probe rule's findings into a pytest outcome that reads like a review comment."""

from __future__ import annotations

from collections.abc import Sequence

from ..assertions import ConformanceWarning, conclude
from ..findings import Finding


ProbeWarning = ConformanceWarning  # a warning-severity probe finding (fails the run only when strict)


def check_probe_findings(findings: Sequence[Finding], *, target: str, contract: str, strict: bool = False) -> None:
    """Pass, skip, warn or fail the current test from one rule's findings against ``target``
    (the NATS or ingress URL); ``contract`` is the CONTRACT.md line the rule enforces."""
    rule_ids = ", ".join(sorted({f.rule_id for f in findings})) or "probe rule"
    conclude(findings, header=f"{rule_ids} against {target}", contract=contract, strict=strict)
