"""Capacity and production-hygiene rules (warnings unless stated): sizing, embedded MongoDB, passwords, resources."""

from __future__ import annotations

import math
from collections.abc import Iterable

from ..chart_reads import reads_path
from ..expectations import MICROSERVICE_KEYS
from ..findings import Finding, Remedy, Severity
from ..redact import CREDENTIAL_ENV, SWITCH_VALUES, URI_CREDENTIALS
from ..topology import BUS_CLIENTS, DDP_STREAMER, MONOLITH, EnvVar
from ..values import lookup
from .chart_defects import values_remedy
from .context import RenderedContext, StaticContext
from .engine import Rule, rule

USERS_PER_DDP_STREAMER = 500


@rule(
    "capacity.ddp-streamer",
    title="ddp-streamer replicas cover the concurrent users (1 pod per 500)",
    contract="CONTRACT.md > Components: ddp-streamer: scale from the start: 1 pod per 500 concurrent users",
    fix="raise microservices.ddpStreamer.replicas to ceil(users / 500)",
)
def rule_ddp_streamer_capacity(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    users = ctx.options.concurrent_users
    if not users:
        yield r.skip("no --concurrent-users given")
        return
    if not ctx.expectations.microservices:
        yield r.skip("microservices are off")
        return
    need = math.ceil(users / USERS_PER_DDP_STREAMER)
    have = sum(w.effective_replicas for w in ctx.topology.components(DDP_STREAMER))
    if have < need:
        key = "microservices.ddpStreamer.replicas"
        streamers = ctx.topology.components(DDP_STREAMER)
        yield r.fail(
            ctx,
            f"{users} concurrent users need {need} ddp-streamer pods, the release runs {have}",
            expected=f">= {need}",
            found=str(have),
            workload=streamers[0] if streamers else None,
            field_path="spec.replicas",
            key_path=key,
        )


@rule(
    "hygiene.embedded-mongodb",
    title="production uses an external MongoDB, not the embedded one",
    severity=Severity.WARNING,
    contract="CONTRACT.md > Components: mongodb.enabled: true is for tests; production should use an external cluster",
    fix="set mongodb.enabled: false and externalMongodbUrl or existingMongodbSecret",
    needs_render=False,
)
def rule_external_mongodb(ctx: StaticContext, r: Rule) -> Iterable[Finding]:
    if lookup(ctx.merged, "mongodb.enabled"):
        yield r.fail(
            ctx,
            "the embedded MongoDB is enabled: fine for tests, not for production",
            expected="mongodb.enabled: false",
            found="true",
            key_path="mongodb.enabled",
        )


@rule(
    "hygiene.default-passwords",
    title="MongoDB passwords are not the chart's defaults",
    severity=Severity.WARNING,
    contract="CONTRACT.md > Values contract: mongodb.auth.{passwords, rootPassword}",
    fix="set your own mongodb.auth.passwords and rootPassword (or use existingMongodbSecret)",
    needs_render=False,
)
def rule_no_default_passwords(ctx: StaticContext, r: Rule) -> Iterable[Finding]:
    if not lookup(ctx.merged, "mongodb.enabled"):
        return
    defaults = ctx.chart.defaults
    for key in ("mongodb.auth.passwords", "mongodb.auth.rootPassword"):
        current, default = lookup(ctx.merged, key), lookup(defaults, key)
        if current and current == default:
            # never print the password itself
            yield r.fail(
                ctx,
                f"{key} is the chart's default, known to anyone who reads the chart",
                expected="a password of your own",
                found="the chart default (hidden)",
                key_path=key,
            )


@rule(
    "hygiene.resources",
    title="every QuickMeet.Chat container sets resource requests/limits",
    severity=Severity.WARNING,
    contract="not stated in CONTRACT.md (its Values contract names no resources key): production hygiene. "
    "Kubernetes schedules pods by their requests and throttles or evicts them by their limits, and "
    'CONTRACT.md > Components sizes ddp-streamer as "scale from the start: 1 pod per 500 concurrent users", '
    "which only holds when each pod gets the CPU and memory it was sized for",
    fix="set resources (requests and limits) for each component",
    basis="Kubernetes scheduling (production hygiene)",
)
def rule_resources_set(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    for workload in ctx.topology.workloads:
        if workload.component not in BUS_CLIENTS:
            continue
        container = workload.container_of(workload.component, ctx.matcher)
        if not container.has_resources:
            yield r.fail(
                ctx,
                f"{workload.component} ({workload.ref}) has no resource requests or limits",
                expected="resources.requests and limits",
                found="none",
                workload=workload,
                field_path=f"spec.template.spec.containers[{container.name}].resources",
                remedy=_resources_remedy(ctx, workload.component),
            )


def _resources_remedy(ctx: RenderedContext, component: str | None) -> Remedy | None:
    """``resources`` (the monolith) or ``microservices.<svc>.resources``, when the chart reads that key."""
    if component == MONOLITH:
        key = "resources"
    elif component in MICROSERVICE_KEYS:
        key = f"microservices.{MICROSERVICE_KEYS[component]}.resources"
    else:
        return None
    if not reads_path(ctx.chart.reads, key):
        return None
    return values_remedy(ctx.values_file, key)


def _plain_credential(var: EnvVar) -> str:
    """Why a literal env value is a credential ('' when it is not): its name, or a password in a URI."""
    if var.secret_name is not None or var.other_source or not var.value:
        return ""
    if URI_CREDENTIALS.search(var.value):
        return "a URI with a password"
    if CREDENTIAL_ENV.search(var.name) and var.value.strip().lower() not in SWITCH_VALUES:
        return f"a credential ({var.name})"
    return ""


@rule(
    "hygiene.plain-env-credentials",
    title="credentials reach containers through valueFrom a Secret, not a plain env value",
    severity=Severity.WARNING,
    contract='CONTRACT.md > Wiring: "Every microservice pod and the monolith get MONGO_URL from a secret key '
    'mongo-uri" (the contract keeps credentials in Secrets); and the project guide\'s rule "secrets never '
    'printed" (not a CONTRACT.md line): a plain env value is shown by kubectl describe and helm get manifest',
    fix="move the value into a Secret and use env[].valueFrom.secretKeyRef (or extraSecret / existingSecret keys "
    "the chart offers) instead of env[].value",
    basis="doc",
)
def rule_no_plain_env_credentials(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    for workload in ctx.topology.workloads:
        for container in workload.containers:
            for var in container.env:
                why = _plain_credential(var)
                if not why:
                    continue
                key = "extraEnv" if ctx.values_file.position("extraEnv") else ""
                yield r.fail(
                    ctx,
                    f"{workload.ref} container {container.name} gets {why} as a plain env value "
                    f"{var.name}: anyone who can read the {workload.kind} (or helm get values) reads it",
                    expected=f"{var.name} valueFrom.secretKeyRef",
                    found="a plain value (hidden)",
                    workload=workload,
                    key_path=key,
                    field_path=f"spec.template.spec.containers[{container.name}].env[{var.name}]",
                )
