"""The kind lane's ingress controller manifest (tools/images/traefik/ingress.yaml) is valid Kubernetes and
serves what the charts ask for: the class `nginx` of ingress-nginx, WebSocket-capable Traefik on the node's
ports 80/443 where kind maps them (CONTRACT.md > Wiring: "an ingress controller is required")."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
import yaml

from quickmeet_conformance.clusters import images
from quickmeet_conformance.rules.kube_schema import supported_kube_version

KUBE_VERSION = supported_kube_version("1.37.0")


@pytest.fixture(scope="module")
def objects() -> dict[str, dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(images.INGRESS_MANIFEST.read_text()) if d]
    return {d["kind"]: d for d in docs}


def test_every_object_is_valid_for_the_lanes_kubernetes(objects: dict[str, dict[str, Any]]) -> None:
    for kind, obj in objects.items():
        try:
            kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{kind}/{obj['metadata']['name']}: {exc.message} at {list(exc.path)}")


def test_serves_the_nginx_class_of_ingress_nginx(objects: dict[str, dict[str, Any]]) -> None:
    ingress_class = objects["IngressClass"]
    assert ingress_class["metadata"]["name"] == "nginx"
    assert ingress_class["spec"]["controller"] == "k8s.io/ingress-nginx"
    annotations = ingress_class["metadata"].get("annotations", {})
    assert "ingressclass.kubernetes.io/is-default-class" not in annotations, (
        "not a default class: the rule ingress.class must still see charts without ingressClassName"
    )
    args = objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]["args"]
    for arg in (
        "--providers.kubernetesingressnginx=true",
        "--providers.kubernetesingressnginx.ingressClass=nginx",
        "--providers.kubernetesingressnginx.controllerClass=k8s.io/ingress-nginx",
    ):
        assert arg in args, f"{arg} missing from {args}"


def test_listens_on_the_nodes_ports_80_and_443_where_kind_maps_them(
    objects: dict[str, dict[str, Any]],
) -> None:
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == images.INGRESS_IMAGE and container["imagePullPolicy"] == "Never"
    host_ports = {p["containerPort"]: p.get("hostPort") for p in container["ports"]}
    assert host_ports[80] == 80 and host_ports[443] == 443, host_ports
    assert pod["nodeSelector"]["ingress-ready"] == "true"
    assert any(t["key"] == "node-role.kubernetes.io/control-plane" for t in pod["tolerations"])
    assert objects["Deployment"]["spec"]["strategy"]["type"] == "Recreate", "hostPorts cannot surge"


def test_rbac_covers_what_the_provider_watches(objects: dict[str, dict[str, Any]]) -> None:
    granted = {
        (g, r, v)
        for rule in objects["ClusterRole"]["rules"]
        for g in rule["apiGroups"]
        for r in rule["resources"]
        for v in rule["verbs"]
    }
    for need in [
        ("networking.k8s.io", "ingresses", "watch"),
        ("networking.k8s.io", "ingressclasses", "list"),
        ("networking.k8s.io", "ingresses/status", "update"),
        ("discovery.k8s.io", "endpointslices", "watch"),
        ("", "services", "watch"),
        ("", "secrets", "watch"),
    ]:
        assert need in granted, f"ClusterRole lacks {need}"
    binding = objects["ClusterRoleBinding"]
    assert binding["subjects"][0]["name"] == objects["ServiceAccount"]["metadata"]["name"]
