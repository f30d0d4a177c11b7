"""Probe output: the ``probes`` section of the JSON report (findings arrive redacted)."""

from __future__ import annotations

from typing import Any

from ..probes import ProbeResult
from .model import rules_dict


def probe_results_dict(results: list[ProbeResult], *, strict: bool = False) -> list[dict[str, Any]]:
    """One entry per target, with every probe rule judged against it."""
    by_target: dict[str, dict[str, list]] = {}
    for result in results:
        by_target.setdefault(result.target, {}).setdefault(result.rule_id, []).extend(result.findings)
    return [
        {"target": target, "rules": rules_dict(findings, strict=strict)}
        for target, findings in by_target.items()
    ]
