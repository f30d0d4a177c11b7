"""quickmeet_conformance.clusters.images: every image a rendered release references gets a stand-in under exactly that
reference, for the bundled reference chart with each values file and for both released public charts with
their NATS subchart (rendered with helm, no cluster, no docker).

CONTRACT.md > Components: a component is recognised by its image (topology.ComponentMatcher), so the stand-in
chosen for an image is the component the rules see there.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from quickmeet_conformance import subprocesses
from quickmeet_conformance.charts import load_chart
from quickmeet_conformance.clusters import images
from quickmeet_conformance.errors import ToolError
from quickmeet_conformance.helm import resolve_helm
from quickmeet_conformance.render import Manifest, Renderer, RenderRequest
from quickmeet_conformance.topology import ComponentMatcher, build_topology

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
UPSTREAM_CHARTS = REPO.parent / "shared" / "upstream-charts"  # the public charts, beside the repository
HELM = REPO / ".tools" / "bin" / "helm3"
EXTERNAL_MONGO = {
    "mongodb": {"enabled": False},
    "externalMongodbUrl": "mongodb://mongo.example:27017/rocketchat",
}

# The public charts' images (6.27.1: app 7.11.0 with stream-hub; 6.29.0: app 8.0.1) and what stands in.
UPSTREAM_EXPECTED = {
    "registry.rocket.chat/rocketchat/rocket.chat": "monolith",
    "rocketchat/account-service": "accounts",
    "rocketchat/authorization-service": "authorization",
    "rocketchat/ddp-streamer-service": "ddp-streamer",
    "rocketchat/presence-service": "presence",
    "rocketchat/stream-hub-service": "stream-hub",
    "nats": "nats",
    "natsio/nats-server-config-reloader": "aux",
    "natsio/prometheus-nats-exporter": "aux",
    "natsio/nats-box": "aux",
}


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    try:
        return Renderer(resolve_helm(str(HELM)))
    except ToolError as exc:
        pytest.fail(exc.line(), pytrace=False)


def render(renderer: Renderer, chart_dir: Path, values: dict[str, Any], tmp_path: Path) -> list[Manifest]:
    chart = load_chart(str(chart_dir), version=None, helm_path=renderer.helm.path, workdir=tmp_path)
    return list(renderer.render(RenderRequest(chart=chart, values=values, release="rel")).manifests)


def repository(image: str) -> str:
    return image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image


def check_complete(manifests: list[Manifest], plans: list[images.ImagePlan]) -> None:
    """Every container and initContainer image has exactly one plan, with a stand-in that the build makes, and
    each workload's component (as the rules see it) runs its own component's stand-in."""
    referenced = {u.image for u in images.image_uses(manifests)}
    assert referenced and referenced == {p.image for p in plans}, (referenced, [p.image for p in plans])
    assert len(plans) == len({p.image for p in plans}), "one plan per image reference"
    for plan in plans:
        assert plan.component in images.STANDIN_COMPONENTS, plan.describe()
        assert plan.standin == f"localhost/qmc/{plan.component}:local", plan.describe()
    by_image = {p.image: p for p in plans}
    for workload in build_topology(manifests).workloads:
        if workload.component:
            for container in workload.containers:
                if ComponentMatcher().component_of_image(container.image) == workload.component:
                    assert by_image[container.image].component == workload.component, (
                        f"{workload.kind}/{workload.name} is {workload.component} for the rules, but its "
                        f"image "
                        f"{container.image} gets the {by_image[container.image].component} stand-in"
                    )


@pytest.mark.parametrize("values_file", sorted(p.name for p in (FIXTURES / "values").glob("*.yaml")))
def test_reference_chart_every_values_file(values_file: str, renderer: Renderer, tmp_path: Path) -> None:
    values = yaml.safe_load((FIXTURES / "values" / values_file).read_text()) or {}
    try:
        manifests = render(renderer, FIXTURES / "charts" / "rocketchat", values, tmp_path)
    except ToolError as exc:  # a values file the chart refuses on purpose has no release to run
        pytest.skip(f"the chart refuses {values_file}: {exc.line()}")
    plans = images.plan_images(manifests)
    check_complete(manifests, plans)
    components = {p.component for p in plans}
    assert "monolith" in components, [p.describe() for p in plans]


@pytest.mark.parametrize("version", ["6.27.1", "6.29.0"])
def test_public_chart_with_nats_subchart(version: str, renderer: Renderer, tmp_path: Path) -> None:
    chart_dir = UPSTREAM_CHARTS / f"rocketchat-{version}"
    if not chart_dir.is_dir():
        pytest.skip(f"{chart_dir} is not here (the public charts live in shared/ beside the repository)")
    values: dict[str, Any] = {**EXTERNAL_MONGO, "microservices": {"enabled": True}}
    if version == "6.27.1":
        values["externalMongodbOplogUrl"] = "mongodb://mongo.example:27017/local?replicaSet=rs0"
    manifests = render(renderer, chart_dir, values, tmp_path)
    plans = images.plan_images(manifests)
    check_complete(manifests, plans)
    found = {repository(p.image): p for p in plans}
    unexpected = sorted(set(found) - set(UPSTREAM_EXPECTED))
    assert not unexpected, f"images the test does not know: {unexpected}"
    for repo, plan in found.items():
        assert plan.component == UPSTREAM_EXPECTED[repo], plan.describe()
    for must in (
        "registry.rocket.chat/rocketchat/rocket.chat",
        "rocketchat/ddp-streamer-service",
        "nats",
        "natsio/nats-server-config-reloader",
    ):
        assert must in found, f"{must} missing from {sorted(found)}"
    assert ("rocketchat/stream-hub-service" in found) == (version == "6.27.1"), sorted(found)
    reloader = found["natsio/nats-server-config-reloader"]
    assert reloader.known and reloader.standin == images.standin_image(images.AUX), reloader.describe()
    assert "synadia/nats-box" not in found, "the renderer skips helm test hooks: helm install never runs them"
    assert not found["nats"].note, found["nats"].describe()


def _pod(*containers: dict[str, Any], init: tuple[dict[str, Any], ...] = (), hook: str = "") -> Manifest:
    meta: dict[str, Any] = {"name": "p", **({"annotations": {"helm.sh/hook": hook}} if hook else {})}
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {"containers": list(containers), "initContainers": list(init)},
    }
    return Manifest("v1", "Pod", "p", "default", "t.yaml", body)


def _cronjob(image: str) -> Manifest:
    body = {
        "kind": "CronJob",
        "spec": {
            "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}}}
        },
    }
    return Manifest("batch/v1", "CronJob", "cj", "default", "t.yaml", body)


def test_init_containers_and_cronjobs_are_listed_and_hook_only_images_said() -> None:
    manifests = [
        _pod(
            {"name": "app", "image": "rocketchat/presence-service:7.0.0"},
            init=({"name": "wait", "image": "busybox:1.36"},),
        ),
        _cronjob("docker.io/bitnami/mongodb:7.0"),
    ]
    uses = images.image_uses(manifests)
    assert [(u.image, u.init) for u in uses] == [
        ("busybox:1.36", True),
        ("rocketchat/presence-service:7.0.0", False),
        ("docker.io/bitnami/mongodb:7.0", False),
    ]
    plans = {p.image: p for p in images.plan_images(manifests)}
    assert plans["busybox:1.36"].component == "aux" and "no known component" in plans["busybox:1.36"].note
    assert plans["docker.io/bitnami/mongodb:7.0"].component == "mongodb"
    assert plans["rocketchat/presence-service:7.0.0"].component == "presence"
    hook = {
        p.image: p
        for p in images.plan_images([_pod({"name": "t", "image": "synadia/nats-box"}, hook="test")])
    }
    assert "only in helm hooks (test)" in hook["synadia/nats-box"].note, hook["synadia/nats-box"].describe()


def test_digest_and_always_pull_are_said_in_the_note() -> None:
    """What a local stand-in cannot satisfy is named with the fix: a digest, a policy that always pulls."""
    digest = "rocketchat/ddp-streamer-service@sha256:" + "a" * 64
    manifests = [
        _pod({"name": "a", "image": digest}),
        _pod({"name": "b", "image": "rocketchat/presence-service:latest"}),
        _pod({"name": "c", "image": "nats:2.10", "imagePullPolicy": "Always"}),
        _pod({"name": "d", "image": "nats:2.11", "imagePullPolicy": "IfNotPresent"}),
    ]
    plans = {p.image: p for p in images.plan_images(manifests)}
    assert plans[digest].pinned_by_digest and "pinned by digest" in plans[digest].note
    assert "imagePullPolicy Always" in plans["rocketchat/presence-service:latest"].note
    assert "imagePullPolicy Always" in plans["nats:2.10"].note
    assert plans["nats:2.11"].note == ""


def test_upstream_source_plans_the_same_images_without_stand_ins(renderer: Renderer, tmp_path: Path) -> None:
    """--kind-images upstream goes through the same plan: same references, nothing tagged, the cluster
    pulls."""
    manifests = render(renderer, FIXTURES / "charts" / "rocketchat", {}, tmp_path)
    local = images.plan_images(manifests)
    upstream = images.plan_images(manifests, source=images.UPSTREAM)
    assert [p.image for p in upstream] == [p.image for p in local]
    assert all(p.standin == "" and "pulled by the cluster" in p.describe() for p in upstream)
    assert images.load_images("unused", upstream, docker=object()) == [], "upstream loads nothing"


def test_unknown_source_is_one_line() -> None:
    with pytest.raises(ToolError) as caught:
        images.plan_images([], source="mirror")
    assert "--kind-images 'mirror'" in caught.value.line() and "local, upstream" in caught.value.line()


class FakeDocker:
    """Records docker calls; has_image answers from a set."""

    def __init__(self, present: set[str]) -> None:
        self.present = present
        self.calls: list[tuple[str, ...]] = []

    def has_image(self, ref: str) -> bool:
        return ref in self.present

    def run(self, *args: str, timeout: float = 30) -> Any:

        self.calls.append(args)
        return subprocess.CompletedProcess(args, 0, "", "")


def test_missing_stand_in_is_one_line_naming_the_build_script() -> None:
    plans = images.plan_refs(["rocketchat/ddp-streamer-service:8.0.1", "nats:2.10"])
    with pytest.raises(ToolError) as caught:
        images.load_images("c", plans, docker=FakeDocker({"localhost/qmc/nats:local"}))
    line = caught.value.line()
    assert (
        "localhost/qmc/ddp-streamer:local" in line
        and "scripts/build-app-images.sh" in line
        and "\n" not in line
    )


def test_stand_ins_are_tagged_inside_the_nodes_under_each_exact_reference() -> None:
    """ctr in the node, never docker tag on the host: no real image name is left in the host's docker."""
    refs = [
        "registry.rocket.chat/rocketchat/rocket.chat:8.0.1",
        "nats:2.4-alpine",
        "rocketchat/ddp-streamer-service@sha256:" + "b" * 64,
        "example.com/acme/sidecar:1",
    ]
    docker = FakeDocker({images.standin_image(c) for c in images.STANDIN_COMPONENTS})
    tagged = images.tag_in_nodes(["n1"], images.plan_refs(refs), docker)
    assert tagged == [
        "registry.rocket.chat/rocketchat/rocket.chat:8.0.1",
        "docker.io/library/nats:2.4-alpine",
    ], "a digest cannot be tagged and an unknown image is not loaded (their notes say so)"
    [(exec_, node, sh, dash_c, script)] = docker.calls
    assert (exec_, node, sh, dash_c) == ("exec", "n1", "sh", "-c")
    assert (
        "ctr --namespace=k8s.io images tag --force localhost/qmc/nats:local docker.io/library/nats:2.4-alpine"
        in script
    )
    assert not any(c[0] == "tag" for c in docker.calls)


