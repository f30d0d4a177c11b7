"""Fixtures for the live lane's own tests: the session's kwok provider, a release to audit, recording wrappers."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from quickmeet_conformance.charts import load_chart
from quickmeet_conformance.clusters.providers.kwok import KwokClusterProvider
from quickmeet_conformance.helm import resolve_helm
from quickmeet_conformance.live.case import LiveCaseResult
from quickmeet_conformance.live.scenario import LiveLane
from quickmeet_conformance.plugin_live import live_run
from quickmeet_conformance.render import parse_manifests
from quickmeet_conformance.subprocesses import run
from quickmeet_conformance.topology import Topology, build_topology
from quickmeet_conformance.values import load_values

REPO = Path(__file__).resolve().parents[2]
HELM3 = REPO / ".tools" / "bin" / "helm3"


@pytest.fixture
def account_topology() -> Callable[[str], Topology]:
    """The topology of one account-service Deployment whose container has ``env`` (YAML flow items): what
    the bus probe's heartbeat settings are read from."""

    def build(env: str) -> Topology:
        return build_topology(parse_manifests(_ACCOUNT.format(env=env), "t"))

    return build


_ACCOUNT = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: r-account}}
spec:
  selector: {{matchLabels: {{app: account}}}}
  template:
    metadata: {{labels: {{app: account}}}}
    spec:
      containers:
        - name: account
          image: registry.rocket.chat/rocketchat/account-service:7.8.0
          env: [{env}]
"""


@pytest.fixture(scope="session")
def kwok_live_provider(request: pytest.FixtureRequest, live_cluster) -> KwokClusterProvider:
    """The session's kwok provider (for its read-only kubeconfig); skips on other clusters."""
    provider = live_run(request.config).cluster.provider
    if not isinstance(provider, KwokClusterProvider):
        pytest.skip("needs --cluster kwok (the read-only ServiceAccount is made by the kwok provider)")
    return provider


@pytest.fixture
def installed_release(live_lane: LiveLane, tmp_path: Path) -> Iterator[LiveCaseResult]:
    """seed-docs.yaml installed in a namespace of its own (release ``rocketchat``), deleted afterwards."""
    helm = resolve_helm(str(HELM3))
    chart = load_chart(
        str(REPO / "fixtures/charts/rocketchat"), version=None, helm_path=helm.path, workdir=tmp_path
    )
    result = live_lane.install_scenario(
        "audit-target",
        chart,
        load_values(REPO / "fixtures/values/seed-docs.yaml"),
        helm,
        restart=False,
        hub=False,
    )
    assert not result.view.rollout_error, result.view.rollout_error
    try:
        yield result
    finally:
        live_lane.release_case(result)


def _recording_wrapper(directory: Path, name: str, real: Path, log: Path) -> Path:
    """An executable ``name`` that appends its argv (one line) to ``log`` and then runs ``real``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{real}" "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def _run_pytest(
    args: list[str], *, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """pytest in a subprocess from the repo root (a fresh session: its own cluster or audit)."""
    # interrupted, the child gets to stop its cluster and remove its temp dirs (subprocess.run would SIGKILL it)
    return run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=REPO,
        timeout_s=timeout,
        grace_s=60,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="session")
def recording_wrapper():
    """``recording_wrapper(dir, name, real_binary, log)`` -> an executable that logs its argv, then runs the
    real one."""
    return _recording_wrapper


@pytest.fixture(scope="session")
def run_pytest():
    """``run_pytest(args, env=..., timeout=...)``: pytest in a subprocess from the repo root."""
    return _run_pytest


@pytest.fixture(scope="session")
def helm3_path() -> Path:
    return HELM3
