"""The cluster-provider extension point: a provider is one class registered by its own module, and the live
lane reaches it only through the ``ClusterProvider`` interface. Proved with a toy provider declared and
registered here alone: nothing in the package names it, yet ``--cluster toy`` would start it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from quickmeet_conformance.clusters.base import ClusterHandle, ClusterProvider, IngressPorts, ProviderSettings
from quickmeet_conformance.clusters.registry import (
    provider_class,
    provider_names,
    register_provider,
    unregister_provider,
)
from quickmeet_conformance.errors import UserError
from quickmeet_conformance.live.cluster import start_cluster

PACKAGE = Path(__file__).resolve().parents[2] / "quickmeet_conformance"
KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: toy, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: toy, user: {token: not-a-secret}}]
contexts: [{name: toy, context: {cluster: toy, user: toy}}]
current-context: toy
"""


class ToyProvider(ClusterProvider):
    """A cluster that is only a kubeconfig: records what the lane asked of it."""

    provider = "toy"
    owns_cluster = True
    supports_probes = True
    made: list[ToyProvider] = []

    def __init__(self, settings: ProviderSettings, kubeconfig: Path) -> None:
        self.name = f"toy-{settings.worker}" if settings.worker else "toy"
        self.kubeconfig = kubeconfig
        self.calls: list[str] = []
        self.up = False

    @classmethod
    def for_live_lane(cls, settings: ProviderSettings) -> ToyProvider:
        provider = cls(settings, Path(settings.kubeconfig or ""))
        cls.made.append(provider)
        return provider

    def start(self) -> ClusterHandle:
        self.calls.append("start")
        self.up = True
        return ClusterHandle(self.name, self.kubeconfig, "toy", "v1.37.2", self.provider)

    def stop(self) -> None:
        self.calls.append("stop")
        self.up = False

    def running(self) -> bool:
        return self.up

    def release_volumes(self) -> list[str]:
        self.calls.append("release_volumes")
        return []

    def ingress_ports(self) -> IngressPorts:
        return IngressPorts(http=8080)


@pytest.fixture
def toy(tmp_path: Path) -> Iterator[Path]:
    register_provider(ToyProvider)
    ToyProvider.made = []
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    try:
        yield kubeconfig
    finally:
        unregister_provider("toy")


def test_the_built_in_providers_register_themselves_in_the_documented_order() -> None:
    names = provider_names()
    assert names[:3] == ("kwok", "kind", "existing") and names[-1] == "none", names
    assert [provider_class(n).owns_cluster for n in ("kwok", "kind", "existing")] == [True, True, False]
    assert provider_class("kwok").requires == ("cryptography",)
    assert provider_class("kind").supports_images and provider_class("kind").supports_probes
    assert not provider_class("existing").supports_images


def test_a_provider_declared_in_its_own_file_is_a_cluster_choice(toy: Path) -> None:
    assert "toy" in provider_names() and provider_names()[-1] == "none"
    settings = ProviderSettings(worker="gw1", kubeconfig=str(toy))
    cluster = start_cluster("toy", run_id="r1", settings=settings)
    try:
        (provider,) = ToyProvider.made
        assert cluster.provider is provider and cluster.owned, "ownership is the provider's own attribute"
        assert cluster.handle.name == "toy-gw1" and cluster.alive
        cluster.release_volumes()
        assert provider.calls == ["start", "release_volumes"]
        cluster.stop()
        assert provider.calls[-1] == "stop" and not cluster.alive, "running() says the cluster is gone"
    finally:
        cluster.kube.close()


def test_an_unknown_provider_is_one_line_naming_the_choices(toy: Path) -> None:
    with pytest.raises(
        UserError, match=r"--cluster 'nope': not a provider \(use one of kwok, kind, existing,"
    ):
        provider_class("nope")


def test_the_live_lane_names_no_provider() -> None:
    """What the lane asks a provider goes through the interface: no provider's name in its modules."""
    for module in ("live/cluster.py", "live/scenario.py", "live/steps.py", "live/run.py"):
        source = (PACKAGE / module).read_text(encoding="utf-8")
        named = re.findall(r'"(kwok|kind|existing)"(?!\s*:)', source)  # a manifest's "kind": key is no name
        assert not named, f"{module} names the provider(s) {named}"
        assert not re.search(r"getattr\([^)]*provider", source), f"{module} looks for a capability by getattr"
