"""The rule engine: a registry of rules (id, severity, contract citation, fix) and their evaluation.

A rule is a function from a :class:`Context` to findings. Rules only read the context: they never call
helm or a cluster (the pipeline did that before them).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..charts import Chart
from ..expectations import Expectations
from ..findings import Finding, Location, Severity, Verdict
from ..render import Manifest, Rendered
from ..topology import ComponentMatcher, Topology, Workload
from ..values import ValuesFile

if TYPE_CHECKING:  # the upgrade lane builds on the engine, not the other way round
    from ..live.state import LiveView
    from ..upgrade import UpgradeView


@dataclass(frozen=True)
class Options:
    kube_version: str = "1.35.0"
    concurrent_users: int | None = None
    allow_ignored_keys: bool = False  # downgrade ignored keys from error to warning
    strict: bool = False  # warning-severity findings block the run too (findings.blocks_run)


@dataclass
class Context:
    values_file: ValuesFile
    merged: dict[str, Any]
    chart: Chart
    expectations: Expectations
    options: Options
    matcher: ComponentMatcher
    rendered: Rendered | None = None
    topology: Topology | None = None
    render_error: str | None = None  # the one-line reason when the chart refused these values
    upgrade: UpgradeView | None = (
        None  # upgrade lane: both sides and the plan (the fields above are the to-side)
    )
    live: LiveView | None = None  # live lane: what the cluster showed (snapshots, watches, upgrade outcomes)


CheckFn = Callable[[Context, "Rule"], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: Severity
    contract: str  # the CONTRACT.md line it enforces
    basis: str  # where the fact comes from: "doc", "chart behaviour", "server code"
    fix: str
    check: CheckFn = field(repr=False)
    needs_render: bool = True
    lane: str = "static"

    def fail(
        self,
        ctx: Context,
        message: str,
        *,
        expected: str = "",
        found: str = "",
        workload: Workload | None = None,
        resource: str = "",
        field_path: str = "",
        key_path: str = "",
        manifest: Manifest | None = None,
        severity: Severity | None = None,
        values_file: ValuesFile | None = None,
    ) -> Finding:
        """A failed finding, located at the values key when given (in ``values_file``, default the context's),
        else at the chart template."""
        location = None
        if workload is not None:
            resource = resource or workload.ref
            manifest = manifest or workload.manifest
        if key_path:
            located_in = values_file or ctx.values_file
            pos = located_in.position(key_path)
            location = Location(
                located_in.file_of(pos), key_path, pos.line if pos else None, pos.column if pos else None
            )
        elif manifest is not None and manifest.source:
            location = Location(manifest.source)
        return Finding(
            rule_id=self.id,
            verdict=Verdict.FAIL,
            message=message,
            severity=severity or self.severity,
            expected=expected,
            found=found,
            resource=resource,
            field_path=field_path,
            location=location,
        )

    def skip(self, reason: str) -> Finding:
        return Finding(rule_id=self.id, verdict=Verdict.SKIP, message=reason, severity=Severity.INFO)


RULES: dict[str, Rule] = {}


def rule(
    rule_id: str,
    *,
    title: str,
    severity: Severity = Severity.ERROR,
    contract: str,
    fix: str,
    basis: str = "doc",
    needs_render: bool = True,
    lane: str = "static",
) -> Callable[[CheckFn], CheckFn]:
    def register(fn: CheckFn) -> CheckFn:
        if rule_id in RULES:
            raise ValueError(f"rule {rule_id} registered twice")
        RULES[rule_id] = Rule(rule_id, title, severity, contract, basis, fix, fn, needs_render, lane)
        return fn

    return register


def evaluate_rule(ctx: Context, rule_obj: Rule) -> list[Finding]:
    """Run one rule; no failure means one PASS finding; a crash is an ERROR finding, not a pass."""
    if rule_obj.needs_render and ctx.topology is None:
        return [rule_obj.skip("not evaluated: the chart did not render for these values")]
    try:
        findings = list(rule_obj.check(ctx, rule_obj))
    except Exception as exc:  # a bug in a rule must be visible and never count as a pass
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return [
            Finding(
                rule_id=rule_obj.id,
                verdict=Verdict.ERROR,
                message=f"internal error in rule {rule_obj.id}: {type(exc).__name__}: {exc} "
                f"({where.filename.rsplit('/', 1)[-1]}:{where.lineno}); please report it",
                severity=Severity.ERROR,
            )
        ]
    if not findings:
        return [Finding(rule_obj.id, Verdict.PASS, rule_obj.title, severity=rule_obj.severity)]
    return findings


def rules_for_lane(lane: str) -> list[Rule]:
    from . import load_lane

    load_lane(lane)
    return [r for r in RULES.values() if r.lane == lane]


def redact_finding(finding: Finding, redact: Callable[[str], str]) -> Finding:
    return replace(
        finding,
        message=redact(finding.message),
        expected=redact(finding.expected),
        found=redact(finding.found),
        evidence=tuple((k, redact(v)) for k, v in finding.evidence),
    )
