"""Every image a rendered release runs, and the local image that stands in for it on kind.

No container registry is reachable here, so the kind lane runs images built from the registries that are
(scripts/build-app-images.sh): the real ``nats-server`` from Debian, a stand-in per QuickMeet.Chat component
that behaves like the real service on the wire (tools/images/standin), a MongoDB stand-in and an idle
stand-in for auxiliary containers (config reloaders, exporters). This module

1. lists every image reference of a rendered release (containers and initContainers of every pod template:
   workloads, Jobs, CronJobs, bare Pods and helm test hooks),
2. picks the stand-in for each by the component it runs, recognised with the same
   :class:`~quickmeet_conformance.topology.ComponentMatcher` as the rules (an unknown image gets the aux
   stand-in, said in its note),
3. tags the stand-in under EXACTLY the reference the release uses (``docker tag``) and loads them into the
   kind cluster (``kind load docker-image``), so nothing is pulled, for whichever chart is under test,
4. installs the ingress controller (Traefik, tools/images/traefik/ingress.yaml) that serves ``nginx``.

``--kind-images upstream`` (``$QMC_KIND_IMAGES``, chosen in ``clusters/image_source.py``) goes through the
same plan with no stand-ins: the cluster pulls the real images from their registries.
"""

from __future__ import annotations

import base64
import os
import shlex
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .. import subprocesses
from ..errors import ToolError
from ..render import Manifest
from ..topology import MONGODB, NATS, ComponentMatcher, image_tag
from .docker import Docker
from .image_source import LOCAL, RESOLVED_SOURCES, UPSTREAM, check_resolved

if TYPE_CHECKING:
    from .kubeclient import KubeClient

REPO = Path(__file__).resolve().parents[2]  # quickmeet_conformance/clusters/images.py -> the repository
INGRESS_MANIFEST = REPO / "tools" / "images" / "traefik" / "ingress.yaml"
INGRESS_NAMESPACE = "qmc-ingress"
INGRESS_SELECTOR = "app.kubernetes.io/name=traefik"

# scripts/build-app-images.sh builds under $QMC_STANDIN_PREFIX too (a test build kept apart from the main one)
STANDIN_PREFIX = os.environ.get("QMC_STANDIN_PREFIX") or "localhost/qmc"
STANDIN_TAG = "local"
STANDIN_LABEL = "quickmeet.chat/standin"  # every image scripts/build-app-images.sh builds carries it
AUX = "aux"
INGRESS = "traefik"
# What scripts/build-app-images.sh builds: the component stand-ins, NATS, MongoDB, aux, the ingress.
STANDIN_COMPONENTS = (
    "monolith",
    "ddp-streamer",
    "accounts",
    "authorization",
    "presence",
    "stream-hub",
    NATS,
    MONGODB,
    AUX,
)
# Auxiliary images the public chart's subcharts run (bitnami MongoDB, NATS): the aux image answers to their
# commands (an idle reloader, a mongodb_exporter that pings, a shell for volume-permissions). Any other image
# that is no component is not loaded: it fails to pull on kind as on a cluster that cannot reach it.
KNOWN_AUX = (
    "os-shell",
    "mongodb-exporter",
    "nats-server-config-reloader",
    "prometheus-nats-exporter",
    "nats-box",
)
BUILD_FIX = "run scripts/build-app-images.sh (builds every stand-in from Debian, npm and the Go module proxy)"

IMAGE_SOURCES = RESOLVED_SOURCES  # what a plan's source may be (the choice itself: clusters/image_source.py)

POD_TEMPLATE_PATHS: Mapping[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
}


def image_name(image: str) -> str:
    """The last path segment of a reference, without tag or digest: ``docker.io/bitnami/os-shell:12`` ->
    ``os-shell``."""
    return image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]


def names_registry(first: str) -> bool:
    """Whether a reference's first path segment is a registry host (as containerd reads it), not a namespace."""
    return "." in first or ":" in first or first == "localhost"


def standin_image(component: str) -> str:
    """The locally built image of a stand-in: ``localhost/qmc/<component>:local``."""
    return f"{STANDIN_PREFIX}/{component}:{STANDIN_TAG}"


INGRESS_IMAGE = standin_image(INGRESS)


