"""What every cluster provider gives the live lane: the ``ClusterProvider`` interface and its capabilities.

A provider starts (or attaches to) a cluster and stops what it started. Beyond that the live lane asks a
provider only what this interface declares, so a new provider is one class (see ``clusters/registry.py``):

- required: ``provider`` (the ``--cluster`` value), ``for_live_lane`` (build one from the lane's options),
  ``start`` and ``stop``;
- declared by class attributes: ``owns_cluster`` (this run manages the cluster: it may tear it down, load
  images into it, release its volumes) and ``requires`` (Python modules beyond the ``live`` extra);
- optional, each with a default that does nothing: ``running``, ``release_volumes``, and, when
  ``supports_images`` / ``supports_probes`` say so, ``prepare_images`` + ``tls_secrets`` / ``ingress_ports``.
"""

from __future__ import annotations

import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

from quickmeet_conformance.errors import ToolError

if TYPE_CHECKING:  # only types: the topology and manifests come from the layers above, at call time
    from quickmeet_conformance.render import Manifest
    from quickmeet_conformance.topology import ComponentMatcher

REPO_ROOT = Path(__file__).resolve().parents[2]
REPO_TOOLS_BIN = REPO_ROOT / ".tools" / "bin"


@dataclass(frozen=True)
class ClusterHandle:
    """How to reach a running cluster: pass ``kubeconfig`` + ``context`` to kubectl/helm."""

    name: str
    kubeconfig: Path
    context: str
    kube_version: str  # the API server's gitVersion, e.g. "v1.37.2"
    provider: str  # "kwok", "existing", ...


@dataclass(frozen=True)
class ProviderSettings:
    """What the live lane's options say about the cluster; each provider takes the fields it needs."""

    worker: str = (
        ""  # the xdist worker id ("gw0"), "" without xdist: providers that start a cluster suffix it
    )
    kubeconfig: str | None = None
    context: str = ""
    keep: bool = False  # --keep-cluster
    cluster_name: str = ""  # --cluster-name
    kind_images: str = "auto"  # --kind-images


@dataclass(frozen=True)
class IngressPorts:
    """Where the cluster's ingress controller listens on this machine (loopback ports): the probes' way in."""

    http: int
    https: int = 0


class ClusterProvider(ABC):
    """Starts (or attaches to) a cluster and stops what it started; usable as a context manager."""

    name: str  # the cluster's name
    # -- declared by each provider class (read by the registry and the lane without starting anything) --------
    provider: ClassVar[str] = ""  # the --cluster value that chooses this provider ("" for a base class)
    rank: ClassVar[int] = 50  # place among the --cluster choices (help text, error messages)
    owns_cluster: ClassVar[bool] = False  # True: start() brings up a cluster this run manages
    requires: ClassVar[tuple[str, ...]] = ()  # importable modules needed beyond the 'live' extra
    supports_images: ClassVar[bool] = (
        False  # prepare_images/tls_secrets act: the lane renders before installing
    )
    supports_probes: ClassVar[bool] = False  # pods really run: ingress_ports() lets the protocol probes in

    @classmethod
    @abstractmethod
    def for_live_lane(cls, settings: ProviderSettings) -> ClusterProvider:
        """The provider the live lane uses for ``--cluster <cluster>`` with these options."""

    @abstractmethod
    def start(self) -> ClusterHandle:
        """Bring the cluster up (or check it is reachable) and return how to reach it."""

    @abstractmethod
    def stop(self) -> None:
        """Undo start(); idempotent; never destroys anything this provider did not create."""

    # -- optional capabilities: the defaults are right for a cluster this run only attaches to ------------------
    def running(self) -> bool:
        """False once stop() ran (e.g. the SIGINT handler stopped the cluster under the run)."""
        return True

    def release_volumes(self) -> list[str]:
        """Make the volumes of deleted claims reusable (an admin step); returns what it released."""
        return []

    def prepare_images(
        self,
        manifests: Iterable[Manifest],
        matcher: ComponentMatcher | None = None,
        airgap_registry: str | None = None,
    ) -> list[str]:
        """``supports_images``: make every image the rendered release uses present in the cluster. Air-gap mode
        (``airgap_registry`` not None): only those under that registry, the one the values name ("": none)."""
        return []

    @property
    def airgap(self) -> bool:
        """Only the values' registry is reachable (``--kind-images airgap``)."""
        return False

    def tls_secrets(
        self, namespace: str, manifests: Iterable[Manifest], workdir: Path
    ) -> list[dict[str, Any]]:
        """``supports_images``: Secrets the cluster's certificate issuer would make for the release."""
        return []

    def ingress_ports(self) -> IngressPorts | None:
        """``supports_probes``: where the ingress controller answers on this machine (None: no way in)."""
        return None

    # -- context manager ----------------------------------------------------------------------------------------
    def __enter__(self) -> ClusterHandle:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def find_kubectl(explicit: str | os.PathLike[str] | None = None) -> Path:
    """kubectl from (in order) the argument, $QMC_KUBECTL, the repo's .tools/bin, PATH."""
    candidates = [
        explicit,
        os.environ.get("QMC_KUBECTL"),
        REPO_TOOLS_BIN / "kubectl",
        shutil.which("kubectl"),
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK) and Path(candidate).is_file():
            return Path(candidate)
    raise ToolError(
        "kubectl not found", fix="install it into .tools/bin or put it on PATH, or set QMC_KUBECTL"
    )
