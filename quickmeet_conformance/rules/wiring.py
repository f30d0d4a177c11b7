"""Rules on the wiring between pods: TRANSPORTER to NATS, MONGO_URL from a secret, env-value traps."""

from __future__ import annotations

from collections.abc import Iterable

from ..findings import Finding, Severity
from ..topology import BUS_CLIENTS, NATS, EnvVar, Service, Workload, parse_transporter
from ..values import lookup
from .chart_defects import remedy_for
from .context import RenderedContext
from .engine import Rule, rule
from .services import resolve_service_port


def _bus_clients(ctx: RenderedContext) -> list[Workload]:
    return [w for w in ctx.topology.workloads if w.component in BUS_CLIENTS]


def _secret_known(ctx: RenderedContext, name: str, key: str, *external: str) -> bool:
    keys = ctx.topology.secret_keys(name)
    return (keys is not None and key in keys) or name in external


@rule(
    "wiring.transporter",
    title="TRANSPORTER on every microservice and the monolith resolves to the NATS Service and port",
    contract="CONTRACT.md > Wiring: every microservice pod and the monolith get "
    "TRANSPORTER=nats://<release>-nats:4222; the host must be a Service that exists, exposes that port, and "
    "selects the NATS pods",
    fix="point TRANSPORTER at the NATS Service (nats://<release>-nats:4222) or fix that Service's selector/ports",
)
def rule_transporter_resolves(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    topo = ctx.topology
    external = lookup(ctx.merged, "nats.existingSecret.name") or ""
    for workload in _bus_clients(ctx):
        container = workload.container_of(workload.component, ctx.matcher)
        var = container.env_var("TRANSPORTER")
        field = f"spec.template.spec.containers[{container.name}].env[TRANSPORTER]"
        if var is None:
            if ctx.expectations.microservices:
                yield r.fail(
                    ctx,
                    f"{workload.component} has no TRANSPORTER: it never joins the NATS bus",
                    expected="TRANSPORTER=nats://<release>-nats:4222",
                    found="unset",
                    workload=workload,
                    field_path=field,
                )
            continue
        if var.secret_name is not None:
            if not _secret_known(ctx, var.secret_name, var.secret_key or "", external):
                yield r.fail(
                    ctx,
                    f"{workload.component} reads TRANSPORTER from secret {var.secret_name}/"
                    f"{var.secret_key}, which the release neither creates nor names in nats.existingSecret",
                    expected="a Secret of the release or nats.existingSecret.name",
                    found=var.describe,
                    workload=workload,
                    field_path=field,
                )
            continue
        address = parse_transporter(var.value or "")
        if address is None:
            yield r.fail(
                ctx,
                f"{workload.component} TRANSPORTER is not a nats:// URL",
                expected="nats://<release>-nats:4222",
                found=var.describe,
                workload=workload,
                field_path=field,
            )
            continue
        host, port = address.host, address.port
        service = topo.service(host)
        if service is None:
            renamed = nats_services(ctx)
            also = (
                (
                    f" (the NATS Service is rendered as {', '.join(s.name for s in renamed)}: see "
                    "wiring.nats-address-follows-service)"
                )
                if renamed
                else ""
            )
            yield r.fail(
                ctx,
                f"{workload.component} TRANSPORTER names host {host!r}, but the release has no such "
                f"Service{also}",
                expected="an existing NATS Service",
                found=f"Services: {', '.join(s.name for s in topo.services)}",
                workload=workload,
                field_path=field,
            )
            continue
        landed, reached = resolve_service_port(topo, service, number=port)
        if service.port_by(number=port) is None:
            yield r.fail(
                ctx,
                f"{workload.component} TRANSPORTER uses port {port}, which {service.ref} does not expose",
                expected=f"{service.ref} port {port}",
                found="ports " + ", ".join(str(p.port) for p in service.ports),
                workload=workload,
                field_path=field,
            )
        elif not any(w.component == NATS for w in reached):
            yield r.fail(
                ctx,
                f"{workload.component} TRANSPORTER host {service.ref} does not lead to NATS pods on port {port}",
                expected="the NATS pods",
                found=", ".join(w.ref for w in reached) or "no pods",
                workload=workload,
                field_path=field,
            )


def nats_services(ctx: RenderedContext) -> list[Service]:
    """The Services of this release that select NATS pods and lead to them on the client port 4222."""
    found = []
    topo = ctx.topology
    for service in topo.services:
        _, reached = resolve_service_port(topo, service, number=4222)
        if any(w.component == NATS for w in reached):
            found.append(service)
    return sorted(found, key=lambda s: (len(s.name), s.name))  # the client Service before its headless twin


def _rename_cause(ctx: RenderedContext, service: Service) -> tuple[str, str]:
    """(what renamed the NATS Service, the values key to point at) as far as the values tell."""
    for key in ("nats.fullnameOverride", "nats.nameOverride"):
        value = ctx.values_file.get(key)
        if value:
            return f"{key}: {value!r} renames it", key
    release = ctx.rendered.request.release if ctx.rendered is not None else ""
    if release and release == service.name:
        return (
            f"the release name {release!r} contains 'nats', and the NATS subchart's name helper then uses the "
            "release name alone"
        ), ""
    return "the NATS chart names it differently", ""


@rule(
    "wiring.nats-address-follows-service",
    title="the NATS address the chart hard-codes in TRANSPORTER is the NATS Service it renders",
    contract="CONTRACT.md > Wiring: every microservice pod and the monolith get "
    "TRANSPORTER=nats://<release>-nats:4222; the host in TRANSPORTER must be a Service that exists "
    "(the public chart hard-codes <release>-nats while the NATS subchart names its Service by fullnameOverride, "
    "nameOverride or a release name containing 'nats')",
    fix="remove nats.fullnameOverride / nats.nameOverride (or use a release name without 'nats'), or point "
    "TRANSPORTER at the renamed Service with nats.existingSecret (nats.enabled: false) ",
    basis="chart behaviour",
)
def rule_nats_address_follows_service(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    topo = ctx.topology
    renamed = nats_services(ctx)
    if not renamed:
        return
    for workload in _bus_clients(ctx):
        container = workload.container_for(workload.component, ctx.matcher)
        if container is None:
            continue
        var = container.env_var("TRANSPORTER")
        if var is None or var.secret_name is not None:
            continue
        address = parse_transporter(var.value or "")
        if address is None or topo.service(address.host) is not None:
            continue
        service = renamed[0]
        cause, key = _rename_cause(ctx, service)
        yield r.fail(
            ctx,
            f"{workload.component} TRANSPORTER keeps nats://{address.host}:{address.port}, but the "
            f"NATS Service is rendered as {service.name} ({cause}): the chart hard-codes the address, "
            "so nothing reaches the bus",
            expected=f"TRANSPORTER host {service.name}",
            found=f"TRANSPORTER host {address.host}",
            workload=workload,
            key_path=key,
            field_path=f"spec.template.spec.containers[{container.name}].env[TRANSPORTER]",
        )


@rule(
    "wiring.transporter-mode",
    title="with microservices on, TRANSPORTER is nats://, not monolith+nats://",
    contract="CONTRACT.md > Wiring: monolith+nats://... means the monolith is NOT in microservices mode",
    fix="render TRANSPORTER as nats://<release>-nats:4222 when microservices.enabled is true",
    basis="server code",
)
def rule_transporter_mode(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    if not ctx.expectations.microservices:
        return
    for workload in _bus_clients(ctx):
        container = workload.container_of(workload.component, ctx.matcher)
        var = container.env_var("TRANSPORTER")
        if var is not None and (var.value or "").startswith("monolith+"):
            yield r.fail(
                ctx,
                f"{workload.component} TRANSPORTER is monolith+nats://: it stays in monolith mode",
                expected="nats://...",
                found=var.describe,
                workload=workload,
                field_path=f"spec.template.spec.containers[{container.name}].env[TRANSPORTER]",
            )


@rule(
    "wiring.mongo-url",
    title="MONGO_URL on every microservice and the monolith comes from a secret key mongo-uri",
    contract="CONTRACT.md > Wiring: every microservice pod and the monolith get MONGO_URL from a secret key mongo-uri",
    fix="set MONGO_URL via secretKeyRef {name: <secret>, key: mongo-uri} (existingMongodbSecret must hold mongo-uri)",
)
def rule_mongo_url_from_secret(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    existing = lookup(ctx.merged, "existingMongodbSecret") or ""
    for workload in _bus_clients(ctx):
        container = workload.container_of(workload.component, ctx.matcher)
        var: EnvVar | None = container.env_var("MONGO_URL")
        field = f"spec.template.spec.containers[{container.name}].env[MONGO_URL]"
        if var is None:
            yield r.fail(
                ctx,
                f"{workload.component} has no MONGO_URL",
                expected="secretKeyRef key mongo-uri",
                found="unset",
                workload=workload,
                field_path=field,
            )
        elif var.secret_name is None:
            # never echo a literal value: it may hold credentials
            yield r.fail(
                ctx,
                f"{workload.component} MONGO_URL is a literal value, not a secret reference",
                expected="secretKeyRef key mongo-uri",
                found="a plain value (hidden)",
                workload=workload,
                field_path=field,
            )
        elif var.secret_key != "mongo-uri":
            yield r.fail(
                ctx,
                f"{workload.component} MONGO_URL reads key {var.secret_key!r}, not mongo-uri",
                expected="key mongo-uri",
                found=var.describe,
                workload=workload,
                field_path=field,
            )
        elif not _secret_known(ctx, var.secret_name, "mongo-uri", existing):
            yield r.fail(
                ctx,
                f"{workload.component} MONGO_URL names secret {var.secret_name!r}, which the release does "
                "not create with key mongo-uri and existingMongodbSecret does not name",
                expected="a Secret with key mongo-uri",
                found=var.describe,
                workload=workload,
                field_path=field,
            )


def _env_everywhere(ctx: RenderedContext, name: str) -> Iterable[tuple[Workload, str, EnvVar]]:
    for workload in ctx.topology.workloads:
        for container in workload.containers:
            var = container.env_var(name)
            if var is not None:
                yield workload, container.name, var


@rule(
    "env.retry-enabled",
    title="RETRY_ENABLED, when set, is exactly 'true'",
    severity=Severity.WARNING,
    contract="CONTRACT.md > Wiring: known env-value traps: RETRY_ENABLED: 'yes' (the server only honours 'true')",
    fix="set RETRY_ENABLED to the string 'true'",
    basis="server code",
)
def rule_retry_enabled_value(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    for workload, container, var in _env_everywhere(ctx, "RETRY_ENABLED"):
        if var.secret_name is None and var.value != "true":
            patch = (
                f"- {{op: test, path: /spec/template/spec/containers/{_index(workload, container)}/name, "
                f"value: {container}}}\n"
                f"- {{op: replace, path: /spec/template/spec/containers/{_index(workload, container)}/env/"
                f"{_env_index(workload, container, 'RETRY_ENABLED')}/value, value: 'true'}}"
            )
            yield r.fail(
                ctx,
                f"{workload.ref} sets RETRY_ENABLED={var.value!r}; the server honours only 'true'",
                expected="'true'",
                found=var.describe,
                workload=workload,
                field_path=f"spec.template.spec.containers[{container}].env[RETRY_ENABLED]",
                remedy=remedy_for(
                    ctx, workload, keys=(), pattern=r"name:\s*RETRY_ENABLED\b", following=1, patch=patch
                ),
            )


def _containers(workload: Workload) -> list[dict]:
    spec = workload.manifest.body.get("spec", {}).get("template", {}).get("spec", {})
    return list(spec.get("containers") or [])


def _index(workload: Workload, container: str) -> int:
    """The container's index in the pod spec (a JSON patch path names it by index)."""
    names = [c.get("name") for c in _containers(workload)]
    return names.index(container) if container in names else 0


def _env_index(workload: Workload, container: str, name: str) -> int:
    """The index of env ``name`` in the container (the last one: the one the kubelet uses)."""
    for c in _containers(workload):
        if c.get("name") == container:
            names = [e.get("name") for e in c.get("env") or []]
            return len(names) - 1 - names[::-1].index(name) if name in names else 0
    return 0


@rule(
    "env.db-watchers",
    title="no DB_WATCHERS env (the server reads DISABLE_DB_WATCHERS)",
    severity=Severity.WARNING,
    contract="CONTRACT.md > Wiring: known env-value traps: DB_WATCHERS (the server reads DISABLE_DB_WATCHERS)",
    fix="rename DB_WATCHERS to DISABLE_DB_WATCHERS (with the inverted meaning)",
    basis="server code",
)
def rule_db_watchers_name(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    for workload, container, _var in _env_everywhere(ctx, "DB_WATCHERS"):
        yield r.fail(
            ctx,
            f"{workload.ref} sets DB_WATCHERS, which the server never reads",
            expected="DISABLE_DB_WATCHERS",
            found="DB_WATCHERS",
            workload=workload,
            field_path=f"spec.template.spec.containers[{container}].env[DB_WATCHERS]",
        )