@dataclass(frozen=True)
class ImageUse:
    """One container of one pod template using one image."""

    image: str
    resource: str  # "Deployment/rocketchat-ddp-streamer"
    container: str
    init: bool = False
    pull_policy: str = ""  # as rendered; "" = the kubelet's default
    hook: str = ""  # the helm.sh/hook annotation (e.g. "test"): run by `helm test`, not by install

    @property
    def where(self) -> str:
        return f"{self.resource} {'initContainer' if self.init else 'container'} {self.container!r}"

    @property
    def always_pulls(self) -> bool:
        """The kubelet pulls this image even when it is present (Always, or :latest with no policy)."""
        if self.pull_policy:
            return self.pull_policy == "Always"
        return "@" not in self.image and image_tag(self.image) == "latest"


@dataclass(frozen=True)
class ImagePlan:
    """One image reference of the release and what provides it."""

    image: str  # exactly as the release references it
    component: str  # the stand-in that runs it: "ddp-streamer", "nats", "aux", ...
    uses: tuple[ImageUse, ...]
    source: str = LOCAL  # LOCAL: a stand-in is tagged as `image`; UPSTREAM: the cluster pulls `image`
    note: str = ""  # why this image needs a look (unknown image, digest, pull policy)
    blocked: str = ""  # air-gap mode: the only registry reachable, which this image is not under

    @property
    def known(self) -> bool:
        """A component, NATS, MongoDB or an auxiliary image the aux stand-in is built to run."""
        if self.component != AUX:
            return True
        return image_name(self.image) in KNOWN_AUX

    @property
    def standin(self) -> str:
        return (
            standin_image(self.component) if self.source == LOCAL and self.known and not self.blocked else ""
        )

    def workload_lines(self) -> list[str]:
        """One line per container: what runs it on kind ("stand-in ..." or "real image")."""
        if self.source != LOCAL:
            what = "real image (pulled by the cluster)"
        elif self.blocked:
            what = f"NOT LOADED: outside the air-gap registry {self.blocked} (fails to pull, as air-gapped)"
        elif self.standin:
            what = f"stand-in {self.standin}"
        else:
            what = "NOT LOADED: no known component (the kubelet will try to pull it)"
        return [f"{u.where}: {self.image} -> {what}" for u in self.uses]

    @property
    def pinned_by_digest(self) -> bool:
        return "@" in self.image

    def describe(self) -> str:
        target = f"stand-in {self.standin}" if self.source == LOCAL else "pulled by the cluster"
        text = f"{self.image} -> {target} ({', '.join(u.where for u in self.uses)})"
        return f"{text}: {self.note}" if self.note else text


def _dig(body: Mapping[str, Any], path: Sequence[str]) -> Mapping[str, Any]:
    node: Any = body
    for key in path:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else {}


def image_uses(manifests: Iterable[Manifest]) -> list[ImageUse]:
    """Every container and initContainer image of every pod template, in manifest order."""
    uses = []
    for m in manifests:
        path = POD_TEMPLATE_PATHS.get(m.kind)
        if path is None:
            continue
        hook = str(_dig(m.body, ("metadata",)).get("annotations", {}).get("helm.sh/hook", ""))
        pod_spec = _dig(m.body, path)
        for key, init in (("initContainers", True), ("containers", False)):
            for c in pod_spec.get(key) or []:
                if isinstance(c, Mapping) and c.get("image"):
                    uses.append(
                        ImageUse(
                            image=str(c["image"]),
                            resource=m.ref,
                            container=str(c.get("name", "")),
                            init=init,
                            pull_policy=str(c.get("imagePullPolicy") or ""),
                            hook=hook,
                        )
                    )
    return uses


def _note(component: str, uses: Sequence[ImageUse], image: str, source: str) -> str:
    notes = []
    if source == LOCAL:
        if component == AUX and image_name(image) not in KNOWN_AUX:
            notes.append(
                "maps to no known component (not a QuickMeet.Chat component, NATS, MongoDB or a known "
                "auxiliary image): not loaded, the kubelet will try to pull it"
            )
        if "@" in image:
            notes.append(
                "pinned by digest: a local image cannot carry that digest, the kubelet will try to pull "
                "(give the image a tag, or use --kind-images upstream)"
            )
        pulling = [u.where for u in uses if u.always_pulls]
        if pulling:
            notes.append(
                f"imagePullPolicy Always (or :latest with no policy) on {', '.join(pulling)}: the kubelet "
                "pulls it even though it is loaded (set imagePullPolicy: IfNotPresent)"
            )
    hooks = sorted({u.hook for u in uses if u.hook})
    if uses and all(u.hook for u in uses):
        notes.append(f"only in helm hooks ({', '.join(hooks)}): not run by helm install")
    return "; ".join(notes)