def test_an_image_of_no_known_component_is_said_and_not_loaded() -> None:
    [plan] = images.plan_refs(["example.com/acme/sidecar:1"])
    assert not plan.known and not plan.standin
    assert "maps to no known component" in plan.note
    assert "NOT LOADED" in images.workload_images([plan])[0]


def test_each_container_is_listed_as_stand_in_or_real_image() -> None:
    [local] = images.plan_refs(["rocketchat/presence-service:8.0.1"])
    [upstream] = images.plan_refs(["rocketchat/presence-service:8.0.1"], source=images.UPSTREAM)
    assert "-> stand-in localhost/qmc/presence:local" in images.workload_images([local])[0]
    assert "-> real image" in images.workload_images([upstream])[0]


def test_placeholder_tls_secrets_only_for_secrets_the_release_does_not_bring(tmp_path: Path) -> None:
    """Traefik skips an Ingress whose TLS Secret is missing (ingress-nginx would serve a default certificate):
    the kind lane provides the missing ones, never one the chart renders itself (helm would refuse it)."""
    ingress = Manifest(
        "networking.k8s.io/v1",
        "Ingress",
        "i",
        "default",
        "t.yaml",
        {
            "spec": {
                "tls": [
                    {"secretName": "chat-tls", "hosts": ["chat.example.com"]},
                    {"secretName": "own-tls", "hosts": ["own.example.com"]},
                ]
            }
        },
    )
    own = Manifest("v1", "Secret", "own-tls", "default", "t.yaml", {})
    assert images.missing_tls_secrets([ingress, own]) == {"chat-tls": ("chat.example.com",)}
    secrets = images.placeholder_tls_secrets([ingress, own], tmp_path, "case-1")
    assert [(s["metadata"]["name"], s["metadata"]["namespace"], s["type"]) for s in secrets] == [
        ("chat-tls", "case-1", "kubernetes.io/tls")
    ]

    pem = tmp_path / "chat-tls.crt"
    pem.write_bytes(base64.b64decode(secrets[0]["data"]["tls.crt"]))
    text = subprocesses.run(
        ["openssl", "x509", "-in", str(pem), "-noout", "-text"], timeout_s=30, check=True
    ).stdout
    assert "DNS:chat.example.com" in text, text
    assert images.placeholder_tls_secrets([own], tmp_path, "case-1") == []


