"""The MongoDB a release names outside itself (``externalMongodbUrl``), started by the kind lane beside it.

A values file that turns the bundled MongoDB off points every component at a server the customer runs
(``mongodb://rocketchat:pw@mongo-0.mongo:27017/rocketchat?replicaSet=rs0``). On kind nobody runs it, so the
stand-ins (which connect to ``MONGO_URL`` first, as the real services do) would stop, and a correct release
would look broken. The lane therefore starts the same MongoDB-protocol server it runs for the bundled
subchart (FerretDB v1, ``localhost/qmc/mongodb:local``), configured only from what the URLs name: the host
(a Service and, for ``pod.service``, a pod of that name behind a headless Service), the port, the replica
set and every user with its password and authentication database. A URL the server would refuse stays
refused: two URLs that disagree on a password get the first one's.

Only names of the release's namespace (``svc``, ``pod.svc``, ``...svc.<ns>.svc[.cluster.local]`` with the
release's namespace) are served: another namespace's name, a DNS name outside the cluster or a
``mongodb+srv://`` URL is left alone and said so on the case's log. The objects carry
:data:`OUTSIDE_LABEL`: the live snapshot leaves them out, as they are not the release's.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from ..connections.gather import gather
from ..connections.model import MongoClient, MongoUser
from ..topology import MONGODB, ComponentMatcher, Topology

OUTSIDE_LABEL = "qmc.conformance/outside-release"
ROOT_USER = "qmc-root"  # the lane's own administrator, when no URL names a user of the admin database


@dataclass(frozen=True)
class ExternalMongo:
    """One server to start: where the URLs look for it and what they present (passwords kept out of repr)."""

    namespace: str
    service: str
    pod: str | None  # the hostname under a headless Service (``mongo-0`` of ``mongo-0.mongo``)
    port: int
    replica_set: str | None
    users: tuple[MongoUser, ...] = field(repr=False)
    readers: tuple[str, ...] = ()  # "MONGO_URL of Deployment/x", for the log

    @property
    def host(self) -> str:
        return f"{self.pod}.{self.service}" if self.pod else self.service

    @property
    def advertised(self) -> str:
        """The name FerretDB listens on and reports in ``hello`` (the driver follows it)."""
        return f"{self.host}.{self.namespace}.svc.cluster.local"

    def describe(self) -> str:
        rs = f"replica set {self.replica_set}" if self.replica_set else "standalone"
        users = ", ".join(f"{u.name}@{u.database}" for u in self.users) or "no authentication"
        return f"{self.host}:{self.port} ({rs}; users {users}) for {', '.join(self.readers)}"


def cluster_name(host: str, namespace: str) -> tuple[str, str | None] | None:
    """``(service, pod)`` a host names in ``namespace``'s cluster DNS, or None (another namespace, not a
    cluster name). Two labels read as ``pod.service``: the first search domain a pod's resolver tries."""
    labels = host.lower().rstrip(".").split(".")
    if "svc" in labels:
        head = labels[: labels.index("svc")]
        if len(head) < 2 or head[-1] != namespace:
            return None
        labels = head[:-1]
    if len(labels) == 1:
        return labels[0], None
    if len(labels) == 2:
        return labels[1], labels[0]
    return None


def _user(client: MongoClient) -> MongoUser | None:
    if client.username is None:
        return None
    password = client.node_password if client.node_password is not None else client.password
    return MongoUser(client.username, client.effective_auth_db, password)


def plan(
    topology: Topology, values: Any, *, release: str, namespace: str, matcher: ComponentMatcher
) -> tuple[list[ExternalMongo], list[str]]:
    """The servers to start for a rendered case, and one line per URL left alone (why)."""
    notes: list[str] = []
    found: dict[tuple[str, str | None, int], dict[str, Any]] = {}
    for client in gather(topology, values, release=release, namespace=namespace, matcher=matcher).mongo:
        if not isinstance(client, MongoClient):
            notes.append(f"external MongoDB not started for {client.source.describe}: {client.reason}")
            continue
        if client.error:
            continue  # the driver refuses it: nothing to serve, the stand-ins say why
        outside = [h for h in client.hosts if h.outside or (h.service is None and not h.missing)]
        if not outside:
            continue  # the release's own MongoDB
        if client.srv:
            notes.append(
                f"external MongoDB not started for {client.source.describe}: mongodb+srv:// (no SRV)"
            )
            continue
        served = [(h, cluster_name(h.host, namespace)) for h in outside]
        for h, name in served:
            if name is None:
                notes.append(
                    f"external MongoDB not started at {h.host}:{h.port} ({client.source.env}): not a name of "
                    f"namespace {namespace} in the cluster's DNS"
                )
        first = next(((h, n) for h, n in served if n is not None), None)
        if first is None:
            continue
        (h, (service, pod)) = first
        entry = found.setdefault(
            (service, pod, h.port), {"replica_set": client.replica_set, "users": {}, "readers": []}
        )
        user = _user(client)
        if user is not None:
            entry["users"].setdefault((user.name, user.database), user)
        entry["readers"].append(f"{client.source.env} of {', '.join(client.source.workloads)}")
    servers = [
        ExternalMongo(
            namespace, service, pod, port, e["replica_set"], tuple(e["users"].values()), tuple(e["readers"])
        )
        for (service, pod, port), e in found.items()
    ]
    return servers, notes