def _plans(uses: Iterable[ImageUse], source: str, matcher: ComponentMatcher | None) -> list[ImagePlan]:
    check_resolved(source)
    matcher = matcher or ComponentMatcher()
    by_image: dict[str, list[ImageUse]] = {}
    for use in uses:
        by_image.setdefault(use.image, []).append(use)
    plans = []
    for image, mine in by_image.items():
        component = matcher.component_of_image(image) or AUX
        plans.append(ImagePlan(image, component, tuple(mine), source, _note(component, mine, image, source)))
    return plans


def plan_images(
    manifests: Iterable[Manifest], *, source: str = LOCAL, matcher: ComponentMatcher | None = None
) -> list[ImagePlan]:
    """One plan per distinct image reference of a rendered release, in first-use order."""
    return _plans(image_uses(manifests), source, matcher)


def registry_of(image: str) -> str:
    """The registry host of a reference as containerd reads it (``nats:2`` -> ``docker.io``)."""
    return normalized_ref(image).split("/", 1)[0]


def values_registry(values: Mapping[str, Any]) -> str:
    """The registry a values file mirrors its images into: ``global.imageRegistry``, else the registry part of
    ``image.repository`` (the application's image); "" when it names none."""
    glob = values.get("global")
    named = glob.get("imageRegistry") if isinstance(glob, Mapping) else None
    if isinstance(named, str) and named.strip():
        return named.strip().rstrip("/")
    image = values.get("image")
    repository = image.get("repository") if isinstance(image, Mapping) else None
    if isinstance(repository, str) and "/" in repository:
        first = repository.split("/", 1)[0]
        if names_registry(first):
            return first
    return ""


def airgapped(plans: Iterable[ImagePlan], registry: str | None) -> list[ImagePlan]:
    """Air-gap mode: the plans whose image is not under ``registry`` (None: no registry named, so none is)
    marked blocked: not loaded, the kubelet's pull fails as on a cluster that reaches only its mirror."""
    wanted = registry_of(f"{registry.rstrip('/')}/x") if registry else None
    return [
        p
        if wanted is not None and registry_of(p.image) == wanted
        else replace(p, blocked=registry or "(none named)")
        for p in plans
    ]


def plan_refs(
    refs: Iterable[str], *, source: str = LOCAL, matcher: ComponentMatcher | None = None
) -> list[ImagePlan]:
    """Plans for bare image references (e.g. given on a command line)."""
    return _plans((ImageUse(image=r, resource="(given)", container="") for r in refs), source, matcher)


def missing_tls_secrets(manifests: Iterable[Manifest]) -> dict[str, tuple[str, ...]]:
    """``{secretName: hosts}`` the release's Ingresses name under ``tls`` and the chart does not render
    (issued in a real cluster by cert-manager or made by hand)."""
    manifests = list(manifests)
    rendered = {m.name for m in manifests if m.kind == "Secret"}
    wanted: dict[str, set[str]] = {}
    for m in manifests:
        if m.kind != "Ingress":
            continue
        for entry in _dig(m.body, ("spec",)).get("tls") or []:
            name = str((entry or {}).get("secretName") or "")
            if name and name not in rendered:
                wanted.setdefault(name, set()).update(str(h) for h in (entry.get("hosts") or []))
    return {name: tuple(sorted(hosts)) for name, hosts in sorted(wanted.items())}


def placeholder_tls_secrets(
    manifests: Iterable[Manifest], workdir: Path, namespace: str
) -> list[dict[str, Any]]:
    """A self-signed ``kubernetes.io/tls`` Secret for each TLS secret the release needs and does not bring.

    ingress-nginx serves an Ingress whose TLS secret is missing with its default certificate; Traefik's
    Ingress NGINX provider skips that Ingress altogether. So the kind lane stands in for the cluster's
    certificate issuer: create these before the install (the release never owns them; the case's namespace
    takes them away). The keys are throwaway and never printed.
    """
    from .pki import issue_certificate, new_certificate_authority

    wanted = missing_tls_secrets(manifests)
    if not wanted:
        return []
    ca = new_certificate_authority(workdir / "tls-ca", "quickmeet-conformance kind lane TLS stand-in", days=7)
    secrets = []
    for name, hosts in wanted.items():
        pair = issue_certificate(
            ca,
            workdir / "tls",
            name,
            common_name=hosts[0] if hosts else name,
            dns_names=hosts,
            server=True,
            days=7,
        )
        secrets.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "kubernetes.io/tls",
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "labels": {"app.kubernetes.io/managed-by": "quickmeet-conformance"},
                },
                "data": {
                    "tls.crt": base64.b64encode(pair.cert.read_bytes()).decode(),
                    "tls.key": base64.b64encode(pair.key.read_bytes()).decode(),
                },
            }
        )
    return secrets


