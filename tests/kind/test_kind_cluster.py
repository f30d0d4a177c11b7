"""A real kind cluster from the locally built node image (scripts/build-kind-node-image.sh): the node gets
Ready with CoreDNS, a pod from a locally built image loaded with ``kind load docker-image`` runs and resolves
cluster DNS, a PVC of the default StorageClass binds, and SIGTERM to the process that created the cluster
leaves no container, docker network or kind process behind.

Costs one cluster create (~1-2 min warm on 2 cores); skipped with the command to run when dockerd or the
node image is missing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lane_gate import kind_unavailable

from quickmeet_conformance.clusters.cluster_waits import ClusterWaiter
from quickmeet_conformance.clusters.docker import Docker
from quickmeet_conformance.clusters.image_source import LOCAL_NODE_IMAGE
from quickmeet_conformance.clusters.images import INGRESS_IMAGE
from quickmeet_conformance.clusters.processes import processes_mentioning, wait_for
from quickmeet_conformance.errors import ToolError

pytestmark = [pytest.mark.live, pytest.mark.kind]

REPO = Path(__file__).resolve().parents[2]
TEST_IMAGE = "quickmeet/selftest:busybox"  # scripts/setup-docker.sh imports it (static busybox, no registry)

CHILD = """
import sys, time
from pathlib import Path
from quickmeet_conformance.clusters.providers.kind import KindClusterProvider
provider = KindClusterProvider(sys.argv[1], workdir=Path(sys.argv[2]), images="local")
handle = provider.start()
print("READY", handle.kubeconfig, handle.context, handle.kube_version, provider.http_port, flush=True)
while True:
    time.sleep(1)
"""


def _require_local_kind() -> Docker:
    docker = Docker()
    try:
        docker.check_daemon()
    except ToolError as exc:
        kind_unavailable(str(exc))
    if not docker.has_image(LOCAL_NODE_IMAGE):
        kind_unavailable(
            f"kind node image {LOCAL_NODE_IMAGE} not built: run scripts/build-kind-node-image.sh"
        )
    if not docker.has_image(TEST_IMAGE):
        kind_unavailable(f"{TEST_IMAGE} missing: run scripts/setup-docker.sh")
    if not docker.has_image(INGRESS_IMAGE):  # a build stopped at its time budget: node image, no Traefik yet
        kind_unavailable(
            f"ingress controller image {INGRESS_IMAGE} not built: run scripts/build-app-images.sh"
        )
    return docker


def _pod(name: str, *, command: list[str], volume_claim: str = "") -> dict:
    spec: dict = {
        "restartPolicy": "Never",
        "containers": [{"name": "main", "image": TEST_IMAGE, "imagePullPolicy": "Never", "command": command}],
    }
    if volume_claim:
        spec["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": volume_claim}}]
        spec["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def test_local_image_cluster_runs_pods_binds_claims_and_leaves_nothing_after_sigterm(tmp_path: Path) -> None:
    docker = _require_local_kind()
    name = f"qmc-kindtest-{os.getpid()}"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, name, str(tmp_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    try:
        assert child.stdout is not None
        deadline = time.monotonic() + 600
        ready = ""
        while time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip())
            if line.startswith("READY "):
                ready = line
                break
        assert ready, "the cluster never got ready:\n" + "\n".join(lines[-20:])
        _, kubeconfig, context, version, _port = ready.split()
        assert version == "v1.37.2", f"expected the node image's Kubernetes v1.37.2, found {version}"

        kind = REPO / ".tools" / "bin" / "kind"
        subprocess.run(
            [str(kind), "load", "docker-image", TEST_IMAGE, f"--name={name}"],
            check=True,
            timeout=180,
            capture_output=True,
        )
        waiter = ClusterWaiter(Path(kubeconfig), context, where=f"kind cluster {name}")
        kube = waiter.kube
        kube.create(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Mi"}}},
            },
            "default",
        )
        kube.create(
            _pod("dns", command=["busybox", "nslookup", "kubernetes.default.svc.cluster.local"]), "default"
        )
        kube.create(
            _pod("writer", command=["sh", "-c", "echo ok > /data/f && cat /data/f"], volume_claim="data"),
            "default",
        )

        def phase(pod: str) -> str:
            return str(((kube.get("Pod", pod, "default") or {}).get("status") or {}).get("phase"))

        def failed(pod: str) -> str | None:
            if phase(pod) == "Failed":
                return f"pod {pod} failed: {kube.pod_log(pod, 'default')}"
            return waiter.pod_failure("default", "")

        for pod in ("writer", "dns"):
            wait_for(
                f"pod {pod} Succeeded",
                lambda pod=pod: phase(pod) == "Succeeded",
                timeout=180,
                failure=lambda pod=pod: failed(pod),
                interval=1.0,
            )
        claim = (kube.get("PersistentVolumeClaim", "data", "default") or {}).get("status") or {}
        assert claim.get("phase") == "Bound", f"PVC data: expected Bound, found {claim.get('phase')}"
        assert kube.pod_log("writer", "default").strip() == "ok"
        assert "Address" in kube.pod_log("dns", "default"), "cluster DNS answers from a pod"
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=180)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    containers = docker.containers(name)
    assert containers == [], f"containers of {name} left after SIGTERM: {containers}"
    assert docker.networks(f"{name}-net") == [], f"docker network {name}-net left after SIGTERM"
    assert processes_mentioning(name) == [], "a kind process outlived the run"
