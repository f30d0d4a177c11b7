"""The service topology of a rendered release: workloads, pods, Services, Ingress routes, autoscalers.

Components are recognised by container image (and container name), never by resource name, so the
same model fits the real rocketchat chart and the reference chart (CONTRACT.md, "Components").
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .render import Manifest

MONOLITH = "monolith"
AUTHORIZATION = "authorization"
ACCOUNTS = "accounts"
PRESENCE = "presence"
DDP_STREAMER = "ddp-streamer"
STREAM_HUB = "stream-hub"
NATS = "nats"
MONGODB = "mongodb"

MICROSERVICES = (AUTHORIZATION, ACCOUNTS, PRESENCE, DDP_STREAMER, STREAM_HUB)
BUS_CLIENTS = (MONOLITH,) + MICROSERVICES  # every pod that gets TRANSPORTER and MONGO_URL

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")

# CONTRACT.md > Components: where a component's process listens when its env does not say otherwise
# (monolith and ddp-streamer serve HTTP on 3000, moved by PORT; nats: client 4222, monitor 8222).
DEFAULT_LISTEN_PORTS = {MONOLITH: (3000,), DDP_STREAMER: (3000,), NATS: (4222, 8222)}
HTTP_PORT_COMPONENTS = (MONOLITH, DDP_STREAMER)


@dataclass(frozen=True)
class ComponentMatcher:
    """Image repository globs (matched against the repository without registry) per component."""

    patterns: tuple[tuple[str, tuple[str, ...]], ...] = (
        (AUTHORIZATION, ("*rocketchat/authorization-service",)),
        (ACCOUNTS, ("*rocketchat/account-service",)),
        (PRESENCE, ("*rocketchat/presence-service",)),
        (DDP_STREAMER, ("*rocketchat/ddp-streamer-service",)),
        (STREAM_HUB, ("*rocketchat/stream-hub-service",)),
        (MONOLITH, ("*rocketchat/rocket.chat", "*rocketchat/quickmeet.chat")),
        (NATS, ("nats", "*/nats")),
        (MONGODB, ("mongo", "*/mongo", "mongodb", "*/mongodb")),
    )

    def with_overrides(self, overrides: dict[str, str]) -> ComponentMatcher:
        """``{"monolith": "myregistry/chat"}`` adds a pattern for a component (e.g. a custom image)."""
        patterns = dict(self.patterns)
        for component, pattern in overrides.items():
            patterns[component] = (pattern,) + patterns.get(component, ())
        return ComponentMatcher(tuple(patterns.items()))

    def component_of_image(self, image: str) -> str | None:
        repository = image_repository(image)
        for component, globs in self.patterns:
            if any(fnmatch.fnmatchcase(repository, g) for g in globs):
                return component
        return None

    def component_of_pod(self, pod: dict[str, Any]) -> str | None:
        """The component a pod runs: that of the first of its containers whose image is recognised."""
        for container in (pod.get("spec") or {}).get("containers") or []:
            component = self.component_of_image(str(container.get("image", "")))
            if component:
                return component
        return None


def image_repository(image: str) -> str:
    """``registry.io/a/b:tag@sha`` -> ``registry.io/a/b``."""
    ref = image.split("@", 1)[0]
    last_slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > last_slash:
        ref = ref[:colon]
    return ref


def image_tag(image: str) -> str:
    ref = image.split("@", 1)[0]
    last_slash = ref.rfind("/")
    colon = ref.rfind(":")
    return ref[colon + 1 :] if colon > last_slash else "latest"


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str | None = None
    secret_name: str | None = None
    secret_key: str | None = None
    other_source: str | None = None  # configMapKeyRef / fieldRef / resourceFieldRef

    @property
    def describe(self) -> str:
        if self.secret_name is not None:
            return f"secretKeyRef {self.secret_name}/{self.secret_key}"
        if self.other_source:
            return self.other_source
        return repr(self.value)


@dataclass(frozen=True)
class ContainerPort:
    name: str
    port: int
    protocol: str = "TCP"


@dataclass(frozen=True)
class ListeningPort:
    """A port the component's process listens on, and how we know: a declared containerPort, a PORT-like
    env value, or the component's known default."""

    port: int
    name: str = ""  # the declared container port name ('' when undeclared)
    source: str = "declared containerPort"