# ----------------------------------------------------------------------------------------- docker / kind


def _docker() -> Docker:
    return Docker()


def _fail_line(proc: subprocess.CompletedProcess[str], default: str) -> str:
    lines = [ln.strip() for ln in (proc.stderr or proc.stdout or "").splitlines() if ln.strip()]
    return (lines[-1] if lines else default)[:300]


def missing_standins(plans: Iterable[ImagePlan], docker: Any = None) -> list[str]:
    """The stand-ins (and the ingress image) the plans need that are not built."""
    docker = docker or _docker()
    needed = sorted({p.standin for p in plans if p.source == LOCAL})
    return [image for image in needed if not docker.has_image(image)]


def real_name_tags(docker: Any = None) -> list[str]:
    """Tags in the host's docker that put a real image name (``rocketchat/...``, ``bitnami/mongodb``) on a
    stand-in built here: what an older kind lane left (it tagged on the host), and what must never be left,
    since a later ``docker run rocketchat/...`` would silently get a stand-in."""
    docker = docker or _docker()
    proc = docker.run(
        "images", "--filter", f"label={STANDIN_LABEL}", "--format", "{{.Repository}}:{{.Tag}}", timeout=60
    )
    refs = {line.strip() for line in proc.stdout.splitlines() if line.strip()}
    return sorted(r for r in refs if not r.startswith(f"{STANDIN_PREFIX}/") and not r.startswith("<none>"))


def normalized_ref(image: str) -> str:
    """The reference as containerd stores it (what the kubelet asks the CRI for): ``nats:2.4`` ->
    ``docker.io/library/nats:2.4``, ``rocketchat/x:1`` -> ``docker.io/rocketchat/x:1``, ``:latest`` added."""
    name, _, digest = image.partition("@")
    first = name.split("/", 1)[0]
    if "/" not in name:
        name = f"docker.io/library/{name}"
    elif not names_registry(first):
        name = f"docker.io/{name}"
    if not digest and ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return f"{name}@{digest}" if digest else name


def node_tag_commands(plans: Iterable[ImagePlan]) -> list[list[str]]:
    """``ctr images tag`` inside a kind node: each loaded stand-in under the reference the release uses.
    Nothing is tagged on the host, so no real image name is left in the host's docker."""
    commands = []
    for plan in plans:
        if plan.source != LOCAL or not plan.standin or plan.pinned_by_digest:
            continue  # the plan's note says why (unknown image, digest)
        commands.append(
            [
                "ctr",
                "--namespace=k8s.io",
                "images",
                "tag",
                "--force",
                normalized_ref(plan.standin),
                normalized_ref(plan.image),
            ]
        )
    return commands


def tag_in_nodes(nodes: Sequence[str], plans: Sequence[ImagePlan], docker: Any = None) -> list[str]:
    """Tag the stand-ins inside every node (one ``docker exec`` per node); returns the references tagged."""
    docker = docker or _docker()
    commands = node_tag_commands(plans)
    if not commands:
        return []
    script = " && ".join(shlex.join(c) for c in commands)
    for node in nodes:
        proc = docker.run("exec", node, "sh", "-c", script, timeout=120)
        if proc.returncode != 0:
            raise ToolError(
                f"ctr images tag in kind node {node} failed: {_fail_line(proc, 'no output')}", fix=BUILD_FIX
            )
    return [c[-1] for c in commands]


def kind_load(
    cluster_name: str, images: Sequence[str], *, kind_bin: str | Path = "kind", timeout_s: float = 600
) -> None:
    """``kind load docker-image`` of all ``images`` at once (one archive: shared layers go once)."""
    if not images:
        return
    argv = [str(kind_bin), "load", "docker-image", "--name", cluster_name, *images]
    proc = subprocesses.run(argv, timeout_s=timeout_s, what=f"kind load docker-image ({len(images)} images)")
    if proc.returncode != 0:
        raise ToolError(
            f"kind load docker-image into cluster {cluster_name!r} failed: {_fail_line(proc, 'no output')}",
            fix=BUILD_FIX,
        )


