"""kind clusters through pytest-kind (the maintained pytest-kind-ng distribution), with timeouts.

pytest-kind's ``KindCluster`` runs kind and kubectl with no time limit and downloads binaries from the
internet; this provider keeps its cluster layout and helpers (``port_forward``) but runs every step
bounded, uses pinned binaries it is given (scripts/install-kind.sh builds kind from the Go module
proxy), pins the node image, and installs an ingress controller. It runs where a container engine
exists (the users' CI); here it is exercised up to the missing engine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from quickmeet_conformance.clusters.base import REPO_TOOLS_BIN, ClusterHandle, ClusterProvider, find_kubectl
from quickmeet_conformance.errors import ToolError

KIND_VERSION = "v0.33.0"
# kind v0.33.0's default node image (sigs.k8s.io/kind pkg/apis/config/defaults/image.go), pinned by digest
NODE_IMAGE = "kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5"
INGRESS_NGINX_MANIFEST = (
    "https://raw.githubusercontent.com/kubernetes/ingress-nginx/controller-v1.13.3/deploy/static/provider/kind/deploy.yaml"
)
CLUSTER_CONFIG = """\
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
    kubeadmConfigPatches:
      - |
        kind: InitConfiguration
        nodeRegistration:
          kubeletExtraArgs:
            node-labels: "ingress-ready=true"
    extraPortMappings:
      - {containerPort: 80, hostPort: %(http_port)d, protocol: TCP}
      - {containerPort: 443, hostPort: %(https_port)d, protocol: TCP}
"""


def find_kind(explicit: str | os.PathLike[str] | None = None) -> Path:
    for candidate in (explicit, os.environ.get("QMC_KIND"), REPO_TOOLS_BIN / "kind", shutil.which("kind")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise ToolError("kind not found", fix="run scripts/install-kind.sh (builds kind from the Go module proxy) or pass --kind-bin")


def _kind_cluster_base():
    try:
        from pytest_kind import KindCluster  # pytest-kind-ng
    except ImportError:  # pragma: no cover - depends on the install
        raise ToolError("pytest-kind-ng is not installed", fix="pip install 'quickmeet-conformance[kind]'") from None
    return KindCluster


class KindClusterProvider(ClusterProvider):
    """A kind cluster named ``name`` (reused if it exists); deleted on stop unless ``keep``."""

    def __init__(
        self,
        name: str = "qmc-conformance",
        *,
        kind_bin: str | os.PathLike[str] | None = None,
        kubectl: str | os.PathLike[str] | None = None,
        node_image: str = NODE_IMAGE,
        keep: bool = False,
        workdir: Path | None = None,
        http_port: int = 8080,
        https_port: int = 8443,
        ingress_manifest: str = INGRESS_NGINX_MANIFEST,
        create_timeout_s: float = 600,
        step_timeout_s: float = 120,
    ) -> None:
        self.name = name
        self.node_image = node_image
        self.keep = keep
        self.http_port, self.https_port = http_port, https_port
        self.ingress_manifest = ingress_manifest
        self.create_timeout_s, self.step_timeout_s = create_timeout_s, step_timeout_s
        self._kind_bin, self._kubectl = kind_bin, kubectl
        self.base = (workdir or Path.cwd()).resolve()  # the cluster lives in <base>/.pytest-kind/<name>
        self._created = False
        self.cluster = None  # the pytest-kind KindCluster, once resolved

    # -- steps, each bounded --------------------------------------------------------------------
    def _run(self, argv: list[str], what: str, timeout: float, env: dict | None = None) -> str:
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False,
                                  env={**os.environ, **(env or {})})
        except subprocess.TimeoutExpired:
            raise ToolError(f"{what} took more than {timeout:.0f}s", where=f"kind cluster {self.name}") from None
        if proc.returncode != 0:
            lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()] or [f"exit {proc.returncode}"]
            hint = ""
            if any(w in proc.stderr.lower() for w in ("docker", "podman", "nerdctl", "container runtime")):
                hint = "kind needs a container engine (Docker or Podman); on machines without one use --cluster kwok"
            raise ToolError(f"{what} failed: {lines[-1][:300]}", where=f"kind cluster {self.name}", fix=hint)
        return proc.stdout

    def _kind_cluster(self):
        if self.cluster is None:
            kind_cluster = _kind_cluster_base()
            kind_path, kubectl_path = find_kind(self._kind_bin), find_kubectl(self._kubectl)
            self.base.mkdir(parents=True, exist_ok=True)
            cwd = Path.cwd()
            os.chdir(self.base)  # pytest-kind lays its files out below the working directory
            try:
                self.cluster = kind_cluster(self.name, image=self.node_image, kind_path=kind_path,
                                            kubectl_path=kubectl_path)
            finally:
                os.chdir(cwd)
            self.cluster.path = self.base / ".pytest-kind" / self.name
            self.cluster.kubeconfig_path = self.cluster.path / "kubeconfig"
        return self.cluster

    def exists(self) -> bool:
        out = self._run([str(self._kind_cluster().kind_path), "get", "clusters"], "kind get clusters", 30)
        return self.name in out.split()

    def start(self) -> ClusterHandle:
        cluster = self._kind_cluster()
        cluster.path.mkdir(parents=True, exist_ok=True)
        if not self.exists():
            config = cluster.path / "kind-config.yaml"
            config.write_text(CLUSTER_CONFIG % {"http_port": self.http_port, "https_port": self.https_port})
            self._run([str(cluster.kind_path), "create", "cluster", f"--name={self.name}", f"--image={self.node_image}",
                       f"--kubeconfig={cluster.kubeconfig_path}", f"--config={config}", "--wait=180s"],
                      "kind create cluster", self.create_timeout_s)
            self._created = True
        else:
            self._run([str(cluster.kind_path), "export", "kubeconfig", f"--name={self.name}",
                       f"--kubeconfig={cluster.kubeconfig_path}"], "kind export kubeconfig", 30)
        self.install_ingress_controller()
        version = json.loads(self.kubectl("version", "-o", "json")).get("serverVersion", {}).get("gitVersion", "")
        return ClusterHandle(self.name, cluster.kubeconfig_path, f"kind-{self.name}", version, "kind")

    def kubectl(self, *args: str, timeout: float | None = None) -> str:
        cluster = self._kind_cluster()
        return self._run([str(cluster.kubectl_path), "--kubeconfig", str(cluster.kubeconfig_path), *args],
                         f"kubectl {args[0] if args else ''}", timeout or self.step_timeout_s)

    def install_ingress_controller(self) -> None:
        self.kubectl("apply", "-f", self.ingress_manifest)
        self.kubectl("wait", "--namespace", "ingress-nginx", "--for=condition=ready", "pod",
                     "--selector=app.kubernetes.io/component=controller", f"--timeout={int(self.step_timeout_s)}s",
                     timeout=self.step_timeout_s + 10)

    def stop(self) -> None:
        if self.cluster is None or self.keep or not self._created:
            return  # never delete a cluster this run did not create
        self._run([str(self.cluster.kind_path), "delete", "cluster", f"--name={self.name}",
                   f"--kubeconfig={self.cluster.kubeconfig_path}"], "kind delete cluster", self.step_timeout_s)
        self._created = False
