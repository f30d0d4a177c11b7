"""Rules on the values file itself: the contract schema, keys the chart ignores, the render outcome."""

from __future__ import annotations

from typing import Iterable

from ..findings import Finding, Severity
from ..schema import ignored_keys, schema_violations
from .engine import Context, Rule, rule


@rule(
    "values.schema",
    title="values match the contract's JSON Schema",
    contract="CONTRACT.md > Values contract (types; streamHub.replicas above 1 is a contract violation)",
    fix="correct the value's type or range as the schema message says",
    needs_render=False,
)
def rule_values_match_schema(ctx: Context, r: Rule) -> Iterable[Finding]:
    for violation in schema_violations(ctx.values_file.data):
        yield r.fail(
            ctx,
            f"{violation.key_path}: {violation.message}",
            expected="a value allowed by schemas/values.schema.json",
            found=violation.value_repr,
            key_path=violation.key_path if violation.key_path != "(top level)" else "",
        )


@rule(
    "values.ignored-keys",
    title="every key in the values file is read by the chart",
    contract="CONTRACT.md > Values contract: Helm silently ignores keys that the chart never reads",
    fix="rename the key to the one the chart reads (see 'did you mean'), or delete it",
    needs_render=False,
)
def rule_no_ignored_keys(ctx: Context, r: Rule) -> Iterable[Finding]:
    severity = Severity.WARNING if ctx.options.allow_ignored_keys else None
    for ignored in ignored_keys(ctx.values_file.data, ctx.chart.defaults, reads=ctx.chart.reads):
        yield r.fail(
            ctx,
            ignored.message(),
            expected=f"a key that {ctx.chart.label} reads",
            found=ignored.key,
            key_path=ignored.key_path,
            severity=severity,
        )


@rule(
    "values.nats-replicas-ignored",
    title="NATS is scaled with nats.cluster.replicas, not microservices.nats.replicas",
    severity=Severity.WARNING,
    contract="CONTRACT.md > Values contract: microservices.nats.replicas is ignored by the real chart",
    fix="set nats.cluster.replicas instead",
    basis="chart behaviour",
    needs_render=False,
)
def rule_nats_replicas_key(ctx: Context, r: Rule) -> Iterable[Finding]:
    if ctx.values_file.get("microservices.nats.replicas") is not None:
        yield r.fail(
            ctx,
            "microservices.nats.replicas does not scale NATS; the chart reads nats.cluster.replicas",
            expected="nats.cluster.replicas",
            found="microservices.nats.replicas",
            key_path="microservices.nats.replicas",
        )


@rule(
    "render.succeeds",
    title="the chart renders these values",
    contract="CONTRACT.md > Version rules (the chart refuses invalid stream-hub settings) and every rule below",
    fix="change the values the chart's message names",
    basis="chart behaviour",
    needs_render=False,
)
def rule_chart_renders(ctx: Context, r: Rule) -> Iterable[Finding]:
    if ctx.render_error is not None:
        yield r.fail(ctx, ctx.render_error, expected="helm template succeeds", found="helm template failed")
