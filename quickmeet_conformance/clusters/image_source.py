"""The one choice of where the kind lane's images come from (``--kind-images``, env ``QMC_KIND_IMAGES``).

- ``local``: the node image scripts/build-kind-node-image.sh assembles here without any registry (Kubernetes
  v1.37.2, every control-plane image preloaded); application stand-ins and the ingress controller come from
  ``quickmeet_conformance.clusters.images`` (scripts/build-app-images.sh).
- ``upstream``: kind's own pinned ``kindest/node`` image and ingress-nginx's kind manifest, for machines
  that reach the registries (the maintainers' CI); the cluster pulls the release's images.
- ``airgap``: ``local``, except that only images under the registry the values name (``global.imageRegistry``,
  else the registry of ``image.repository``) are made present: any other fails to pull, as on a customer's
  air-gapped cluster that mirrors one registry.
- ``auto`` (the default): ``local`` when the locally built node image exists, ``upstream`` otherwise.

The option's choices, the provider's resolution and the image plans' sources all come from here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from quickmeet_conformance.clusters.docker import Docker
from quickmeet_conformance.errors import ToolError

LOCAL = "local"
UPSTREAM = "upstream"
AUTO = "auto"
AIRGAP = "airgap"
RESOLVED_SOURCES = (LOCAL, UPSTREAM)  # what a choice resolves to (an image plan's source)
IMAGE_SOURCES = (AUTO, LOCAL, UPSTREAM, AIRGAP)  # what --kind-images accepts
ENV = "QMC_KIND_IMAGES"

# kind v0.33.0's default node image (sigs.k8s.io/kind pkg/apis/config/defaults/image.go), pinned by digest
NODE_IMAGE = "kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5"
# what scripts/build-kind-node-image.sh tags (tools/controlplane/kube/go.mod pins the version)
LOCAL_NODE_IMAGE = "quickmeet/kind-node:v1.37.2"


@dataclass(frozen=True)
class KindImages:
    """Where the node image and the ingress controller come from (``--kind-images``)."""

    source: str  # "local" or "upstream"
    node_image: str
    airgap: bool = False  # local, and only the values' registry is reachable

    @property
    def local(self) -> bool:
        return self.source == LOCAL


def not_a_choice(choice: str, choices: tuple[str, ...] = IMAGE_SOURCES) -> ToolError:
    return ToolError(f"--kind-images {choice!r}: not a choice", fix=f"use one of {', '.join(choices)}")


def check_resolved(source: str) -> str:
    """``source`` when an image plan can use it (local or upstream); the one-line error otherwise."""
    if source not in RESOLVED_SOURCES:
        raise not_a_choice(source, RESOLVED_SOURCES)
    return source


def resolve_images(source: str | None = None, docker: Docker | None = None) -> KindImages:
    """``--kind-images`` (or $QMC_KIND_IMAGES): local, upstream, or auto (local when its image exists)."""
    choice = (source or os.environ.get(ENV) or AUTO).strip().lower()
    if choice not in IMAGE_SOURCES:
        raise not_a_choice(choice)
    if choice == AIRGAP:
        return KindImages(LOCAL, LOCAL_NODE_IMAGE, airgap=True)
    if choice == AUTO:
        try:
            choice = LOCAL if (docker or Docker()).has_image(LOCAL_NODE_IMAGE) else UPSTREAM
        except ToolError:
            choice = LOCAL  # no docker at all: the preflight check names the fix
    return KindImages(choice, LOCAL_NODE_IMAGE if choice == LOCAL else NODE_IMAGE)
