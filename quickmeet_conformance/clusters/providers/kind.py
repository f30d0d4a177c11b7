"""kind clusters through pytest-kind (the maintained pytest-kind-ng distribution), every step bounded.

pytest-kind's ``KindCluster`` runs kind and kubectl with no time limit and downloads binaries from the
internet; this provider keeps its cluster layout and helpers (``port_forward``) but runs every step bounded,
uses pinned binaries it is given (scripts/install-kind.sh builds kind from the Go module proxy) and waits on
the cluster through the package's Kubernetes client, each wait with a success and a failure condition
(``clusters/cluster_waits.py``).

Where the images come from is ``--kind-images`` (``clusters/image_source.py``); both choices go through
this same code. Nothing outlives a run: the cluster lives on a docker network of its own (removed with it),
an owner file names the process that created it (``clusters/owner_files.py``), and a later run deletes
clusters whose owner died (even by SIGKILL).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from quickmeet_conformance import subprocesses
from quickmeet_conformance.clusters import owner_files
from quickmeet_conformance.clusters.base import (
    REPO_TOOLS_BIN,
    ClusterHandle,
    ClusterProvider,
    IngressPorts,
    ProviderSettings,
    find_kubectl,
)
from quickmeet_conformance.clusters.cluster_waits import ClusterWaiter
from quickmeet_conformance.clusters.docker import DOCKER_FIX, Docker, last_line
from quickmeet_conformance.clusters.image_source import (
    LOCAL_NODE_IMAGE,
    NODE_IMAGE,
    KindImages,
    resolve_images,
)
from quickmeet_conformance.clusters.processes import free_loopback_ports, shutdown_guard
from quickmeet_conformance.clusters.registry import register_provider
from quickmeet_conformance.errors import ToolError

KIND_VERSION = "v0.33.0"
INGRESS_NGINX_MANIFEST = "https://raw.githubusercontent.com/kubernetes/ingress-nginx/controller-v1.13.3/deploy/static/provider/kind/deploy.yaml"
DEFAULT_CLUSTER_NAME = "qmc-conformance"
# Host cgroups may be v1 (kubelet >= 1.35 refuses them unless told otherwise); harmless on cgroup v2.
CLUSTER_CONFIG = """\
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
kubeadmConfigPatches:
  - |
    kind: KubeletConfiguration
    failCgroupV1: false
nodes:
  - role: control-plane
    labels:
      ingress-ready: "true"
    extraPortMappings:
      - {containerPort: 80, hostPort: %(http_port)d, listenAddress: 127.0.0.1, protocol: TCP}
      - {containerPort: 443, hostPort: %(https_port)d, listenAddress: 127.0.0.1, protocol: TCP}
