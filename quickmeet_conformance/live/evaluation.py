"""Judging what a live case observed: the live rules on its view, redaction of what it keeps, diagnostics.

Rules never call the cluster or helm; they read the :class:`~quickmeet_conformance.live.state.LiveView` the
steps observed. Everything a case keeps (findings, log, rollout error, diagnostics) passes its redactor,
which by then also knows the values of the cluster's Secrets.
"""

from __future__ import annotations

from dataclasses import replace

from ..charts import Chart
from ..clusters.kubeclient import KubeClient
from ..errors import ToolError, UserError
from ..expectations import expectations_for
from ..findings import Finding, Verdict
from ..redact import Redactor
from ..rules.engine import Options, evaluate_rule, redact_finding, rules_for_lane
from ..topology import ComponentMatcher
from ..upgrade import UpgradeCase, evaluate_upgrade
from ..values import ValuesFile, deep_merge
from . import diagnostics
from .case import LiveCaseResult
from .rules.context import LiveContext
from .state import LiveState, LiveView

IMMUTABLE_RULE = "upgrade.immutable-fields"


def evaluate_view(
    view: LiveView,
    values_file: ValuesFile,
    chart: Chart,
    redactor: Redactor,
    *,
    options: Options,
    matcher: ComponentMatcher,
    rule_ids: tuple[str, ...] | None = None,
) -> dict[str, list[Finding]]:
    """The live rules (all, or ``rule_ids``) on what a case observed, their findings redacted."""
    merged = deep_merge(chart.defaults, values_file.data)
    ctx = LiveContext(
        values_file=values_file,
        merged=merged,
        chart=chart,
        expectations=expectations_for(merged, chart.app_version, chart.reads),
        options=options,
        matcher=matcher,
        live=view,
    )
    rules = [r for r in rules_for_lane("live") if rule_ids is None or r.id in rule_ids]
    return {r.id: [redact_finding(f, redactor.text) for f in evaluate_rule(ctx, r)] for r in rules}


def redacted(findings: dict[str, list[Finding]], redactor: Redactor) -> dict[str, list[Finding]]:
    return {rule: [redact_finding(f, redactor.text) for f in fs] for rule, fs in findings.items()}


def add_cluster_secrets(redactor: Redactor, state: LiveState | None) -> None:
    """What the cluster's Secrets hold (values the chart generated, too) joins what ``redactor`` masks."""
    for secret in state.of("Secret") if state else []:
        if not str(secret["metadata"]["name"]).startswith("sh.helm.release."):
            redactor.add_from_secret_manifest(secret)


def finish_case(kube: KubeClient, result: LiveCaseResult) -> LiveCaseResult:
    """Capture diagnostics while the namespace exists, when anything failed; redact what the case keeps
    with everything its redactor learned (Secrets read after a line was said)."""
    if result.view.rollout_error or result.failed():
        try:
            result.diagnostics = diagnostics.collect(kube, result.namespace, result.redactor.text)
        except ToolError as exc:
            result.diagnostics = f"(diagnostics unavailable: {exc.line()})"
    result.view = replace(result.view, rollout_error=result.redactor.text(result.view.rollout_error))
    result.log[:] = [result.redactor.text(line) for line in result.log]
    return result


def predicted_rejections(case: UpgradeCase) -> tuple[str, ...]:
    """The render-time lane's prediction: the failures of ``upgrade.immutable-fields`` for this pair (one line each)."""
    result = evaluate_upgrade(case, rules=[r for r in rules_for_lane("upgrade") if r.id == IMMUTABLE_RULE])
    if result.input_error:
        raise UserError(result.input_error)
    return tuple(f.one_line() for f in result.findings.get(IMMUTABLE_RULE, []) if f.verdict == Verdict.FAIL)