def kind_nodes(cluster_name: str, *, kind_bin: str | Path = "kind") -> list[str]:
    """The node containers of a kind cluster (``kind get nodes``)."""
    argv = [str(kind_bin), "get", "nodes", "--name", cluster_name]
    proc = subprocesses.run(argv, timeout_s=30, what="kind get nodes")
    if proc.returncode != 0:
        raise ToolError(f"kind get nodes --name {cluster_name} failed: {_fail_line(proc, 'no output')}")
    return [line.strip() for line in proc.stdout.splitlines() if line.strip()]


def load_images(
    cluster_name: str,
    plans: Sequence[ImagePlan],
    *,
    kind_bin: str | Path = "kind",
    timeout_s: float = 600,
    docker: Any = None,
    loaded_standins: set[str] | None = None,
) -> list[str]:
    """Make every image of the plans present in the kind cluster: each stand-in loaded once under its own
    name, then tagged inside the nodes as the reference the release uses (``ctr images tag``; the host's
    docker gets no tag under a real image name). UPSTREAM plans and unknown images need nothing (the
    cluster pulls). ``loaded_standins``: stand-ins already in the cluster (updated). Returns the references
    made present."""
    local = [p for p in plans if p.source == LOCAL and p.standin]
    if not local:
        return []
    docker = docker or _docker()
    missing = missing_standins(local, docker)
    if missing:
        raise ToolError(f"stand-in image(s) not built: {', '.join(missing)}", fix=BUILD_FIX)
    done = loaded_standins if loaded_standins is not None else set()
    todo = sorted({p.standin for p in local} - done)
    kind_load(cluster_name, todo, kind_bin=kind_bin, timeout_s=timeout_s)
    done.update(todo)
    return tag_in_nodes(kind_nodes(cluster_name, kind_bin=kind_bin), local, docker)


def workload_images(plans: Iterable[ImagePlan]) -> list[str]:
    """What each container of the release runs on kind: "stand-in ..." or "real image" (the run's report)."""
    return [line for plan in plans for line in plan.workload_lines()]


def install_ingress_controller(
    cluster_name: str,
    kube: KubeClient,
    *,
    kind_bin: str | Path = "kind",
    timeout_s: float = 180,
    docker: Any = None,
) -> None:
    """Load the Traefik image into the cluster and create the objects of tools/images/traefik/ingress.yaml
    through the cluster's client (the controller then serves the class ``nginx`` on the node's ports 80 and
    443 once its pods, ``INGRESS_SELECTOR`` in ``INGRESS_NAMESPACE``, are Ready: the caller waits)."""
    docker = docker or _docker()
    if not docker.has_image(INGRESS_IMAGE):
        raise ToolError(f"ingress controller image {INGRESS_IMAGE} not built", fix=BUILD_FIX)
    kind_load(cluster_name, [INGRESS_IMAGE], kind_bin=kind_bin, timeout_s=timeout_s)
    for body in yaml.safe_load_all(INGRESS_MANIFEST.read_text(encoding="utf-8")):
        if body:
            # the manifest names the default build; a build under $QMC_STANDIN_PREFIX runs its own
            for c in (
                _dig(body, POD_TEMPLATE_PATHS.get(str(body.get("kind")), ("-",))).get("containers") or []
            ):
                if str(c.get("image", "")).startswith("localhost/qmc/traefik:"):
                    c["image"] = INGRESS_IMAGE
            kube.create(body, exist_ok=True)


__all__ = [
    "AUX",
    "IMAGE_SOURCES",
    "INGRESS_IMAGE",
    "INGRESS_MANIFEST",
    "INGRESS_NAMESPACE",
    "INGRESS_SELECTOR",
    "LOCAL",
    "STANDIN_COMPONENTS",
    "UPSTREAM",
    "ImagePlan",
    "ImageUse",
    "image_uses",
    "install_ingress_controller",
    "kind_load",
    "load_images",
    "missing_standins",
    "plan_images",
    "plan_refs",
    "standin_image",
    "kind_nodes",
    "node_tag_commands",
    "normalized_ref",
    "tag_in_nodes",
    "workload_images",
]
