"""``--cluster existing`` as a customer uses it (issue 23): a release someone else installed, audited read-only
with the live rules and both probes. The test installs the release on its kind cluster with the kind lane,
then treats that cluster as existing: a second lane on the same kubeconfig through the existing provider,
which audits the release (the NATS bus through a port-forward, the DDP handshake through the ingress URL)
and changes nothing. Run with ``--cluster kind``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from quickmeet_conformance.charts import load_chart
from quickmeet_conformance.clusters.kubeclient import KubeClient
from quickmeet_conformance.clusters.providers.existing import ExistingClusterProvider
from quickmeet_conformance.findings import Verdict
from quickmeet_conformance.helm import resolve_helm
from quickmeet_conformance.live.audit import audit_release
from quickmeet_conformance.live.cluster import LiveCluster
from quickmeet_conformance.live.scenario import LiveLane
from quickmeet_conformance.probes import ddp, nats_bus
from quickmeet_conformance.values import load_values

pytestmark = [pytest.mark.live, pytest.mark.kind]

REPO = Path(__file__).resolve().parents[2]
HELM = REPO / ".tools" / "bin" / os.environ.get("QMC_MUTANT_HELM", "helm3")


def _objects(kube: KubeClient, namespace: str) -> set[tuple[str, str, str]]:
    """Every object the audit could have touched, with its resourceVersion (a write changes it)."""
    kinds = ("Deployment", "StatefulSet", "Service", "Secret", "ConfigMap", "Ingress", "Pod")
    return {
        (o["kind"], o["metadata"]["name"], o["metadata"].get("resourceVersion", ""))
        for o in kube.list_kinds(kinds, namespace, timeout=60)
        if o["kind"] != "Pod"
    }


def test_an_existing_cluster_is_audited_with_live_rules_and_both_probes(
    kind_lane: LiveLane, tmp_path: Path
) -> None:
    helm = resolve_helm(str(HELM))
    chart = load_chart(
        str(REPO / "fixtures" / "charts" / "rocketchat"), version=None, helm_path=helm.path, workdir=tmp_path
    )
    values = load_values(REPO / "fixtures" / "values" / "seed-docs.yaml")
    installed = kind_lane.install_scenario("existing-audit", chart, values, helm, restart=False, hub=False)
    try:
        assert not installed.view.rollout_error, "\n".join(installed.log)
        handle = kind_lane.cluster.handle
        provider = ExistingClusterProvider(kubeconfig=handle.kubeconfig, context=handle.context)
        started = provider.start()
        kube = KubeClient.from_kubeconfig(started.kubeconfig, started.context)
        customer = LiveLane(
            LiveCluster(started, kube, "audit", provider, owned=False),
            release=kind_lane.release,
            options=kind_lane.options,
            matcher=kind_lane.matcher,
            workdir=tmp_path,
        )
        # seed-docs' Ingress has TLS: its controller redirects http to https, so the entry to give is https
        ports = kind_lane.cluster.provider.ingress_ports()  # type: ignore[union-attr]
        before = _objects(kube, installed.namespace)
        namespaces = {n["metadata"]["name"] for n in kube.list_objects("Namespace")}
        audit = audit_release(
            customer,
            helm,
            kind_lane.release,
            installed.namespace,
            ingress_url=f"https://127.0.0.1:{ports.https}",
        )
        log = "\n".join(audit.log)
        for rule in (
            nats_bus.RULE_SERVICE_ANNOUNCED,
            nats_bus.RULE_NODE_COUNT,
            ddp.RULE_WEBSOCKET_HANDSHAKE,
            ddp.RULE_REACHES_DDP_STREAMER,
            "live.workloads-available",
            "live.connections",
        ):
            assert audit.verdict(rule) == Verdict.PASS, f"{rule} in the audit of an existing cluster\n{log}"
        assert set(audit.probe_targets) == {"bus", "ws"}, audit.probe_targets
        # read-only: no object of the release changed, no namespace made, nothing deleted by the audit
        assert _objects(kube, installed.namespace) == before
        assert {n["metadata"]["name"] for n in kube.list_objects("Namespace")} == namespaces
        assert customer.cluster.created == []
        kube.close()
    finally:
        kind_lane.release_case(installed)