def _env(server: ExternalMongo, secret: str) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The bitnami container's env for ``server`` and the Secret data behind its passwords."""
    env: list[dict[str, Any]] = [
        {"name": "MONGODB_PORT_NUMBER", "value": str(server.port)},
        {"name": "MONGODB_ADVERTISED_HOSTNAME", "value": server.advertised},
    ]
    if server.replica_set:
        env += [
            {"name": "MONGODB_REPLICA_SET_MODE", "value": "primary"},
            {"name": "MONGODB_REPLICA_SET_NAME", "value": server.replica_set},
        ]
    data: dict[str, str] = {}
    if not server.users:
        env.append({"name": "ALLOW_EMPTY_PASSWORD", "value": "yes"})
        return env, data
    root = next((u for u in server.users if u.database == "admin"), None)
    others = [u for u in server.users if u is not root]
    data["root-password"] = (root.password if root else None) or secrets.token_hex(12)

    def from_secret(name: str, key: str) -> dict[str, Any]:
        return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}

    env += [{"name": "MONGODB_ROOT_USER", "value": root.name if root else ROOT_USER}]
    env.append(from_secret("MONGODB_ROOT_PASSWORD", "root-password"))
    if others:
        data["passwords"] = ",".join(u.password or "" for u in others)
        env += [
            {"name": "MONGODB_EXTRA_USERNAMES", "value": ",".join(u.name for u in others)},
            {"name": "MONGODB_EXTRA_DATABASES", "value": ",".join(u.database for u in others)},
            from_secret("MONGODB_EXTRA_PASSWORDS", "passwords"),
        ]
    return env, data


def manifests(server: ExternalMongo, image: str) -> list[dict[str, Any]]:
    """Secret, headless Service and Pod of one server, labelled as outside the release."""
    name = f"{server.service}-{server.pod}" if server.pod else server.service
    secret = f"qmc-external-{name}"[:63]
    labels = {OUTSIDE_LABEL: "true", "app.kubernetes.io/name": MONGODB, "qmc.conformance/server": name[:63]}
    env, data = _env(server, secret)
    meta = {"namespace": server.namespace, "labels": labels}
    objects: list[dict[str, Any]] = []
    if data:
        objects.append(
            {"apiVersion": "v1", "kind": "Secret", "metadata": {**meta, "name": secret}, "stringData": data}
        )
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {**meta, "name": server.service},
            "spec": {
                "clusterIP": "None",  # headless: pod.service resolves; the name resolves to the pod
                "publishNotReadyAddresses": True,  # FerretDB waits for its own name before it listens
                "selector": {"qmc.conformance/server": labels["qmc.conformance/server"]},
                "ports": [{"name": "mongodb", "port": server.port, "targetPort": server.port}],
            },
        }
    )
    pod_spec: dict[str, Any] = {
        "containers": [
            {
                "name": "mongodb",
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "env": env,
                "ports": [{"name": "mongodb", "containerPort": server.port}],
                "readinessProbe": {"tcpSocket": {"port": server.port}, "periodSeconds": 2},
            }
        ],
        "terminationGracePeriodSeconds": 5,
    }
    if server.pod:
        pod_spec |= {"hostname": server.pod, "subdomain": server.service}
    objects.append(
        {"apiVersion": "v1", "kind": "Pod", "metadata": {**meta, "name": name[:63]}, "spec": pod_spec}
    )
    return objects


def is_outside(obj: dict[str, Any]) -> bool:
    """An object the lane started beside the release (not the release's: the snapshot leaves it out)."""
    return ((obj.get("metadata") or {}).get("labels") or {}).get(OUTSIDE_LABEL) == "true"
