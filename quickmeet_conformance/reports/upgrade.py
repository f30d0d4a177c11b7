"""Upgrade output: the readable plan, the terminal summary of each pair, and the JSON report's section."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..findings import Status
from ..rules.engine import RULES
from .model import rules_dict

if TYPE_CHECKING:  # the upgrade lane is imported where a plan is written: a static check never loads it
    from ..charts import Chart
    from ..upgrade.case import UpgradeResult
    from ..upgrade.pairs import SideSpec
    from ..upgrade.plan import ResourcePlan, UpgradePlan

_LABEL_PATHS = ("metadata.labels", "spec.template.metadata.labels")


def plan_lines(plan: UpgradePlan, *, max_changes: int = 6) -> list[str]:
    """The readable plan: notes first, then each resource the upgrade creates, deletes or changes."""
    from ..upgrade.plan import ACTIONS, key_ref

    lines = [f"info       {note}" for note in plan.notes]
    relabelled = [r for r in plan.of("changed") if all(c.path.startswith(_LABEL_PATHS) for c in r.changes)]
    for resource in plan.resources:
        ref = key_ref(resource.key, plan.namespace)
        if resource.action in ("created", "deleted"):
            lines.append(f"{resource.action:<10} {ref}")
        elif resource.action == "changed" and resource not in relabelled:
            lines.append(f"changed    {ref}")
            for change in resource.changes[:max_changes]:
                lines.append(f"             {change.path}: {change.old} -> {change.new}")
            if len(resource.changes) > max_changes:
                lines.append(f"             (+{len(resource.changes) - max_changes} more field changes)")
    if relabelled:
        shown = sorted(
            {f"{c.path.rsplit('labels', 1)[-1]}: {c.old} -> {c.new}" for r in relabelled for c in r.changes}
        )
        lines.append(
            f"changed    {len(relabelled)} in labels only ({'; '.join(shown)}): "
            + ", ".join(key_ref(r.key, plan.namespace) for r in relabelled)
        )
    unchanged = plan.of("unchanged")
    if unchanged:
        lines.append(
            f"unchanged  {len(unchanged)}: " + ", ".join(key_ref(r.key, plan.namespace) for r in unchanged)
        )
    counts = plan.counts()
    lines.append("total      " + ", ".join(f"{counts[a]} {a}" for a in ACTIONS))
    return lines


def plan_dict(plan: UpgradePlan) -> dict[str, Any]:
    from ..upgrade.plan import ACTIONS

    def entry(r: ResourcePlan) -> dict[str, Any]:
        group, kind, namespace, name = r.key
        data: dict[str, Any] = {"group": group, "kind": kind, "namespace": namespace, "name": name}
        if r.action == "changed":
            data["changes"] = [{"path": c.path, "old": c.old, "new": c.new} for c in r.changes]
        return data

    return {"notes": list(plan.notes), **{a: [entry(r) for r in plan.of(a)] for a in ACTIONS}}


def shown_path(label: str) -> str:
    """A values label as the reports show it: relative to the working directory when below it (a
    ``--upgrade-from /abs/path`` otherwise fills the headings with the checkout's location)."""
    if not os.path.isabs(label):
        return label
    try:
        rel = os.path.relpath(label)
    except ValueError:  # another drive
        return label
    return label if rel == ".." or rel.startswith(".." + os.sep) else rel


def side_dict(spec: SideSpec, chart: Chart) -> dict[str, Any]:
    return {
        "values": shown_path(spec.values_label),
        "chart": {
            "name": chart.name,
            "version": chart.version,
            "app_version": chart.app_version,
            "source": chart.spec,
        },
    }


def upgrade_result_dict(result: UpgradeResult, *, strict: bool = False) -> dict[str, Any]:
    case = result.case
    return {
        "id": case.id,
        "pair": case.pair.name,
        "source": case.pair.source,
        "description": case.pair.description,
        "from": side_dict(case.pair.from_side, case.from_chart),
        "to": side_dict(case.pair.to_side, case.to_chart),
        "helm": {"path": case.renderer.helm.path, "version": case.renderer.helm.version},
        "release": case.release,
        "namespace": case.namespace,
        "input_error": result.input_error,
        "plan": plan_dict(result.plan) if result.plan else None,
        "target_static_failures": list(result.target_failures(strict=strict)),
        "rules": rules_dict(result.findings, strict=strict),
    }


def summary_lines(
    results: list[UpgradeResult], *, strict: bool, failures_only: bool
) -> list[tuple[str, str | None]]:
    """(text, colour) lines: one plan per pair; helm majors that agree on plan and verdicts share it."""
    groups: dict[tuple, list[UpgradeResult]] = {}
    for result in results:
        plan = tuple(plan_lines(result.plan)) if result.plan else ()
        statuses = tuple((rule_id, result.status(rule_id, strict=strict)) for rule_id in result.findings)
        groups.setdefault((result.case.pair.name, result.input_error, plan, statuses), []).append(result)
    lines: list[tuple[str, str | None]] = []
    for (name, error, plan, statuses), members in groups.items():
        case = members[0].case
        helms = ", ".join(r.case.renderer.helm.label for r in members)
        lines.append(
            (
                f"upgrade {name}: {shown_path(case.pair.from_side.values_label)} ({case.from_chart.label}) -> "
                f"{shown_path(case.pair.to_side.values_label)} ({case.to_chart.label})  [{helms}]",
                None,
            )
        )
        if error:
            lines.append((f"  ERROR  {error}", "red"))
            continue
        lines += [(f"  {line}", "cyan" if line.startswith("info") else None) for line in plan]
        if failures_only and all(s == Status.PASS for _, s in statuses):
            lines.append(("  all upgrade rules pass", "green"))
        for rule_id, status in statuses:
            if status == Status.PASS and failures_only:
                continue
            findings = members[0].findings[rule_id]
            failed = [f for f in findings if f.failed]
            mark = status.value.upper()
            if failed:
                reason = failed[0].one_line() + (f" (+{len(failed) - 1} more)" if len(failed) > 1 else "")
            else:
                reason = next(
                    (f.message for f in findings if f.message != RULES[rule_id].title), RULES[rule_id].title
                )
            colour = {"PASS": "green", "SKIP": "cyan", "WARN": "yellow"}.get(mark, "red")
            lines.append((f"  {mark:<5}  {rule_id:<30} {reason}"[:200], colour))
    return lines
