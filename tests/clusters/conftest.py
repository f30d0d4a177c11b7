"""Fixtures for the cluster-provider tests: one kwok control plane shared by the whole session."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from quickmeet_conformance.clusters.base import ClusterHandle, find_kubectl
from quickmeet_conformance.clusters.providers.kwok import (
    ControlPlaneBinaries,
    KwokClusterProvider,
    default_binaries_dir,
)
from quickmeet_conformance.errors import ToolError

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def control_plane_binaries() -> Path:
    """The binaries dir, or skip the live tests with the one thing to do about it."""
    binaries_dir = default_binaries_dir()
    try:
        ControlPlaneBinaries.locate(binaries_dir)
    except ToolError as exc:
        pytest.skip(str(exc))
    return binaries_dir


@pytest.fixture(scope="session")
def kwok_provider(control_plane_binaries: Path) -> Iterator[KwokClusterProvider]:
    provider = KwokClusterProvider(binaries_dir=control_plane_binaries, nodes=3, name="qmc-test")
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture(scope="session")
def kwok_cluster(kwok_provider: KwokClusterProvider) -> ClusterHandle:
    assert kwok_provider.handle is not None
    return kwok_provider.handle


def make_kubectl(kubeconfig: Path, context: str) -> Kubectl:
    binary = str(find_kubectl())

    def run(
        *args: str, input: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        argv = [binary, "--kubeconfig", str(kubeconfig), "--context", context, *args]
        result = subprocess.run(
            argv, input=input, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}"
            )
        return result

    return run


@pytest.fixture(scope="session")
def kubectl_factory() -> Callable[[Path, str], Kubectl]:
    """Build a kubectl runner for another identity (e.g. the read-only kubeconfig)."""
    return make_kubectl


@pytest.fixture(scope="session")
def kubectl(kwok_cluster: ClusterHandle) -> Kubectl:
    """kubectl as the cluster admin."""
    return make_kubectl(kwok_cluster.kubeconfig, kwok_cluster.context)