def _is_port_env(name: str) -> bool:
    upper = name.upper()
    return upper == "PORT" or upper.endswith("_PORT")


@dataclass(frozen=True)
class Container:
    name: str
    image: str
    ports: tuple[ContainerPort, ...]
    env: tuple[EnvVar, ...]
    has_resources: bool
    env_from: tuple[str, ...] = ()

    def env_var(self, name: str) -> EnvVar | None:
        for var in self.env:
            if var.name == name:
                return var
        return None

    def port_named(self, name: str) -> ContainerPort | None:
        return next((p for p in self.ports if p.name == name), None)

    def port_numbered(self, number: int) -> ContainerPort | None:
        return next((p for p in self.ports if p.port == number), None)

    def env_ports(self) -> tuple[tuple[str, int], ...]:
        """(env name, port) for every PORT-like env var with a literal numeric value (PORT, MS_METRICS_PORT)."""
        return tuple(
            (v.name, int(v.value)) for v in self.env if _is_port_env(v.name) and v.value and v.value.isdigit()
        )


@dataclass(frozen=True)
class Workload:
    kind: str
    name: str
    component: str | None
    replicas: int | None  # None: field absent (Kubernetes default 1, or an HPA decides)
    selector: dict[str, str]
    selector_expressions: tuple[dict[str, Any], ...]
    pod_labels: dict[str, str]
    containers: tuple[Container, ...]
    strategy: dict[str, Any]
    source: str
    manifest: Manifest = field(repr=False, compare=False, hash=False)
    component_container: str = ""  # name of the container whose image made it this component

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def effective_replicas(self) -> int:
        return 1 if self.replicas is None else self.replicas

    @property
    def main_container(self) -> Container | None:
        return self.containers[0] if self.containers else None

    def container_of(self, component: str | None, matcher: ComponentMatcher) -> Container:
        """:meth:`container_for` where a container must exist: a workload recognised as a component has the
        container whose image made it one (a workload without containers is a bug worth an error finding)."""
        container = self.container_for(component, matcher)
        if container is None:
            raise ValueError(f"{self.ref} has no container")
        return container

    def container_for(self, component: str | None, matcher: ComponentMatcher) -> Container | None:
        for container in self.containers:
            if matcher.component_of_image(container.image) == component:
                return container
        return self.main_container

    def all_ports(self) -> tuple[ContainerPort, ...]:
        return tuple(p for c in self.containers for p in c.ports)

    def http_port(self) -> int | None:
        """Where the monolith's or ddp-streamer's HTTP server listens: its PORT env, else 3000."""
        if self.component not in HTTP_PORT_COMPONENTS:
            return None
        main = self.component_main_container
        moved = [port for name, port in (main.env_ports() if main else ()) if name.upper() == "PORT"]
        return moved[0] if moved else 3000

    @property
    def component_main_container(self) -> Container | None:
        return next((c for c in self.containers if c.name == self.component_container), self.main_container)

    def listening_ports(self) -> tuple[ListeningPort, ...]:
        """Where this workload's processes listen, declared or not: declared container ports, PORT-like env
        values of the component's container, and the component's default ports (HTTP 3000 unless PORT
        moves it). A numeric Service targetPort needs no declared containerPort to reach them; a declared
        ``http`` port of the monolith or ddp-streamer counts only where PORT puts the server."""
        http = self.http_port()
        found = [
            ListeningPort(p.port, p.name)
            for p in self.all_ports()
            if not (http and p.name == "http" and p.port != http)
        ]
        main = self.component_main_container
        found += [ListeningPort(port, "", f"env {name}") for name, port in (main.env_ports() if main else ())]
        for port in DEFAULT_LISTEN_PORTS.get(self.component or "", ()):
            if self.component not in HTTP_PORT_COMPONENTS or port == http:
                found.append(ListeningPort(port, "", f"{self.component} default (CONTRACT.md > Components)"))
        return tuple(found)

    def listening_port_for(self, target: int | str) -> ListeningPort | None:
        """Where a Service targetPort lands: a name resolves only through a declared container port of that
        name (as Kubernetes does); a number to any port the process listens on."""
        ports = self.listening_ports()
        if isinstance(target, str) and not target.isdigit():
            return next((p for p in ports if p.name == target and p.source == "declared containerPort"), None)
        return next((p for p in ports if p.port == int(target)), None)


