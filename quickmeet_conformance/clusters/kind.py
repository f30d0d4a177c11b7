"""kind clusters through pytest-kind (the maintained pytest-kind-ng distribution), every step bounded.

pytest-kind's ``KindCluster`` runs kind and kubectl with no time limit and downloads binaries from the
internet; this provider keeps its cluster layout and helpers (``port_forward``) but runs every step bounded,
uses pinned binaries it is given (scripts/install-kind.sh builds kind from the Go module proxy) and waits on
the cluster through the official ``kubernetes`` client, each wait with a success and a failure condition.

One documented option chooses where the images come from (``--kind-images``, env ``QMC_KIND_IMAGES``); both
choices go through this same code:

- ``local``: the node image scripts/build-kind-node-image.sh assembles here without any registry (Kubernetes
  v1.37.2, every control-plane image preloaded); application stand-ins and the ingress controller come from
  ``quickmeet_conformance.images`` (scripts/build-app-images.sh).
- ``upstream``: kind's own pinned ``kindest/node`` image and ingress-nginx's kind manifest, for machines
  that reach the registries (the maintainers' CI).

The default, ``auto``, is ``local`` when the locally built node image exists and ``upstream`` otherwise.

Nothing outlives a run: the cluster lives on a docker network of its own (removed with it), an owner file
names the process that created it, and a later run deletes clusters whose owner died (even by SIGKILL).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quickmeet_conformance import subprocesses
from quickmeet_conformance.clusters.base import REPO_TOOLS_BIN, ClusterHandle, ClusterProvider, find_kubectl
from quickmeet_conformance.clusters.processes import free_loopback_ports, shutdown_guard, wait_for
from quickmeet_conformance.errors import ToolError

KIND_VERSION = "v0.33.0"
# kind v0.33.0's default node image (sigs.k8s.io/kind pkg/apis/config/defaults/image.go), pinned by digest
NODE_IMAGE = "kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5"
# what scripts/build-kind-node-image.sh tags (tools/controlplane/kube/go.mod pins the version)
LOCAL_NODE_IMAGE = "quickmeet/kind-node:v1.37.2"
INGRESS_NGINX_MANIFEST = "https://raw.githubusercontent.com/kubernetes/ingress-nginx/controller-v1.13.3/deploy/static/provider/kind/deploy.yaml"
IMAGE_SOURCES = ("auto", "local", "upstream")
OWNERS_DIR = Path(os.environ.get("QMC_KIND_OWNERS", "/tmp/qmc-kind-owners"))
CLUSTER_PREFIX = "qmc-"
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
DOCKER_FIX = "run scripts/setup-docker.sh (as root): it installs and starts dockerd"
LOCAL_IMAGE_FIX = (
    "run scripts/build-kind-node-image.sh (builds it without any registry), "
    "or --kind-images upstream where a registry is reachable"
)


@dataclass(frozen=True)
class KindImages:
    """Where the node image and the ingress controller come from (``--kind-images``)."""

    source: str  # "local" or "upstream"
    node_image: str

    @property
    def local(self) -> bool:
        return self.source == "local"


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


def _last_line(text: str, default: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return (lines[-1] if lines else default)[:300]


class Docker:
    """The few docker calls the provider needs, each bounded."""

    def __init__(self, binary: str | None = None) -> None:
        self.binary = binary or shutil.which("docker") or "docker"

    def run(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        if not (os.path.isfile(self.binary) or shutil.which(self.binary)):
            raise ToolError("docker not found", fix=DOCKER_FIX)
        try:
            return subprocesses.run([self.binary, *args], timeout_s=timeout)
        except subprocess.TimeoutExpired:
            raise ToolError(f"docker {args[0]} took more than {timeout:.0f}s", fix=DOCKER_FIX) from None

    def check_daemon(self) -> None:
        proc = self.run("info", "--format", "{{.ServerVersion}}", timeout=20)
        if proc.returncode != 0 or not proc.stdout.strip():
            raise ToolError(
                f"dockerd is not running ({_last_line(proc.stderr, 'docker info failed')})", fix=DOCKER_FIX
            )

    def has_image(self, ref: str) -> bool:
        return self.run("image", "inspect", "--format", "{{.Id}}", ref).returncode == 0

    def containers(self, cluster: str) -> list[str]:
        proc = self.run("ps", "-aq", "--filter", f"label=io.x-k8s.kind.cluster={cluster}")
        return proc.stdout.split()

    def networks(self, name: str) -> list[str]:
        proc = self.run("network", "ls", "-q", "--filter", f"name=^{name}$")
        return proc.stdout.split()

    def remove_network(self, name: str) -> None:
        if self.networks(name):
            self.run("network", "rm", name)


def resolve_images(source: str | None = None, docker: Docker | None = None) -> KindImages:
    """``--kind-images`` (or $QMC_KIND_IMAGES): local, upstream, or auto (local when its image exists)."""
    choice = (source or os.environ.get("QMC_KIND_IMAGES") or "auto").strip().lower()
    if choice not in IMAGE_SOURCES:
        raise ToolError(
            f"--kind-images {choice!r}: not a choice", fix=f"use one of {', '.join(IMAGE_SOURCES)}"
        )
    if choice == "auto":
        try:
            choice = "local" if (docker or Docker()).has_image(LOCAL_NODE_IMAGE) else "upstream"
        except ToolError:
            choice = "local"  # no docker at all: the preflight check names the fix
    return KindImages(choice, LOCAL_NODE_IMAGE if choice == "local" else NODE_IMAGE)


def _owner_file(name: str) -> Path:
    return OWNERS_DIR / f"{name}.pid"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class KindClusterProvider(ClusterProvider):
    """A kind cluster named ``name`` (reused if it exists); deleted on stop unless ``keep``."""

    def __init__(
        self,
        name: str = "qmc-conformance",
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
        self._loaded: set[str] = set()  # image references already loaded into this cluster

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
                images = KindImages(images.source, self._node_image_override)
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
                f"{what} failed: {_last_line(proc.stderr, f'exit {proc.returncode}')}",
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
        reaped: list[str] = []
        if not OWNERS_DIR.is_dir():
            return reaped
        for owner in OWNERS_DIR.glob(f"{CLUSTER_PREFIX}*.pid"):
            try:
                pid = int(owner.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                pid = 0
            if pid and _pid_alive(pid):
                continue
            name = owner.name[: -len(".pid")]
            self._delete(name)
            owner.unlink(missing_ok=True)
            reaped.append(name)
        return reaped

    def start(self) -> ClusterHandle:
        self.preflight()
        cluster = self._kind_cluster()
        cluster.path.mkdir(parents=True, exist_ok=True)
        self.reap_orphans()
        if not self.exists():
            config = cluster.path / "kind-config.yaml"
            config.write_text(CLUSTER_CONFIG % {"http_port": self.http_port, "https_port": self.https_port})
            OWNERS_DIR.mkdir(parents=True, exist_ok=True)
            _owner_file(self.name).write_text(f"{os.getpid()}\n")
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
        waiter.wait_ready(self.step_timeout_s)
        self.install_ingress_controller(waiter)
        self.handle = ClusterHandle(
            self.name, cluster.kubeconfig_path, f"kind-{self.name}", waiter.server_version(), "kind"
        )
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

    def kubectl(self, *args: str, timeout: float | None = None) -> str:
        cluster = self._kind_cluster()
        return self._run(
            [str(cluster.kubectl_path), "--kubeconfig", str(cluster.kubeconfig_path), *args],
            f"kubectl {args[0] if args else ''}",
            timeout or self.step_timeout_s,
        )

    def install_ingress_controller(self, waiter: ClusterWaiter | None = None) -> None:
        if self._resolved_images().local:
            self._install_local_ingress(waiter)
            return
        self.kubectl("apply", "-f", self.ingress_manifest)
        if waiter is not None:
            waiter.wait_pods_ready(
                "ingress-nginx", "app.kubernetes.io/component=controller", self.step_timeout_s
            )

    def _install_local_ingress(self, waiter: ClusterWaiter | None) -> None:
        from quickmeet_conformance import images
        from quickmeet_conformance.clusters.kubeclient import KubeClient

        cluster = self._kind_cluster()
        kube = KubeClient.from_kubeconfig(cluster.kubeconfig_path, f"kind-{self.name}")
        try:
            images.install_ingress_controller(
                self.name, kube, kind_bin=cluster.kind_path, timeout_s=self.step_timeout_s
            )
        finally:
            kube.close()
        if waiter is not None:
            waiter.wait_pods_ready(images.INGRESS_NAMESPACE, images.INGRESS_SELECTOR, self.step_timeout_s)

    def probe_targets(self) -> Any:
        """Where the live lane's probes reach this cluster: the ingress on the loopback port mapped to node:80."""
        from quickmeet_conformance.live.probing import ProbeTargets

        return ProbeTargets(ingress_http_port=self.http_port, ingress_https_port=self.https_port)

    def tls_secrets(self, namespace: str, manifests: Any, workdir: Path) -> list[dict[str, Any]]:
        """What cert-manager would do on a real cluster: a self-signed TLS Secret for every Ingress TLS
        secretName the release does not render (images.placeholder_tls_secrets), so the controller serves it;
        the live lane creates them through its client."""
        from quickmeet_conformance import images

        return list(images.placeholder_tls_secrets(manifests, workdir / f"tls-{namespace}", namespace))

    def prepare_images(self, manifests: Any, matcher: Any = None) -> list[str]:
        """Local images: every image the rendered release references, present in the cluster under that exact
        reference (stand-ins from scripts/build-app-images.sh). Upstream: nothing to do, the cluster pulls."""
        if not self._resolved_images().local:
            return []
        from quickmeet_conformance import images

        plans = images.plan_images(manifests, source=images.LOCAL, matcher=matcher)
        loaded = [p.image for p in plans if p.image in self._loaded]
        todo = [p for p in plans if p.image not in self._loaded]
        if todo:
            loaded += images.load_images(
                self.name,
                todo,
                kind_bin=self._kind_cluster().kind_path,
                timeout_s=self.create_timeout_s,
                docker=self.docker,
            )
            self._loaded.update(p.image for p in todo)
        return loaded

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
            _owner_file(self.name).unlink(missing_ok=True)
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


