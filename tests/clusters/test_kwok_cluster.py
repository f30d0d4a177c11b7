"""Live tests of the kwok control plane: real apiserver/controllers/scheduler, fake nodes and containers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from waits import eventually

from quickmeet_conformance.clusters.base import REPO_ROOT, ClusterHandle
from quickmeet_conformance.clusters.processes import wait_for
from quickmeet_conformance.clusters.providers.kwok import NODE_LEASE_DURATION_S, KwokClusterProvider

Kubectl = Callable[..., subprocess.CompletedProcess[str]]

pytestmark = pytest.mark.live


def pinned_kube_version() -> str:
    for line in (REPO_ROOT / "tools/controlplane/kube/go.mod").read_text().splitlines():
        parts = line.split("//")[0].split()
        if parts and parts[0] == "require":
            parts = parts[1:]
        if len(parts) == 2 and parts[0] == "k8s.io/kubernetes":
            return parts[1]
    raise AssertionError("tools/controlplane/kube/go.mod does not require k8s.io/kubernetes")


def alive(pid: int) -> bool:
    """True while ``pid`` is a live (non-zombie) process."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def get_json(kubectl: Kubectl, *args: str) -> dict:
    return json.loads(kubectl("get", *args, "-o", "json").stdout)


def apply(kubectl: Kubectl, manifest: str) -> None:
    kubectl("apply", "-f", "-", input=textwrap.dedent(manifest))


def test_version_reports_the_built_release(kwok_cluster: ClusterHandle, kubectl: Kubectl) -> None:
    expected = pinned_kube_version()
    server = json.loads(kubectl("version", "-o", "json").stdout)["serverVersion"]
    assert kwok_cluster.kube_version == expected, (
        f"handle says {kwok_cluster.kube_version}, go.mod pins {expected}"
    )
    assert server["gitVersion"] == expected, (
        f"/version reports {server['gitVersion']}, go.mod pins {expected}"
    )


def test_deployment_gets_ready_pods_and_ready_endpoints(kubectl: Kubectl) -> None:
    apply(
        kubectl,
        """
        apiVersion: v1
        kind: Namespace
        metadata: {name: t-deploy}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: t-deploy}
        spec:
          replicas: 2
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers:
              - name: web
                image: registry.invalid/quickmeet/web:fake
                ports: [{name: http, containerPort: 3000}]
                readinessProbe: {httpGet: {path: /health, port: http}}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: t-deploy}
        spec:
          selector: {app: web}
          ports: [{name: http, port: 3000, targetPort: http}]
        """,
    )

    def ready_replicas() -> bool:
        return (
            get_json(kubectl, "deployment", "web", "-n", "t-deploy").get("status", {}).get("readyReplicas")
            == 2
        )

    wait_for("Deployment t-deploy/web has 2 ready replicas", ready_replicas, timeout=90)

    def ready_endpoints() -> list[str]:
        slices = get_json(kubectl, "endpointslices", "-n", "t-deploy", "-l", "kubernetes.io/service-name=web")
        return [
            address
            for item in slices["items"]
            for endpoint in item.get("endpoints") or []
            if endpoint.get("conditions", {}).get("ready")
            for address in endpoint["addresses"]
        ]

    wait_for(
        "EndpointSlice for Service t-deploy/web has 2 ready endpoints",
        lambda: len(ready_endpoints()) == 2,
        timeout=60,
    )
    pods = get_json(kubectl, "pods", "-n", "t-deploy", "-l", "app=web")["items"]
    pod_ips = sorted(p["status"].get("podIP", "") for p in pods)
    assert sorted(ready_endpoints()) == pod_ips, (
        f"endpoints {ready_endpoints()} should be the pod IPs {pod_ips}"
    )


def run_statefulset_with_claim(kubectl: Kubectl, namespace: str) -> dict:
    """A one-replica StatefulSet with a volumeClaimTemplate; returns its Bound PVC once the pod Runs."""
    apply(
        kubectl,
        f"""
        apiVersion: v1
        kind: Namespace
        metadata: {{name: {namespace}}}
        ---
        apiVersion: v1
        kind: Service
        metadata: {{name: db, namespace: {namespace}}}
        spec:
          clusterIP: None
          selector: {{app: db}}
          ports: [{{name: mongo, port: 27017}}]
        ---
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {{name: db, namespace: {namespace}}}
        spec:
          serviceName: db
          replicas: 1
          selector: {{matchLabels: {{app: db}}}}
          template:
            metadata: {{labels: {{app: db}}}}
            spec:
              containers:
              - name: db
                image: registry.invalid/mongodb:fake
                volumeMounts: [{{name: data, mountPath: /data}}]
          volumeClaimTemplates:
          - metadata: {{name: data}}
            spec:
              accessModes: [ReadWriteOnce]
              resources: {{requests: {{storage: 8Gi}}}}
        """,
    )

    def claim() -> dict:
        return get_json(kubectl, "pvc", "data-db-0", "-n", namespace)

    wait_for(
        f"PVC {namespace}/data-db-0 is Bound", lambda: claim()["status"].get("phase") == "Bound", timeout=90
    )

    def pod_phase() -> str:
        return get_json(kubectl, "pod", "db-0", "-n", namespace)["status"].get("phase", "")

    wait_for(f"Pod {namespace}/db-0 is Running", lambda: pod_phase() == "Running", timeout=90)
    return claim()


