"""Live output: each live case for the JSON report (findings, log and diagnostics arrive redacted)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .model import rules_dict

if TYPE_CHECKING:
    from ..live.scenario import LiveCaseResult


def live_case_dict(result: LiveCaseResult, *, strict: bool = False) -> dict[str, Any]:
    """One live case for the JSON report (findings, log and diagnostics are already redacted)."""
    view = result.view
    upgrade = view.upgrade
    return {
        "id": result.id,
        "label": result.label,
        "release": result.release,
        "namespace": result.namespace,
        "audit": result.audit,
        "rollout_error": view.rollout_error or None,
        "upgrade": {
            "from": upgrade.from_label,
            "to": upgrade.to_label,
            "accepted": upgrade.accepted,
            "error": upgrade.error or None,
            "predicted_rejections": list(upgrade.predicted_rejections),
        }
        if upgrade
        else None,
        "rules": rules_dict(result.findings, strict=strict),
        "static_rules": rules_dict(result.static_findings, strict=strict) if result.static_findings else [],
        "log": list(result.log),
        "diagnostics": result.diagnostics or None,
    }