_TRANSPORTER = re.compile(
    r"^(?P<scheme>(monolith\+)?nats)://(?:[^@/]*@)?(?P<host>[^:/,]+)(?::(?P<port>\d+))?"
)
_CLUSTER_SUFFIX = re.compile(r"(\.[a-z0-9-]+)?(\.svc(\.cluster\.local)?)?$")


@dataclass(frozen=True)
class TransporterAddress:
    scheme: str
    host: str  # the Service name (namespace and cluster suffix removed)
    port: int


def parse_transporter(value: str) -> TransporterAddress | None:
    """``nats://user:pw@rocketchat-nats.ns.svc:4222`` -> (nats, rocketchat-nats, 4222); None if not nats://."""
    match = _TRANSPORTER.match(value or "")
    if not match:
        return None
    host = _CLUSTER_SUFFIX.sub("", match.group("host"), count=1)
    return TransporterAddress(match.group("scheme"), host, int(match.group("port") or 4222))


@dataclass(frozen=True)
class ServicePort:
    name: str
    port: int
    target_port: int | str


@dataclass(frozen=True)
class Service:
    name: str
    selector: dict[str, str]
    ports: tuple[ServicePort, ...]
    type: str
    cluster_ip: str | None
    source: str

    @property
    def ref(self) -> str:
        return f"Service/{self.name}"

    def port_by(self, *, name: str | None = None, number: int | None = None) -> ServicePort | None:
        for port in self.ports:
            if name is not None and port.name == name:
                return port
            if number is not None and port.port == number:
                return port
        return None


@dataclass(frozen=True)
class Route:
    ingress: str
    host: str
    path: str
    path_type: str
    service: str
    port_name: str | None
    port_number: int | None
    source: str

    @property
    def port_label(self) -> str:
        return self.port_name if self.port_name else str(self.port_number)


@dataclass(frozen=True)
class IngressInfo:
    name: str
    class_name: str | None
    class_annotation: str | None
    tls_hosts: tuple[str, ...]
    routes: tuple[Route, ...]
    source: str
    tls_entries: tuple[
        tuple[str, ...], ...
    ] = ()  # hosts per spec.tls entry (empty: the controller's default)


@dataclass(frozen=True)
class Autoscaler:
    name: str
    target_kind: str
    target_name: str
    min_replicas: int | None
    max_replicas: int | None


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