def test_nodes_heartbeat_through_leases(kwok_cluster: ClusterHandle, kubectl: Kubectl) -> None:
    """Without a renewed Lease per node, the node lifecycle controller marks every node Unknown after its grace
    period (~50 s) and sets all their pods NotReady: rollouts then stall at random points of a long run."""
    nodes = [n["metadata"]["name"] for n in get_json(kubectl, "nodes", "-l", "type=kwok")["items"]]

    def renew_times() -> dict[str, str]:
        leases = get_json(kubectl, "leases", "-n", "kube-node-lease")["items"]
        return {lease["metadata"]["name"]: lease["spec"].get("renewTime", "") for lease in leases}

    first = renew_times()
    missing = [n for n in nodes if not first.get(n)]
    assert not missing, (
        f"nodes without a heartbeat Lease in kube-node-lease: {missing} (leases: {sorted(first)})"
    )
    # kwok renews every NODE_LEASE_DURATION_S / 4 = 10 s; wait past that for every node to renew once
    wait_for(
        "every node Lease renewed",
        lambda: all(renew_times().get(n, "") > first[n] for n in nodes),
        timeout=NODE_LEASE_DURATION_S / 2,
    )


def test_statefulset_claim_binds_and_pod_runs(kubectl: Kubectl) -> None:
    claim = run_statefulset_with_claim(kubectl, "t-sts")
    assert claim["spec"].get("storageClassName") == "standard", "the default StorageClass should be applied"


def test_namespace_deletion_completes_and_volumes_can_be_released(
    kubectl: Kubectl, kwok_provider: KwokClusterProvider
) -> None:
    """helm uninstall / namespace cleanup must finish (kwok deletes pods), and Retain PVs be reusable."""
    volume = run_statefulset_with_claim(kubectl, "t-cleanup")["spec"]["volumeName"]
    kubectl("delete", "namespace", "t-cleanup", "--wait=false")

    def namespace_gone() -> bool:
        return kubectl("get", "namespace", "t-cleanup", check=False).returncode != 0

    wait_for("namespace t-cleanup is deleted", namespace_gone, timeout=90)

    def volume_phase() -> str:
        return get_json(kubectl, "pv", volume)["status"].get("phase", "")

    wait_for(f"PV {volume} is Released", lambda: volume_phase() == "Released", timeout=60)
    assert volume in kwok_provider.release_volumes()
    wait_for(f"PV {volume} is Available again", lambda: volume_phase() == "Available", timeout=60)


def test_rbac_is_enforced_for_the_readonly_kubeconfig(
    kwok_provider: KwokClusterProvider,
    kwok_cluster: ClusterHandle,
    kubectl_factory: Callable[[Path, str], Kubectl],
) -> None:
    readonly = kubectl_factory(kwok_provider.readonly_kubeconfig(), kwok_cluster.context)
    readonly("get", "pods", "--all-namespaces")
    denied = readonly("create", "configmap", "audit-must-not-write", "-n", "default", check=False)
    assert denied.returncode != 0, "the read-only identity could create a ConfigMap: RBAC is not enforced"
    assert "forbidden" in denied.stderr.lower(), f"expected Forbidden, got: {denied.stderr.strip()}"


def test_stop_ends_every_process_and_removes_the_workdir(control_plane_binaries: Path) -> None:
    provider = KwokClusterProvider(
        binaries_dir=control_plane_binaries, nodes=1, persistent_volumes=0, name="qmc-stop"
    )
    with provider:
        pids = provider.pids()
        workdir = provider.workdir
        assert len(pids) == 5 and all(alive(pid) for pid in pids), f"expected 5 running processes, got {pids}"
    assert workdir is not None
    leaked = [pid for pid in pids if alive(pid)]
    assert not leaked, f"processes still running after stop(): {leaked}"
    assert not workdir.exists(), f"workdir {workdir} left behind"
    provider.stop()  # idempotent


def test_sigterm_to_the_runner_stops_the_cluster(control_plane_binaries: Path) -> None:
    """A runner killed with SIGTERM (CI timeout, Ctrl-C in a wrapper) must not leak the control plane."""
    script = textwrap.dedent(
        f"""
        import json, sys, time
        from quickmeet_conformance.clusters.providers.kwok import NODE_LEASE_DURATION_S, KwokClusterProvider
        provider = KwokClusterProvider(binaries_dir={str(control_plane_binaries)!r}, nodes=1,
                                       persistent_volumes=0, name="qmc-sigterm")
        provider.start()
        print(json.dumps({{"pids": provider.pids(), "workdir": str(provider.workdir)}}), flush=True)
        time.sleep(120)
        """
    )
    runner = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )  # fmt: skip  # related arguments kept on one line
    try:
        assert runner.stdout is not None
        line = runner.stdout.readline()  # the runner's own start timeout bounds this read
        assert line, f"runner did not start the cluster: {runner.stderr.read() if runner.stderr else ''}"
        started = json.loads(line)
        runner.send_signal(signal.SIGTERM)
        runner.wait(timeout=60)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait(timeout=10)
    assert runner.returncode == -signal.SIGTERM, f"runner should die of SIGTERM, exited {runner.returncode}"
    eventually(  # orphans are reaped by init asynchronously
        "the control plane exits",
        lambda: not any(alive(pid) for pid in started["pids"]),
        timeout=10,
        interval=0.2,
    )
    leaked = [pid for pid in started["pids"] if alive(pid)]
    assert not leaked, f"control-plane processes leaked after SIGTERM: {leaked}"
    assert not Path(started["workdir"]).exists(), f"workdir {started['workdir']} left behind"
