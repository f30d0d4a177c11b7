"""Upgrade rules on the release after the upgrade: it passes the static lane, stream-hub hands over cleanly."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from ...findings import Finding, Severity, blocks_run, passed
from ...rules.engine import RULES, Rule, evaluate_rule, rule
from ...topology import STREAM_HUB
from ...upgrade.plan import (
    resource_key,
)
from .context import RenderedUpgrade, UpgradeContext

_UPGRADES = "CONTRACT.md > Upgrades"

# -- the target passes the static lane -----------------------------------------------------------------


@rule(
    "upgrade.target-passes-static",
    title="after the upgrade, the to-side passes every static rule",
    contract=f"{_UPGRADES}: the upgraded release must still meet the whole contract (the static lane on the to-side)",
    fix="fix what the listed static rule reports for the to-side values and chart",
    basis="doc",
    needs_render=False,
    lane="upgrade",
)
def rule_upgrade_target_passes_static(ctx: UpgradeContext, r: Rule) -> Iterable[Finding]:
    view = ctx.view
    target = view.target
    if target.input_error is not None:
        yield r.fail(
            ctx,
            f"the to-side cannot be checked: {target.input_error}",
            expected="readable values",
            found=target.input_error,
        )
        return
    temp, shown = view.pair.to_side.values_path, view.pair.to_side.values_label
    for rule_id, findings in target.findings.items():
        for finding in findings:
            if not blocks_run(finding, strict=ctx.options.strict):
                continue
            location = finding.location
            if location is not None and location.file == temp:
                location = replace(location, file=shown)
            yield replace(
                finding,
                rule_id=r.id,
                message=f"after the upgrade, static rule {rule_id} fails: {finding.message}",
                location=location,
                evidence=finding.evidence + (("static rule", rule_id),),
            )


_VALUES_KEY = re.compile(r"\b[a-zA-Z][\w-]*(?:\.[a-zA-Z][\w-]*)+\b")


@rule(
    "upgrade.to-side-renders",
    title="helm upgrade renders the new chart with the new values (--is-upgrade)",
    contract=f"{_UPGRADES}: the upgrade must apply; a chart (or subchart) that refuses 'helm upgrade' stops it",
    fix="give the values the chart's message asks for on upgrade (e.g. the bundled MongoDB's current "
    "passwords and auth.replicaSetKey), or use an external MongoDB",
    basis="chart behaviour",
    needs_render=False,
    lane="upgrade",
)
def rule_upgrade_to_side_renders(ctx: UpgradeContext, r: Rule) -> Iterable[Finding]:
    """Without it, a to-side helm refuses under --is-upgrade only skips the rendered rules: no failure shows."""
    error = ctx.view.to_side.render_error
    if error:
        # the refusal names its key in the chart's words: point at the deepest key of the user's values it names
        # (e.g. microservices.streamHub.enabled), else at the MongoDB auth map for the bundled MongoDB's refusals
        named = [k for k in _VALUES_KEY.findall(error) if ctx.view.to_side.values_file.position(k)]
        at = max(named, key=len) if named else ("mongodb.auth" if "mongodb" in error else "")
        yield r.fail(
            ctx,
            f"helm upgrade refuses the new side: {error}",
            expected="helm template --is-upgrade succeeds",
            found="refused",
            key_path=at if at and ctx.view.to_side.values_file.position(at) else "",
            resource="" if at else "(the chart)",
        )


# -- stream-hub handover -------------------------------------------------------------------------------


@rule(
    "upgrade.stream-hub-handover",
    title="stream-hub never runs twice during the upgrade (rollout strategy, no rename), and its removal is explicit",
    contract=f"{_UPGRADES}: stream-hub must never run two pods at once, not even during a rollout",
    fix="roll stream-hub out with Recreate (or maxSurge 0) and keep its Deployment name across versions",
    basis="chart behaviour",
    lane="upgrade",
)
def rule_upgrade_stream_hub_handover(ctx: RenderedUpgrade, r: Rule) -> Iterable[Finding]:
    view = ctx.view
    before = ctx.from_topology.components(STREAM_HUB)
    after = ctx.to_topology.components(STREAM_HUB)
    if before and not after:
        yield passed(
            r.id,
            f"stream-hub is removed by this upgrade ({view.to_side.expectations.stream_hub.reason}): "
            f"{', '.join(w.ref for w in before)} is deleted, nothing hands over",
            Severity.INFO,
        )
        return
    old_keys = {resource_key(w.manifest, view.namespace) for w in before}
    if after and not before:
        # the upgrade creates stream-hub: no old pod exists to overlap the new one, whatever the strategy
        # (the static lane still judges the strategy for the upgrades that follow)
        yield passed(
            r.id,
            f"stream-hub is created by this upgrade ({', '.join(w.ref for w in after)}): no old hub runs "
            "beside the new one",
            Severity.INFO,
        )
        return
    kept = {w.ref for w in after if resource_key(w.manifest, view.namespace) in old_keys}
    for finding in evaluate_rule(ctx.target, RULES["streamhub.rollout-never-two"]):
        if finding.failed and (not finding.resource or finding.resource in kept):
            yield replace(finding, rule_id=r.id, message=f"during the upgrade, {finding.message}")
    if before and after and not any(resource_key(w.manifest, view.namespace) in old_keys for w in after):
        yield r.fail(
            ctx,
            f"stream-hub moves from {before[0].ref} to {after[0].ref}: helm creates the new one before it "
            "deletes the old, so two hubs run during the upgrade",
            expected=before[0].ref,
            found=after[0].ref,
            resource=after[0].ref,
            field_path="metadata.name",
            workload=after[0],
        )
