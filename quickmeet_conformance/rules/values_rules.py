"""Rules on the values file itself: the contract schema, keys the chart ignores, the render outcome."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..expectations import nats_count_honoured
from ..findings import Finding, Severity
from ..schema import ignored_keys, schema_violations
from ..values import lookup
from .context import StaticContext
from .engine import Rule, rule


@rule(
    "values.schema",
    title="values match the contract's JSON Schema",
    contract="CONTRACT.md > Values contract (types; streamHub.replicas above 1 is a contract violation)",
    fix="correct the value's type or range as the schema message says",
    needs_render=False,
)
def rule_values_match_schema(ctx: StaticContext, r: Rule) -> Iterable[Finding]:
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
def rule_no_ignored_keys(ctx: StaticContext, r: Rule) -> Iterable[Finding]:
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


_NATS_SCALE_FIX = (
    "set nats.cluster.enabled: true and nats.cluster.replicas: N (the NATS subchart runs a single server "
    "unless nats.cluster.enabled is true, whatever the replicas say)"
)


@rule(
    "values.nats-replicas-ignored",
    title="NATS is scaled with nats.cluster.enabled and nats.cluster.replicas, not microservices.nats.replicas",
    severity=Severity.WARNING,
    contract="CONTRACT.md > Values contract: microservices.nats.replicas is ignored by the real chart",
    fix=_NATS_SCALE_FIX,
    basis="chart behaviour",
    needs_render=False,
)
def rule_nats_replicas_key(ctx: StaticContext, r: Rule) -> Iterable[Finding]:
    if ctx.values_file.get("microservices.nats.replicas") is not None:
        yield r.fail(
            ctx,
            "microservices.nats.replicas does not scale NATS; the chart's NATS subchart reads "
            "nats.cluster.enabled and nats.cluster.replicas",
            expected="nats.cluster.enabled: true and nats.cluster.replicas",
            found="microservices.nats.replicas",
            key_path="microservices.nats.replicas",
        )
    replicas = lookup(ctx.merged, "nats.cluster.replicas")
    user_replicas = ctx.values_file.get("nats.cluster.replicas")
    if user_replicas is not None and not nats_count_honoured(ctx.merged, ctx.chart.reads):
        yield r.fail(
            ctx,
            f"nats.cluster.replicas is {replicas}, but nats.cluster.enabled is not true: the NATS subchart "
            "runs one server",
            expected="nats.cluster.enabled: true",
            found=f"nats.cluster.enabled: {str(lookup(ctx.merged, 'nats.cluster.enabled')).lower()}",
            key_path="nats.cluster.replicas",
        )


@rule(
    "render.succeeds",
    title="the chart renders these values",
    contract="CONTRACT.md > Version rules (the chart refuses invalid stream-hub settings) and every rule below",
    fix="change the values the chart's message names",
    basis="chart behaviour",
    needs_render=False,
)
def rule_chart_renders(ctx: StaticContext, r: Rule) -> Iterable[Finding]:
    if ctx.render_error is not None:
        yield r.fail(ctx, ctx.render_error, expected="helm template succeeds", found="helm template failed")


_SEMVER_GATE = re.compile(r"semverCompare[^\n]*?(invalid semantic version)", re.IGNORECASE)
_TAG_GATE = re.compile(r"image tag[^\n]*semantic version", re.IGNORECASE)
_HUB_REQUIRED = re.compile(r"stream.?hub[^\n]*required|required[^\n]*stream.?hub", re.IGNORECASE)
_ROOT_PASSWORD = re.compile(r"root password must be provided", re.IGNORECASE)


def _chart_message(render_error: str) -> str:
    """The chart's own words in a helm error: what follows the failing template expression or fail call."""
    text = render_error.split("Use --debug", 1)[0].split(" (the chart refused", 1)[0].strip()
    for marker in (">: ", "): "):  # template error at <expr>: msg / execution error at (file:line): msg
        if marker in text:
            return text.rsplit(marker, 1)[1].strip()
    return text


@rule(
    "render.refuses-allowed-values",
    title="the chart does not refuse a configuration the contract allows (version gates misjudging the tag)",
    contract="CONTRACT.md > Values contract (image: {repository, tag}; externalMongodbUrl / existingMongodbSecret) "
    "and Version rules: the app version comes from image.tag, else appVersion; a tag that is not a version "
    "(latest, a digest) leaves it unknown; stream-hub rules concern microservices, not a monolith",
    fix="pin image.tag to the semantic version of the image (e.g. the chart's appVersion); for a monolith on "
    "app <= 7.7.0 use a chart released before the stream-hub gate (6.27.x) or app > 7.7.0; for an external "
    "MongoDB on charts of the oplog era (<= 6.28) also set externalMongodbOplogUrl",
    basis="chart behaviour",
    needs_render=False,
)
def rule_chart_refuses_allowed_values(ctx: StaticContext, r: Rule) -> Iterable[Finding]:
    if ctx.render_error is None:
        return
    error = ctx.render_error
    tag = str(lookup(ctx.merged, "image.tag") or "")
    tag_key = "image.tag" if ctx.values_file.position("image.tag") else ""
    chart = ctx.chart.label
    if _SEMVER_GATE.search(error) or _TAG_GATE.search(error):
        shown = tag or f"(unset: appVersion {ctx.chart.app_version})"
        yield r.fail(
            ctx,
            f"{chart} refuses image.tag {shown!r}: its version gate (semverCompare on the tag) "
            f"cannot read a tag that is not a semantic version, though the image exists and the contract "
            f"allows it. The chart says: {_chart_message(error)}",
            expected="a tag the chart accepts (a semantic version such as "
            f"{ctx.chart.app_version or '8.0.1'}), or a chart whose gate tolerates it",
            found=f"image.tag: {shown}",
            key_path=tag_key,
        )
    elif (
        _ROOT_PASSWORD.search(error)
        and lookup(ctx.merged, "externalMongodbUrl")
        and not lookup(ctx.merged, "mongodb.enabled")
    ):
        yield r.fail(
            ctx,
            f"{chart} refuses an external MongoDB given by externalMongodbUrl alone: it still builds a "
            "MONGO_OPLOG_URL for the embedded MongoDB from mongodb.auth.rootPassword (mongodb.enabled is "
            f"false). The chart says: {_chart_message(error)}",
            expected="externalMongodbUrl is enough (the contract's external MongoDB)",
            found="externalMongodbOplogUrl and mongodb.auth.rootPassword unset",
            key_path="externalMongodbUrl",
        )
    elif _HUB_REQUIRED.search(error) and not ctx.expectations.microservices:
        yield r.fail(
            ctx,
            f"{chart} refuses a monolith (microservices.enabled: false) on app "
            f"{ctx.expectations.app_version}: its stream-hub gate runs even without microservices, and no "
            f"value of microservices.streamHub.enabled passes it. The chart says: {_chart_message(error)}",
            expected="a monolith renders on any app version (stream-hub is a microservice)",
            found=f"app {ctx.expectations.app_version}, microservices.enabled false",
            key_path=tag_key
            or ("microservices.enabled" if ctx.values_file.position("microservices.enabled") else ""),
        )