class ClusterWaiter:
    """Bounded waits on a cluster through the ``kubernetes`` client; each stops early with the reason."""

    # a container waiting for one of these will not become ready by waiting longer
    FATAL_WAITING = {
        "ErrImagePull",
        "ImagePullBackOff",
        "ErrImageNeverPull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "CrashLoopBackOff",
        "RunContainerError",
    }

    def __init__(self, kubeconfig: Path, context: str, *, where: str) -> None:
        try:
            from kubernetes import client, config
        except ImportError:  # pragma: no cover - a declared dependency
            raise ToolError("the kubernetes Python client is not installed", fix="pip install -e .") from None
        self.where = where
        self._api = config.new_client_from_config(config_file=str(kubeconfig), context=context)
        self.core = client.CoreV1Api(self._api)
        self.storage = client.StorageV1Api(self._api)
        self.version = client.VersionApi(self._api)

    def server_version(self) -> str:
        return str(self.version.get_code(_request_timeout=10).git_version)

    def _wait(
        self, what: str, ready: Callable[[], bool], failure: Callable[[], str | None], timeout: float
    ) -> None:
        try:
            wait_for(f"{self.where}: {what}", ready, timeout=timeout, failure=failure, interval=1.0)
        except ToolError as exc:
            raise ToolError(
                exc.what,
                fix="the node's logs: docker exec <cluster>-control-plane journalctl -u kubelet "
                "(or rerun with --keep-cluster and `kind export logs`)",
            ) from None

    def nodes_ready(self) -> bool:
        nodes = self.core.list_node(_request_timeout=10).items
        return bool(nodes) and all(
            any(c.type == "Ready" and c.status == "True" for c in ((n.status and n.status.conditions) or []))
            for n in nodes
        )

    def pods_ready(self, namespace: str, selector: str) -> bool:
        pods = self.core.list_namespaced_pod(namespace, label_selector=selector, _request_timeout=10).items
        return bool(pods) and all(
            any(c.type == "Ready" and c.status == "True" for c in ((p.status and p.status.conditions) or []))
            for p in pods
        )

    def pod_failure(self, namespace: str, selector: str) -> str | None:
        pods = self.core.list_namespaced_pod(namespace, label_selector=selector, _request_timeout=10).items
        for pod in pods:
            if pod.status is None or pod.metadata is None:
                continue
            for status in (pod.status.container_statuses or []) + (pod.status.init_container_statuses or []):
                waiting = status.state.waiting if status.state else None
                if (
                    waiting is not None
                    and waiting.reason in self.FATAL_WAITING
                    and (waiting.reason != "CrashLoopBackOff" or (status.restart_count or 0) >= 3)
                ):
                    return (
                        f"pod {namespace}/{pod.metadata.name} container {status.name}: {waiting.reason}: "
                        f"{(waiting.message or '')[:200]}"
                    )
        return None

    def _safe(self, check: Callable[[], str | None]) -> Callable[[], str | None]:
        def guarded() -> str | None:
            try:
                return check()
            except Exception:  # the API server may still be starting; ready() reports the last error
                return None

        return guarded

    def default_storage_class(self) -> bool:
        classes = self.storage.list_storage_class(_request_timeout=10).items
        return any(
            ((c.metadata and c.metadata.annotations) or {}).get("storageclass.kubernetes.io/is-default-class")
            == "true"
            for c in classes
        )

    def wait_pods_ready(self, namespace: str, selector: str, timeout: float) -> None:
        self._wait(
            f"pods {selector} in {namespace} ready",
            lambda: self.pods_ready(namespace, selector),
            self._safe(lambda: self.pod_failure(namespace, selector)),
            timeout,
        )

    def wait_ready(self, timeout: float) -> None:
        """Node Ready, CoreDNS ready, a default StorageClass whose provisioner runs: what the chart needs."""
        deadline = time.monotonic() + timeout
        left = lambda: max(1.0, deadline - time.monotonic())  # noqa: E731 - one shared deadline
        self._wait(
            "node Ready", self.nodes_ready, self._safe(lambda: self.pod_failure("kube-system", "")), left()
        )
        self.wait_pods_ready("kube-system", "k8s-app=kube-dns", left())
        self._wait("a default StorageClass", self.default_storage_class, lambda: None, left())
        self.wait_pods_ready("local-path-storage", "app=local-path-provisioner", left())


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
    "ClusterWaiter",
    "Docker",
    "KindClusterProvider",
    "KindImages",
    "LOCAL_NODE_IMAGE",
    "NODE_IMAGE",
    "find_kind",
    "resolve_images",
    "cluster_summary",
]
