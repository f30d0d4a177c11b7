"""What the live rules read: a snapshot of one namespace, and the observations made around it.

A :class:`LiveState` is one list (through the Kubernetes client) of every kind the rules need, with the
topology model built from the live Deployments/StatefulSets/Services/Ingresses (components recognised
by image, exactly as in the static lane). Secret values stay in memory for resolving
``secretKeyRef`` env vars and are never printed.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from ..expectations import Expectations
from ..render import Manifest
from ..topology import ComponentMatcher, Topology, build_topology

SNAPSHOT_KINDS = (
    "Deployment",
    "StatefulSet",
    "ReplicaSet",
    "Pod",
    "Service",
    "EndpointSlice",
    "Ingress",
    "Secret",
    "PersistentVolumeClaim",
    "HorizontalPodAutoscaler",
)
TOPOLOGY_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Service", "Ingress", "HorizontalPodAutoscaler")
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def live_manifest(obj: dict[str, Any]) -> Manifest:
    meta = obj.get("metadata") or {}
    return Manifest(
        str(obj.get("apiVersion", "")),
        str(obj.get("kind", "")),
        str(meta.get("name", "")),
        str(meta.get("namespace", "")),
        "",
        obj,
    )


@dataclass(frozen=True)
class Endpoint:
    """One EndpointSlice endpoint of a Service, for one slice port."""

    service: str
    address: str
    ready: bool
    pod: str | None  # targetRef name when it is a Pod
    port_name: str
    port: int | None


@dataclass
class LiveState:
    namespace: str
    items: dict[str, list[dict[str, Any]]]  # kind -> objects
    matcher: ComponentMatcher = field(default_factory=ComponentMatcher)
    _topology: Topology | None = field(default=None, repr=False)

    @classmethod
    def from_list(cls, namespace: str, listing: dict[str, Any], matcher: ComponentMatcher) -> LiveState:
        items: dict[str, list[dict[str, Any]]] = {}
        for obj in listing.get("items") or []:
            items.setdefault(str(obj.get("kind", "")), []).append(obj)
        return cls(namespace, items, matcher)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return self.items.get(kind, [])

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        return next((o for o in self.of(kind) if (o.get("metadata") or {}).get("name") == name), None)

    @property
    def topology(self) -> Topology:
        """The topology of the live objects (ReplicaSets and Pods left out: they belong to workloads)."""
        if self._topology is None:
            objects = [live_manifest(o) for kind in TOPOLOGY_KINDS for o in self.of(kind)]
            self._topology = build_topology(objects, self.matcher)
        return self._topology

    # -- pods --------------------------------------------------------------------------------------
    def pod_component(self, pod: dict[str, Any]) -> str | None:
        return self.matcher.component_of_pod(pod)

    def pods(self, component: str | None = None) -> list[dict[str, Any]]:
        pods = [p for p in self.of("Pod") if not (p.get("metadata") or {}).get("deletionTimestamp")]
        return pods if component is None else [p for p in pods if self.pod_component(p) == component]

    def pods_owned_by(self, kind: str, name: str) -> list[dict[str, Any]]:
        """Pods of a Deployment (through its ReplicaSets) or a StatefulSet."""
        owners = {(kind, name)}
        if kind == "Deployment":
            owners = {
                ("ReplicaSet", rs["metadata"]["name"])
                for rs in self.of("ReplicaSet")
                if any(
                    o.get("kind") == "Deployment" and o.get("name") == name
                    for o in rs["metadata"].get("ownerReferences") or []
                )
            }
        return [
            p
            for p in self.of("Pod")
            if any(
                (o.get("kind"), o.get("name")) in owners for o in p["metadata"].get("ownerReferences") or []
            )
        ]

    def replica_sets_of(self, deployment: str) -> list[dict[str, Any]]:
        return [
            rs
            for rs in self.of("ReplicaSet")
            if any(
                o.get("kind") == "Deployment" and o.get("name") == deployment
                for o in rs["metadata"].get("ownerReferences") or []
            )
        ]

    # -- services ----------------------------------------------------------------------------------
    def endpoints(self, service: str) -> list[Endpoint]:
        found = []
        for eps in self.of("EndpointSlice"):
            if ((eps.get("metadata") or {}).get("labels") or {}).get(SERVICE_NAME_LABEL) != service:
                continue
            ports = eps.get("ports") or [{"name": "", "port": None}]
            for endpoint in eps.get("endpoints") or []:
                ref = endpoint.get("targetRef") or {}
                ready = bool((endpoint.get("conditions") or {}).get("ready"))
                for address in endpoint.get("addresses") or []:
                    for port in ports:
                        found.append(
                            Endpoint(
                                service,
                                address,
                                ready,
                                ref.get("name") if ref.get("kind") == "Pod" else None,
                                str(port.get("name") or ""),
                                port.get("port"),
                            )
                        )
        return found

    def secret_value(self, name: str, key: str) -> str | None:
        secret = self.get("Secret", name)
        if secret is None:
            return None
        if key in (secret.get("stringData") or {}):
            return str(secret["stringData"][key])
        raw = (secret.get("data") or {}).get(key)
        if raw is None:
            return None
        try:
            return base64.b64decode(raw).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None

    def uid(self, kind: str, name: str) -> str | None:
        obj = self.get(kind, name)
        return (obj.get("metadata") or {}).get("uid") if obj else None


@dataclass(frozen=True)
class PodChange:
    """Pods and ReplicaSets before and after an upgrade that should have replaced nothing."""

    before: dict[str, str]  # pod name -> uid
    after: dict[str, str]
    replica_sets_before: dict[str, str]  # deployment -> newest ReplicaSet name
    replica_sets_after: dict[str, str]
    description: str  # what the upgrade was


@dataclass(frozen=True)
class PodTimeline:
    """How many pods of one component existed at once while an upgrade ran (watched, not sampled)."""

    component: str
    peak: int
    peak_pods: tuple[str, ...]
    timeline: tuple[str, ...]  # "+1.23s ADDED pod-x (2 exist)"
    replaced: bool  # a pod of the component was created during the watch (the rollout happened)
    description: str
    points: tuple[
        tuple[float, int, str, str], ...
    ] = ()  # (seconds, pods existing, event, pod): the step chart


WEBSOCKET_ROUTES = ("/websocket", "/sockjs")  # CONTRACT.md > Wiring: the routes that must reach ddp-streamer
NOT_ANSWERED = "none"  # a route on which no DDP "connected" came back


@dataclass(frozen=True)
class UpgradeOutcome:
    """A real ``helm upgrade`` from one side to another, and what the render-time lane predicted."""

    pair: str
    from_label: str
    to_label: str
    accepted: bool
    error: str  # helm's error line when rejected (redacted)
    predicted_rejections: tuple[str, ...]  # upgrade.immutable-fields findings (one line each)
    before: LiveState
    after: LiveState | None
    # WebSocket route -> the component whose DDP answered it through the ingress, before and after the
    # upgrade ("ddp-streamer", "monolith", "unknown", "none"); empty where no pod runs (KWOK)
    websocket_before: dict[str, str] = field(default_factory=dict)
    websocket_after: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LiveView:
    """Everything the live rules read for one release."""

    release: str
    namespace: str
    state: LiveState | None  # the release as observed (after install and rollout, or as found by the audit)
    release_topology: Topology | None  # from the release's own manifest (helm get manifest)
    expectations: Expectations | None
    rollout_error: str = ""  # the install or its rollout failed: the reason
    restart: PodChange | None = None
    hub: PodTimeline | None = None
    upgrade: UpgradeOutcome | None = None
    audit: bool = False