def test_stand_ins_under_real_image_names_on_the_host_are_found() -> None:
    """scripts/kind-leftovers.py and the image build find what an older lane left: a stand-in (by its label)
    tagged as rocketchat/... or bitnami/mongodb on the host."""
    import subprocess

    class Listing:
        def run(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
            assert "label=quickmeet.chat/standin" in args
            out = "localhost/qmc/monolith:local\nrocketchat/rocket.chat:8.0.1\nbitnami/mongodb:7.0\n<none>:<none>\n"
            return subprocess.CompletedProcess(list(args), 0, out, "")

    assert images.real_name_tags(Listing()) == ["bitnami/mongodb:7.0", "rocketchat/rocket.chat:8.0.1"]


def test_airgap_loads_only_the_registry_the_values_name() -> None:
    """--kind-images airgap: an image outside the values' registry is not loaded and says why (issue 23)."""
    from quickmeet_conformance.clusters.image_source import resolve_images

    assert resolve_images("airgap").airgap and resolve_images("airgap").local
    assert images.values_registry(
        {"image": {"repository": "registry.rocket.chat/rocketchat/quickmeet.chat"}}
    ) == ("registry.rocket.chat")
    assert images.values_registry({"global": {"imageRegistry": "mirror.corp:5000/"}, "image": {}}) == (
        "mirror.corp:5000"
    )
    assert images.values_registry({"image": {"repository": "rocketchat/rocket.chat"}}) == ""
    plans = images.plan_refs(
        ["registry.rocket.chat/rocketchat/rocket.chat:8.0.1", "quay.io/rocketchat/presence-service:8.0.1"]
    )
    inside, outside = images.airgapped(plans, "registry.rocket.chat")
    assert inside.standin and not inside.blocked
    assert outside.blocked == "registry.rocket.chat" and not outside.standin
    assert "NOT LOADED: outside the air-gap registry registry.rocket.chat" in outside.workload_lines()[0]
    assert all(p.blocked for p in images.airgapped(plans, None)), "no registry named: nothing is reachable"