"""
LOCAL_IMAGE_FIX = (
    "run scripts/build-kind-node-image.sh (builds it without any registry), "
    "or --kind-images upstream where a registry is reachable"
)


def find_kind(explicit: str | os.PathLike[str] | None = None) -> Path:
    for candidate in (explicit, os.environ.get("QMC_KIND"), REPO_TOOLS_BIN / "kind", shutil.which("kind")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise ToolError(
        "kind not found",
        fix="run scripts/install-kind.sh (builds kind from the Go module proxy) or pass --kind-bin",
    )


def _kind_cluster_base() -> Any:
    try:
        from pytest_kind import KindCluster  # pytest-kind-ng
    except ImportError:  # pragma: no cover - depends on the install
        raise ToolError(
            "pytest-kind-ng is not installed", fix="pip install 'quickmeet-conformance[kind]'"
        ) from None
    return KindCluster


def manifest_objects(ref: str, timeout_s: float) -> list[dict[str, Any]]:
    """The objects of a manifest given as a URL (fetched, bounded) or a file path, as ``kubectl apply -f``."""
    try:
        if "://" in ref:
            with urllib.request.urlopen(ref, timeout=timeout_s) as response:  # a pinned https manifest
                text = response.read().decode("utf-8")
        else:
            text = Path(ref).read_text(encoding="utf-8")
        return [body for body in yaml.safe_load_all(text) if body]
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ToolError(f"cannot read the manifest {ref}: {exc}") from None


@register_provider
class KindClusterProvider(ClusterProvider):
    """A kind cluster named ``name`` (reused if it exists); deleted on stop unless ``keep``."""

    provider = "kind"
    rank = 1
    owns_cluster = True
    supports_images = True
    supports_probes = True

    def __init__(
        self,
        name: str = DEFAULT_CLUSTER_NAME,
        *,
        kind_bin: str | os.PathLike[str] | None = None,
        kubectl: str | os.PathLike[str] | None = None,
        images: str | None = None,
        node_image: str | None = None,
        keep: bool = False,
        workdir: Path | None = None,
        http_port: int = 0,
        https_port: int = 0,
        ingress_manifest: str = INGRESS_NGINX_MANIFEST,
        create_timeout_s: float = 600,
        step_timeout_s: float = 180,
        docker: Docker | None = None,
    ) -> None:
        self.name = name
        self.docker = docker or Docker()
        self._images_choice = images
        self._node_image_override = node_image
        self.images: KindImages | None = None
        self.keep = keep
        if not (http_port and https_port):
            http_port, https_port = free_loopback_ports(2)
        self.http_port, self.https_port = http_port, https_port  # the node's 80/443 on 127.0.0.1
        self.ingress_manifest = ingress_manifest
        self.create_timeout_s, self.step_timeout_s = create_timeout_s, step_timeout_s
        self._kind_bin, self._kubectl = kind_bin, kubectl
        self.base = (workdir or Path.cwd()).resolve()  # the cluster lives in <base>/.pytest-kind/<name>
        self._created = False
        self.cluster: Any = None  # the pytest-kind KindCluster, once resolved
        self.handle: ClusterHandle | None = None
        self._loaded: set[str] = set()  # image references already present in this cluster
        self._standins: set[str] = set()  # stand-in images already loaded (tagged inside the nodes)

    @classmethod
    def for_live_lane(cls, settings: ProviderSettings) -> KindClusterProvider:
        """Each xdist worker gets its own cluster (``<name>-<worker>``), on free loopback ports."""
        suffix = f"-{settings.worker}" if settings.worker else ""
        return cls(
            f"{settings.cluster_name or DEFAULT_CLUSTER_NAME}{suffix}",
            keep=settings.keep,
            images=settings.kind_images,
        )

    def running(self) -> bool:
        return self.handle is not None

    @property
    def network(self) -> str:
        """The docker network this cluster's nodes live on (kind's KIND_EXPERIMENTAL_DOCKER_NETWORK)."""
        return f"{self.name}-net"

    @property
    def node_image(self) -> str:
        return self._resolved_images().node_image

    def _resolved_images(self) -> KindImages:
        if self.images is None:
            images = resolve_images(self._images_choice, self.docker)
            if self._node_image_override:
                images = KindImages(images.source, self._node_image_override, images.airgap)
            self.images = images
        return self.images

    # -- steps, each bounded --------------------------------------------------------------------
    def _run(
        self,
        argv: list[str],
        what: str,
        timeout: float,
        env: dict[str, str] | None = None,
        stdin: str | None = None,
    ) -> str:
        try:
            proc = subprocesses.run(argv, timeout_s=timeout, env={**os.environ, **(env or {})}, input=stdin)
        except subprocess.TimeoutExpired:
            raise ToolError(
                f"{what} took more than {timeout:.0f}s", where=f"kind cluster {self.name}"
            ) from None
        if proc.returncode != 0:
            stderr = proc.stderr.lower()
            hint = ""
            if (
                "cannot connect to the docker daemon" in stderr
                or "docker daemon" in stderr
                and "running" in stderr
            ):
                hint = DOCKER_FIX
            elif any(w in stderr for w in ("docker", "podman", "nerdctl", "container runtime")):
                hint = "kind needs a container engine (Docker or Podman); on machines without one use --cluster kwok"
            raise ToolError(
                f"{what} failed: {last_line(proc.stderr, f'exit {proc.returncode}')}",
                where=f"kind cluster {self.name}",
                fix=hint,
            )
        return proc.stdout

    def _kind_cluster(self) -> Any:
        if self.cluster is None:
            kind_cluster = _kind_cluster_base()
            kind_path, kubectl_path = find_kind(self._kind_bin), find_kubectl(self._kubectl)
            self.base.mkdir(parents=True, exist_ok=True)
            cwd = Path.cwd()
            os.chdir(self.base)  # pytest-kind lays its files out below the working directory
            try:
                self.cluster = kind_cluster(
                    self.name, image=self.node_image, kind_path=kind_path, kubectl_path=kubectl_path
                )
            finally:
                os.chdir(cwd)
            self.cluster.path = self.base / ".pytest-kind" / self.name
            self.cluster.kubeconfig_path = self.cluster.path / "kubeconfig"
        return self.cluster

    def exists(self) -> bool:
        out = self._run([str(self._kind_cluster().kind_path), "get", "clusters"], "kind get clusters", 30)
        return self.name in out.split()

    def preflight(self) -> None:
        """The faults a user can fix before anything is created: dockerd down, node image missing."""
        find_kind(self._kind_bin)
        self.docker.check_daemon()
        images = self._resolved_images()
        if images.local and not self.docker.has_image(images.node_image):
            raise ToolError(f"kind node image {images.node_image} not found", fix=LOCAL_IMAGE_FIX)

    def reap_orphans(self) -> list[str]:
        """Delete the qmc-* clusters whose creating process is gone (a run killed by SIGKILL)."""
        return owner_files.reap_orphans(self._delete)

    def start(self) -> ClusterHandle:
        self.preflight()
        cluster = self._kind_cluster()
        cluster.path.mkdir(parents=True, exist_ok=True)
        self.reap_orphans()
        if not self.exists():
            config = cluster.path / "kind-config.yaml"
            config.write_text(CLUSTER_CONFIG % {"http_port": self.http_port, "https_port": self.https_port})
            owner_files.claim(self.name)
            self._created = True
            shutdown_guard.register(self)  # SIGINT/SIGTERM/atexit delete what this run created
            self._run(
                [
                    str(cluster.kind_path),
                    "create",
                    "cluster",
                    f"--name={self.name}",
                    f"--image={self.node_image}",
                    f"--kubeconfig={cluster.kubeconfig_path}",
                    f"--config={config}",
                    "--wait=0s",
                    "--retain=false",
                ],
                "kind create cluster",
                self.create_timeout_s,
                env={"KIND_EXPERIMENTAL_DOCKER_NETWORK": self.network},
            )
        else:
            self._run(
                [
                    str(cluster.kind_path),
                    "export",
                    "kubeconfig",
                    f"--name={self.name}",
                    f"--kubeconfig={cluster.kubeconfig_path}",
                ],
                "kind export kubeconfig",
                30,
            )
            self.http_port, self.https_port = self._mapped_ports()
        waiter = ClusterWaiter(
            cluster.kubeconfig_path, f"kind-{self.name}", where=f"kind cluster {self.name}"
        )
        try:
            waiter.wait_ready(self.step_timeout_s)
            self.install_ingress_controller(waiter)
            version = waiter.server_version()
        finally:
            waiter.close()
        self.handle = ClusterHandle(self.name, cluster.kubeconfig_path, f"kind-{self.name}", version, "kind")
        return self.handle

    def _mapped_ports(self) -> tuple[int, int]:
        """The loopback ports an existing cluster's node maps to its 80/443 (0 when not mapped)."""
        ports = []
        for container_port in ("80/tcp", "443/tcp"):
            proc = self.docker.run("port", f"{self.name}-control-plane", container_port)
            text = (
                proc.stdout.strip().splitlines()[0] if proc.returncode == 0 and proc.stdout.strip() else ":0"
            )
            ports.append(int(text.rsplit(":", 1)[1]))
        return ports[0], ports[1]

    def install_ingress_controller(self, waiter: ClusterWaiter) -> None:
        """Local images: Traefik serving the class ``nginx``; upstream: ingress-nginx's kind manifest, its
        objects created through the cluster's client as ``kubectl apply -f`` would on a new cluster."""
        if self._resolved_images().local:
            self._install_local_ingress(waiter)
            return
        waiter.kube.create_missing(manifest_objects(self.ingress_manifest, self.step_timeout_s))
        waiter.wait_pods_ready("ingress-nginx", "app.kubernetes.io/component=controller", self.step_timeout_s)

    def _install_local_ingress(self, waiter: ClusterWaiter) -> None:
        from quickmeet_conformance.clusters import images

        images.install_ingress_controller(
            self.name, waiter.kube, kind_bin=self._kind_cluster().kind_path, timeout_s=self.step_timeout_s
        )
        waiter.wait_pods_ready(images.INGRESS_NAMESPACE, images.INGRESS_SELECTOR, self.step_timeout_s)

    def ingress_ports(self) -> IngressPorts:
        """Where the live lane's probes reach this cluster: the ingress on the loopback port mapped to node:80."""
        return IngressPorts(http=self.http_port, https=self.https_port)

    def tls_secrets(self, namespace: str, manifests: Iterable[Any], workdir: Path) -> list[dict[str, Any]]:
        """What cert-manager would do on a real cluster: a self-signed TLS Secret for every Ingress TLS
        secretName the release does not render (images.placeholder_tls_secrets), so the controller serves it;
        the live lane creates them through its client."""
        from quickmeet_conformance.clusters import images

        return list(images.placeholder_tls_secrets(manifests, workdir / f"tls-{namespace}", namespace))

    @property
    def airgap(self) -> bool:
        return self._resolved_images().airgap

    def prepare_images(
        self, manifests: Iterable[Any], matcher: Any = None, airgap_registry: str | None = None
    ) -> list[str]:
        """Local images: every image the rendered release references, present in the cluster under that exact
        reference (stand-ins from scripts/build-app-images.sh, tagged inside the nodes). Upstream: nothing to
        do, the cluster pulls. Returns one line per container saying what runs it."""
        if not self._resolved_images().local:
            return []
        from quickmeet_conformance.clusters import images

        plans = images.plan_images(manifests, source=images.LOCAL, matcher=matcher)
        if airgap_registry is not None:
            plans = images.airgapped(plans, airgap_registry or None)
        todo = [p for p in plans if p.image not in self._loaded]
        if todo:
            images.load_images(
                self.name,
                todo,
                kind_bin=self._kind_cluster().kind_path,
                timeout_s=self.create_timeout_s,
                docker=self.docker,
                loaded_standins=self._standins,
            )
            self._loaded.update(p.image for p in todo if not p.blocked)
        # The run's log lists every container with what runs it: "stand-in ..." or "NOT LOADED" (unknown).
        return images.workload_images(plans)

    def _delete(self, name: str) -> None:
        kind_path = find_kind(self._kind_bin)
        try:
            self._run([str(kind_path), "delete", "cluster", f"--name={name}"], "kind delete cluster", 120)
        finally:
            self.docker.remove_network(f"{name}-net")

    def leftovers(self) -> list[str]:
        """What of this cluster still exists in docker (containers, its network): empty after stop()."""
        return [
            *(f"container {c}" for c in self.docker.containers(self.name)),
            *(f"network {self.network}" for _ in self.docker.networks(self.network)),
        ]

    def stop(self) -> None:
        if not self._created:
            return  # never delete a cluster this run did not create
        self._created = False
        try:
            if not self.keep:
                self._delete(self.name)
                self._remove_cluster_dir()
        finally:
            owner_files.release(self.name)
            shutdown_guard.unregister(self)
            self.handle = None

    def _remove_cluster_dir(self) -> None:
        """<base>/.pytest-kind/<name> (the deleted cluster's kubeconfig and config) and .pytest-kind once
        empty: a run leaves no files in the user's directory (--keep-cluster keeps them, to debug with)."""
        cluster_dir = self.base / ".pytest-kind" / self.name
        shutil.rmtree(cluster_dir, ignore_errors=True)
        try:
            cluster_dir.parent.rmdir()
        except OSError:
            pass  # not empty (another cluster's files) or already gone


def cluster_summary(provider: KindClusterProvider) -> dict[str, Any]:
    """What a report says about the cluster (no credentials)."""
    images = provider._resolved_images()
    return {
        "name": provider.name,
        "images": images.source,
        "node_image": images.node_image,
        "http_port": provider.http_port,
        "https_port": provider.https_port,
        "network": provider.network,
    }


__all__ = [
    "LOCAL_NODE_IMAGE",
    "NODE_IMAGE",
    "Docker",
    "KindClusterProvider",
    "KindImages",
    "cluster_summary",
    "find_kind",
    "resolve_images",
]
