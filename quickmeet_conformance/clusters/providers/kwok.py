"""A real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler)
run as local processes, with kwok standing in for the kubelets so pods become Running and Ready
without containers. Binaries come from ``scripts/build-control-plane.sh``.

What is real: API validation, admission, RBAC, the scheduler, every controller (Deployments,
StatefulSets, EndpointSlices, the PV binder, garbage collection). What is fake: nodes and the
containers on them (kwok's "fast" stages make every scheduled pod Ready with an IP at once).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quickmeet_conformance.clusters.base import (
    ClusterHandle,
    ClusterProvider,
    ProviderSettings,
)
from quickmeet_conformance.clusters.control_plane import (
    ControlPlaneBinaries,
    default_binaries_dir,
)
from quickmeet_conformance.clusters.processes import (
    ManagedProcess,
    free_loopback_ports,
    shutdown_guard,
    wait_for,
)
from quickmeet_conformance.clusters.registry import register_provider
from quickmeet_conformance.errors import ToolError

if TYPE_CHECKING:  # the client and the PKI (cryptography) are imported when a cluster starts
    from quickmeet_conformance.clusters.kubeclient import KubeClient
    from quickmeet_conformance.clusters.pki import KeyPair

KWOK_NODE_KEY = "kwok.x-k8s.io/node"
SERVICE_CIDR = "10.96.0.0/16"
KUBERNETES_SERVICE_IP = "10.96.0.1"
POD_CIDR = "10.244.0.0/16"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
STORAGE_CLASS = "standard"
KWOK_USER = "quickmeet:kwok-controller"
NODE_LEASE_DURATION_S = 40  # kubelet's default; kwok renews at a quarter of it
READONLY_NAMESPACE = "kube-system"
READONLY_ACCOUNT = "quickmeet-readonly"
# The live lane's cluster. Installs per run: ~10 values files x 2 helm majors, the upgrade pairs and the
# mutants, most with a MongoDB claim; namespaces are deleted as cases finish, but a Retain PV is reusable
# only after release_volumes().
LIVE_VOLUMES = 120
LIVE_NODES = 3
LIVE_MAX_PODS = 250


def node_name(index: int) -> str:
    return f"kwok-node-{index}"


@register_provider
class KwokClusterProvider(ClusterProvider):
    """Start a local control plane with ``nodes`` fake kwok nodes; stop() ends every process it started.

    Also created: StorageClass ``standard`` (default, no-provisioner, Immediate) backed by
    ``persistent_volumes`` pre-created hostPath PVs, and a default IngressClass with no controller
    (``ingress_class=None`` to leave it out). Start it from the thread that will stop it: children
    are killed by the kernel when the thread that started them exits (PR_SET_PDEATHSIG).
    """

    provider = "kwok"
    rank = 0
    owns_cluster = True
    requires = ("cryptography",)

    def __init__(
        self,
        workdir: str | os.PathLike[str] | None = None,
        binaries_dir: str | os.PathLike[str] | None = None,
        nodes: int = 3,
        *,
        name: str = "quickmeet-kwok",
        keep: bool = False,
        persistent_volumes: int = 30,
        volume_size: str = "20Gi",
        node_cpu: str = "32",
        node_memory: str = "128Gi",
        node_max_pods: int = 110,
        ingress_class: str | None = "nginx",
        start_timeout_s: float = 120.0,
        stop_timeout_s: float = 10.0,
    ) -> None:
        self.name = name
        self.nodes = nodes
        self.keep = keep
        self.persistent_volumes = persistent_volumes
        self.volume_size = volume_size
        self.node_capacity = {"cpu": node_cpu, "memory": node_memory, "pods": str(node_max_pods)}
        self.ingress_class = ingress_class
        self.start_timeout_s = start_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self.binaries_dir = Path(binaries_dir) if binaries_dir else default_binaries_dir()
        self._requested_workdir = Path(workdir) if workdir else None
        self.workdir: Path | None = None
        self._created_workdir = False
        self.processes: list[ManagedProcess] = []
        self._lock = threading.RLock()
        self._api: KubeClient | None = None
        self._ca: KeyPair | None = None
        self.server = ""
        self.handle: ClusterHandle | None = None

    @classmethod
    def for_live_lane(cls, settings: ProviderSettings) -> KwokClusterProvider:
        """Each xdist worker gets its own control plane: its processes die with the process that started them."""
        suffix = f"-{settings.worker}" if settings.worker else ""
        return cls(
            name=f"qmc-live{suffix}",
            nodes=LIVE_NODES,
            keep=settings.keep,
            persistent_volumes=LIVE_VOLUMES,
            node_max_pods=LIVE_MAX_PODS,
        )

    def running(self) -> bool:
        return self.handle is not None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> ClusterHandle:
        with self._lock:
            if self.handle is not None:
                return self.handle
            binaries = ControlPlaneBinaries.locate(self.binaries_dir)
            shutdown_guard.register(self)
            try:
                self.handle = self._start(binaries)
            except BaseException:
                self.stop()
                raise
            return self.handle

    def stop(self) -> None:
        """Stop processes newest-first by PID, then remove the workdir if we created it (unless keep)."""
        with self._lock:
            for process in reversed(self.processes):
                process.stop(timeout=self.stop_timeout_s)
            if self.workdir is not None and self._created_workdir and not self.keep:
                shutil.rmtree(self.workdir, ignore_errors=True)
            self.handle = None
            shutdown_guard.unregister(self)

    def pids(self) -> list[int]:
        return [p.pid for p in self.processes if p.pid is not None]

    def _make_workdir(self) -> Path:
        if self._requested_workdir is None:
            self._created_workdir = True
            return Path(tempfile.mkdtemp(prefix=f"qmc-{self.name}-"))
        self._created_workdir = not self._requested_workdir.exists()
        self._requested_workdir.mkdir(parents=True, exist_ok=True)
        return self._requested_workdir

    def _start(self, binaries: ControlPlaneBinaries) -> ClusterHandle:
        from quickmeet_conformance.clusters.kubeclient import KubeClient
        from quickmeet_conformance.clusters.pki import write_kubeconfig

        self.workdir = workdir = self._make_workdir()
        self.processes = []
        deadline = time.monotonic() + self.start_timeout_s
        etcd_port, etcd_peer_port, api_port = free_loopback_ports(3)
        self.server = f"https://127.0.0.1:{api_port}"
        pki = self._write_pki(workdir / "pki")
        self._ca = pki["ca"]
        self._api = KubeClient.for_server(
            self.server, pki["ca"].cert, cert_file=pki["admin"].cert, key_file=pki["admin"].key
        )
        kubeconfigs = {
            user: write_kubeconfig(
                workdir / f"{user}.kubeconfig",
                cluster=self.name,
                server=self.server,
                ca_cert=pki["ca"].cert,
                user=user,
                client=pki[user],
            )  # fmt: skip  # kept in the shape of the manifest it builds
            for user in ("admin", "controller-manager", "scheduler", "kwok")
        }

        etcd_url = f"http://127.0.0.1:{etcd_port}"
        self._launch(
            "etcd",
            [
                str(binaries.etcd), "--name", "qmc", "--data-dir", str(workdir / "etcd"),
                "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
                "--listen-peer-urls", f"http://127.0.0.1:{etcd_peer_port}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{etcd_peer_port}",
                "--initial-cluster", f"qmc=http://127.0.0.1:{etcd_peer_port}",
                "--initial-cluster-state", "new",
                "--unsafe-no-fsync",  # throwaway data: durability costs seconds per test run
                "--log-level", "warn",
            ],
        )  # fmt: skip  # argv: each flag beside its value
        self._wait("etcd healthy", lambda: _etcd_healthy(etcd_url), deadline)

        self._launch(
            "kube-apiserver",
            [
                str(binaries.kube_apiserver),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1", f"--secure-port={api_port}", "--advertise-address=127.0.0.1",
                f"--tls-cert-file={pki['apiserver'].cert}", f"--tls-private-key-file={pki['apiserver'].key}",
                f"--client-ca-file={pki['ca'].cert}",
                f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
                f"--service-account-key-file={pki['sa-public']}",
                f"--service-account-signing-key-file={pki['sa-private']}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=Node,RBAC",
                "--allow-privileged=true",
                # The "kubernetes" Service would point at 127.0.0.1, which Endpoints validation rejects.
                "--endpoint-reconciler-type=none",
                "--profiling=false",
                # No request throttling: fake nodes make the control plane the only load, and throttled
                # controllers stall rollouts for a minute after a few namespace deletions.
                "--max-requests-inflight=0", "--max-mutating-requests-inflight=0",
                "--enable-priority-and-fairness=false",
            ],
        )  # fmt: skip  # argv: each flag beside its value
        self._wait("kube-apiserver ready", self._api.ready, deadline)
        self._create_kwok_rbac()

        self._launch(
            "kube-controller-manager",
            [
                str(binaries.kube_controller_manager),
                f"--kubeconfig={kubeconfigs['controller-manager']}",
                "--bind-address=127.0.0.1", "--secure-port=0",
                "--leader-elect=false",
                "--controllers=*",
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={pki['sa-private']}",
                f"--root-ca-file={pki['ca'].cert}",
                f"--cluster-signing-cert-file={pki['ca'].cert}",
                f"--cluster-signing-key-file={pki['ca'].key}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--cluster-name={self.name}",
                "--profiling=false",
                "--kube-api-qps=5000", "--kube-api-burst=10000",
            ],
        )  # fmt: skip  # argv: each flag beside its value
        self._launch(
            "kube-scheduler",
            [
                str(binaries.kube_scheduler),
                f"--kubeconfig={kubeconfigs['scheduler']}",
                "--bind-address=127.0.0.1", "--secure-port=0",
                "--leader-elect=false",
                "--profiling=false",
                "--kube-api-qps=5000", "--kube-api-burst=10000",
            ],
        )  # fmt: skip  # argv: each flag beside its value
        self._launch(
            "kwok",
            [
                str(binaries.kwok),
                f"--kubeconfig={kubeconfigs['kwok']}",
                f"--config={binaries.kwok_stages}",
                "--manage-all-nodes=false",
                f"--manage-nodes-with-annotation-selector={KWOK_NODE_KEY}=fake",
                f"--cidr={POD_CIDR}",
                # Node heartbeats. kwok's stages leave them to a Lease (renewed every duration/4), but a
                # --config holding only Stages loads no KwokConfiguration defaults: the duration is 0, no
                # Lease is ever renewed, and every ~50 s (node-monitor-grace-period) the node lifecycle
                # controller marks all nodes Unknown and their pods NotReady, mid-rollout.
                f"--node-lease-duration-seconds={NODE_LEASE_DURATION_S}",
            ],
        )  # fmt: skip  # argv: each flag beside its value

        self._create_nodes()
        self._create_storage()
        if self.ingress_class:
            self._create_ingress_class(self.ingress_class)
        self._wait(f"{self.nodes} kwok nodes Ready", self._all_nodes_ready, deadline)
        # Without heartbeats the node lifecycle controller takes every node away ~50 s in.
        self._wait(f"{self.nodes} kwok node heartbeat Leases", self._all_node_leases_held, deadline)
        # The service-account controller creating "default" proves the controller manager works.
        self._wait(
            "controller-manager (default ServiceAccount)",
            lambda: self.api().get("ServiceAccount", "default", "default") is not None,
            deadline,
        )
        version = self._api.server_version()
        return ClusterHandle(
            name=self.name,
            kubeconfig=kubeconfigs["admin"],
            context=self.name,
            kube_version=version,
            provider="kwok",
        )

    # -- pieces ----------------------------------------------------------------------------------

    def _write_pki(self, directory: Path) -> dict[str, Any]:
        from quickmeet_conformance.clusters.pki import (
            issue_certificate,
            new_certificate_authority,
            new_private_key,
            public_key_of,
        )

        ca = new_certificate_authority(directory, f"{self.name}-ca")
        sa_private = new_private_key(directory / "sa.key")
        pki: dict[str, Any] = {
            "ca": ca,
            "sa-private": sa_private,
            "sa-public": public_key_of(sa_private, directory / "sa.pub"),
            "apiserver": issue_certificate(
                ca,
                directory,
                "apiserver",
                common_name="kube-apiserver",
                server=True,
                dns_names=[
                    "localhost",
                    "kubernetes",
                    "kubernetes.default",
                    "kubernetes.default.svc",
                    "kubernetes.default.svc.cluster.local",
                ],
                ip_addresses=["127.0.0.1", KUBERNETES_SERVICE_IP],
            ),  # fmt: skip  # kept in the shape of the manifest it builds
        }
        clients = {
            "admin": ("kubernetes-admin", ["system:masters"]),
            "controller-manager": ("system:kube-controller-manager", []),
            "scheduler": ("system:kube-scheduler", []),
            "kwok": (KWOK_USER, []),
        }
        for user, (common_name, groups) in clients.items():
            pki[user] = issue_certificate(
                ca, directory, user, common_name=common_name, organizations=groups, client=True
            )
        return pki

    def _launch(self, name: str, argv: list[str]) -> ManagedProcess:
        assert self.workdir is not None
        process = ManagedProcess(name=name, argv=argv, log=self.workdir / "logs" / f"{name}.log")
        self.processes.append(process)
        process.start()
        return process

    def _first_failure(self) -> str | None:
        for process in self.processes:
            reason = process.failure()
            if reason:
                return reason
        return None

    def _wait(self, what: str, ready: Any, deadline: float) -> None:
        wait_for(
            f"kwok cluster {self.name}: {what}",
            ready,
            timeout=max(1.0, deadline - time.monotonic()),
            failure=self._first_failure,
        )

    def _create(self, body: dict[str, Any]) -> None:
        """Create (an object that already exists counts as success, so bootstrap can be re-run)."""
        self.api().create(body, exist_ok=True)

    def _create_kwok_rbac(self) -> None:
        """Just what kwok's own RBAC manifest grants its controller, bound to our kwok client cert user."""
        rules = [
            {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch", "update"]},
            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": [""], "resources": ["nodes/status", "pods/status"], "verbs": ["patch", "update"]},
            {
                "apiGroups": [""],
                "resources": ["pods"],
                "verbs": ["get", "list", "watch", "update", "patch", "delete"],
            },
            {
                "apiGroups": ["coordination.k8s.io"],
                "resources": ["leases"],
                "verbs": ["create", "get", "list", "watch", "update", "patch"],
            },
        ]
        self._create_cluster_role("quickmeet:kwok-controller", rules, {"kind": "User", "name": KWOK_USER})

    def _create_cluster_role(self, name: str, rules: list[dict[str, Any]], subject: dict[str, str]) -> None:
        self._create(
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name},
             "rules": rules},
        )  # fmt: skip  # kept in the shape of the manifest it builds
        if subject["kind"] == "User":
            subject = {**subject, "apiGroup": "rbac.authorization.k8s.io"}
        self._create(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": name},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
                "subjects": [subject],
            },
        )

    def _create_nodes(self) -> None:
        for index in range(self.nodes):
            name = node_name(index)
            self._create(
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "metadata": {
                        "name": name,
                        "annotations": {KWOK_NODE_KEY: "fake", "node.alpha.kubernetes.io/ttl": "0"},
                        "labels": {
                            KWOK_NODE_KEY: "fake",
                            "type": "kwok",
                            "kubernetes.io/hostname": name,
                            "kubernetes.io/os": "linux",
                            "kubernetes.io/arch": "amd64",
                            "topology.kubernetes.io/zone": f"zone-{index % 3}",
                        },
                    },
                    "spec": {},
                    "status": {
                        "allocatable": self.node_capacity,
                        "capacity": self.node_capacity,
                        "addresses": [
                            {"type": "InternalIP", "address": f"10.250.0.{index + 10}"},
                            {"type": "Hostname", "address": name},
                        ],
                        # every field the client's V1NodeSystemInfo requires
                        "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux",
                                     "kubeletVersion": "fake", "kubeProxyVersion": "fake", "bootID": name,
                                     "containerRuntimeVersion": "fake", "kernelVersion": "fake",
                                     "machineID": name, "osImage": "kwok", "systemUUID": name},
                    },
                },
            )  # fmt: skip  # kept in the shape of the manifest it builds

    def _create_storage(self) -> None:
        self._create(
            {
                "apiVersion": "storage.k8s.io/v1",
                "kind": "StorageClass",
                "metadata": {
                    "name": STORAGE_CLASS,
                    "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
                },
                "provisioner": "kubernetes.io/no-provisioner",
                "volumeBindingMode": "Immediate",
                "reclaimPolicy": "Retain",
            },
        )
        for index in range(self.persistent_volumes):
            name = f"kwok-pv-{index:03d}"
            self._create(
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolume",
                    "metadata": {"name": name, "labels": {"quickmeet.chat/pre-created": "true"}},
                    "spec": {
                        "capacity": {"storage": self.volume_size},
                        "accessModes": ["ReadWriteOnce"],
                        "persistentVolumeReclaimPolicy": "Retain",
                        "storageClassName": STORAGE_CLASS,
                        "hostPath": {"path": f"/tmp/kwok-pv/{name}", "type": "DirectoryOrCreate"},
                    },
                },
            )

    def _create_ingress_class(self, name: str) -> None:
        """A default IngressClass (no controller behind it): Ingress objects are accepted as on a real cluster."""
        self._create(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "IngressClass",
                "metadata": {
                    "name": name,
                    "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"},
                },
                "spec": {"controller": "k8s.io/ingress-nginx"},
            },
        )

    def _all_nodes_ready(self) -> bool:
        items = self.api().list_objects("Node", label_selector=f"{KWOK_NODE_KEY}=fake")
        ready = [
            node
            for node in items
            if any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in node["status"].get("conditions", [])
            )
        ]
        return len(ready) >= self.nodes

    def _all_node_leases_held(self) -> bool:
        items = self.api().list_objects("Lease", "kube-node-lease")
        held = {lease["metadata"]["name"] for lease in items if (lease.get("spec") or {}).get("renewTime")}
        return all(node_name(index) in held for index in range(self.nodes))

    # -- extras for the suites -------------------------------------------------------------------

    def readonly_kubeconfig(
        self, path: str | os.PathLike[str] | None = None, *, expiration_s: int = 86400
    ) -> Path:
        """A kubeconfig for a ServiceAccount that may get/list/watch everything and change nothing.

        The live audit mode uses it, so an audit can never modify the cluster it inspects.
        """
        from quickmeet_conformance.clusters.pki import write_kubeconfig

        with self._lock:
            if self.handle is None or self._api is None or self._ca is None or self.workdir is None:
                raise ToolError("kwok cluster is not running", fix="call start() first")
            namespace, account = READONLY_NAMESPACE, READONLY_ACCOUNT
            self._create(
                {
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": account, "namespace": namespace},
                },
            )
            self._create_cluster_role(
                "quickmeet:readonly",
                [
                    {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]},
                    {"nonResourceURLs": ["*"], "verbs": ["get"]},
                ],
                {"kind": "ServiceAccount", "name": account, "namespace": namespace},
            )
            token = self._api.create_token(account, namespace, expiration_s)
            target = Path(path) if path else self.workdir / "readonly.kubeconfig"
            return write_kubeconfig(
                target,
                cluster=self.name,
                server=self.server,
                ca_cert=self._ca.cert,
                user=f"{namespace}:{account}",
                token=token,
            )

    def release_volumes(self) -> list[str]:
        """Make pre-created PVs whose claim was deleted (phase Released) Available again; returns their names.

        The PVs use reclaimPolicy Retain (no-provisioner cannot delete), so after a PVC is deleted
        (helm uninstall, namespace deletion) its PV is never reused until an admin clears claimRef:
        this is that admin step, for suites that install and uninstall many times in one cluster.
        """
        api = self.api()
        listing = api.list_objects("PersistentVolume", label_selector="quickmeet.chat/pre-created=true")
        released = [pv["metadata"]["name"] for pv in listing if pv["status"].get("phase") == "Released"]
        for name in released:
            api.patch("PersistentVolume", name, {"spec": {"claimRef": None}}, merge=True)
        return released

    def api(self) -> KubeClient:
        """An admin API client for the running cluster (tests and benchmarks)."""
        if self._api is None:
            raise ToolError("kwok cluster is not running", fix="call start() first")
        return self._api


def _etcd_healthy(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/health", timeout=2) as response:  # loopback http
        return json.loads(response.read()).get("health") == "true"