@dataclass(frozen=True)
class Topology:
    workloads: tuple[Workload, ...]
    services: tuple[Service, ...]
    ingresses: tuple[IngressInfo, ...]
    autoscalers: tuple[Autoscaler, ...]
    pdbs: tuple[tuple[str, dict[str, str]], ...]
    secrets: tuple[tuple[str, tuple[str, ...]], ...]  # (name, keys): never the values
    manifests: tuple[Manifest, ...] = field(repr=False)

    def components(self, component: str) -> list[Workload]:
        return [w for w in self.workloads if w.component == component]

    def component(self, component: str) -> Workload | None:
        found = self.components(component)
        return found[0] if found else None

    def services_selecting(self, workload: Workload) -> list[Service]:
        return [s for s in self.services if _selects(s.selector, workload.pod_labels)]

    def workloads_selected_by(self, service: Service) -> list[Workload]:
        return [w for w in self.workloads if _selects(service.selector, w.pod_labels)]

    def service(self, name: str) -> Service | None:
        return next((s for s in self.services if s.name == name), None)

    def secret_keys(self, name: str) -> tuple[str, ...] | None:
        return next((keys for n, keys in self.secrets if n == name), None)

    def routes(self) -> list[Route]:
        return [r for ing in self.ingresses for r in ing.routes]

    def autoscalers_for(self, workload: Workload) -> list[Autoscaler]:
        return [
            a for a in self.autoscalers if a.target_kind == workload.kind and a.target_name == workload.name
        ]


def _map(node: Any, key: str) -> dict[str, Any]:
    """``node[key]`` when both are maps, else ``{}``: rendered manifests may hold anything (``tls: [null]``)."""
    value = node.get(key) if isinstance(node, dict) else None
    return value if isinstance(value, dict) else {}


def _seq(node: Any, key: str) -> list[dict[str, Any]]:
    """The map items of the list ``node[key]``, else ``[]``."""
    value = node.get(key) if isinstance(node, dict) else None
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _target_port(port: dict[str, Any]) -> int | str:
    """A Service port's targetPort (a number or a container port's name); the port itself when unset."""
    value = port.get("targetPort", port.get("port", 0))
    return value if isinstance(value, (int, str)) else 0


