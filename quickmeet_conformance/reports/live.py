"""Live output: each live case for the JSON report (findings, log and diagnostics arrive redacted)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .model import rules_dict

if TYPE_CHECKING:  # the live lane (the kubernetes client) is imported when a live case runs
    from ..live.case import LiveCaseResult
    from ..live.state import PodTimeline


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
        "log_times": [round(t, 2) for t in result.log_times],
        "stream_hub": pod_timeline_dict(view.hub) if view.hub else None,
        "diagnostics": result.diagnostics or None,
    }


def pod_timeline_dict(timeline: PodTimeline) -> dict[str, Any]:
    """The stream-hub pod count over a watched rollout: every change, for the reports' step chart."""
    return {
        "component": timeline.component,
        "description": timeline.description,
        "peak": timeline.peak,
        "peak_pods": list(timeline.peak_pods),
        "replaced": timeline.replaced,
        "points": [
            {"t": round(t, 2), "count": count, "event": event, "pod": pod}
            for t, count, event, pod in timeline.points
        ],
    }