def _int(value: Any) -> int:
    """A port number as rendered; anything else (a template slip such as "abc" or null) counts as 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else 0


def _scalars(node: Any, key: str) -> list[str]:
    value = node.get(key) if isinstance(node, dict) else None
    return (
        [str(item) for item in value if isinstance(item, (str, int, float))]
        if isinstance(value, list)
        else []
    )


def _env(container: dict[str, Any]) -> tuple[EnvVar, ...]:
    result = []
    for item in _seq(container, "env"):
        if not isinstance(item, dict) or "name" not in item:
            continue
        source = _map(item, "valueFrom")
        if "secretKeyRef" in source:
            ref = _map(source, "secretKeyRef")
            result.append(EnvVar(item["name"], secret_name=ref.get("name"), secret_key=ref.get("key")))
        elif source:
            result.append(EnvVar(item["name"], other_source=next(iter(source))))
        else:
            value = item.get("value")
            result.append(EnvVar(item["name"], value=None if value is None else str(value)))
    return tuple(result)


def _containers(pod_spec: dict[str, Any]) -> tuple[Container, ...]:
    containers = []
    for c in _seq(pod_spec, "containers"):
        ports = tuple(
            ContainerPort(str(p.get("name", "")), _int(p.get("containerPort")), str(p.get("protocol", "TCP")))
            for p in _seq(c, "ports")
            if isinstance(p, dict)
        )
        env_from = tuple(
            str((_map(e, "secretRef") or _map(e, "configMapRef")).get("name", "")) for e in _seq(c, "envFrom")
        )
        containers.append(
            Container(
                name=str(c.get("name", "")),
                image=str(c.get("image", "")),
                ports=ports,
                env=_env(c),
                has_resources=bool(c.get("resources")),
                env_from=env_from,
            )
        )
    return tuple(containers)


def _workload(m: Manifest, matcher: ComponentMatcher) -> Workload:
    spec = _map(m.body, "spec")
    template = _map(spec, "template")
    pod_spec = _map(template, "spec")
    containers = _containers(pod_spec)
    component = None
    component_container = ""
    for container in containers:
        component = matcher.component_of_image(container.image)
        if component:
            component_container = container.name
            break
    selector = _map(spec, "selector")
    strategy = _map(spec, "strategy") or _map(spec, "updateStrategy")
    replicas = spec.get("replicas")
    return Workload(
        kind=m.kind,
        name=m.name,
        component=component,
        replicas=int(replicas) if isinstance(replicas, (int, float)) else None,
        selector={str(k): str(v) for k, v in _map(selector, "matchLabels").items()},
        selector_expressions=tuple(_seq(selector, "matchExpressions")),
        pod_labels={str(k): str(v) for k, v in _map(_map(template, "metadata"), "labels").items()},
        containers=containers,
        strategy=strategy,
        source=m.source,
        manifest=m,
        component_container=component_container,
    )


def _service(m: Manifest) -> Service:
    spec = _map(m.body, "spec")
    ports = tuple(
        ServicePort(str(p.get("name", "")), _int(p.get("port")), _target_port(p))
        for p in _seq(spec, "ports")
        if isinstance(p, dict)
    )
    return Service(
        name=m.name,
        selector={str(k): str(v) for k, v in _map(spec, "selector").items()},
        ports=ports,
        type=str(spec.get("type", "ClusterIP")),
        cluster_ip=spec.get("clusterIP"),
        source=m.source,
    )


def _ingress(m: Manifest) -> IngressInfo:
    spec = _map(m.body, "spec")
    routes = []
    for rule in _seq(spec, "rules"):
        host = str(rule.get("host", ""))
        for path in _seq(_map(rule, "http"), "paths"):
            backend = _map(_map(path, "backend"), "service")
            port = _map(backend, "port")
            routes.append(
                Route(
                    ingress=m.name,
                    host=host,
                    path=str(path.get("path", "/")),
                    path_type=str(path.get("pathType", "")),
                    service=str(backend.get("name", "")),
                    port_name=port.get("name"),
                    port_number=port.get("number"),
                    source=m.source,
                )
            )
    tls_entries = tuple(tuple(_scalars(t, "hosts")) for t in _seq(spec, "tls"))
    tls_hosts = tuple(h for hosts in tls_entries for h in hosts)
    annotations = _map(_map(m.body, "metadata"), "annotations")
    return IngressInfo(
        name=m.name,
        class_name=spec.get("ingressClassName"),
        class_annotation=annotations.get("kubernetes.io/ingress.class"),
        tls_hosts=tls_hosts,
        routes=tuple(routes),
        source=m.source,
        tls_entries=tls_entries,
    )


def build_topology(manifests: Iterable[Manifest], matcher: ComponentMatcher | None = None) -> Topology:
    matcher = matcher or ComponentMatcher()
    manifests = tuple(manifests)
    workloads, services, ingresses, autoscalers, pdbs, secrets = [], [], [], [], [], []
    for m in manifests:
        if m.kind in WORKLOAD_KINDS:
            workloads.append(_workload(m, matcher))
        elif m.kind == "Service":
            services.append(_service(m))
        elif m.kind == "Ingress":
            ingresses.append(_ingress(m))
        elif m.kind == "HorizontalPodAutoscaler":
            spec = _map(m.body, "spec")
            target = _map(spec, "scaleTargetRef")
            autoscalers.append(
                Autoscaler(
                    m.name,
                    str(target.get("kind", "")),
                    str(target.get("name", "")),
                    spec.get("minReplicas"),
                    spec.get("maxReplicas"),
                )
            )
        elif m.kind == "PodDisruptionBudget":
            sel = _map(_map(_map(m.body, "spec"), "selector"), "matchLabels")
            pdbs.append((m.name, dict(sel)))
        elif m.kind == "Secret":
            keys = set(_map(m.body, "data").keys()) | set(_map(m.body, "stringData").keys())
            secrets.append((m.name, tuple(sorted(keys))))
    return Topology(
        workloads=tuple(workloads),
        services=tuple(services),
        ingresses=tuple(ingresses),
        autoscalers=tuple(autoscalers),
        pdbs=tuple(pdbs),
        secrets=tuple(secrets),
        manifests=manifests,
    )
