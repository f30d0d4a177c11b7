"""Fixtures of the report tests: a bad values file, and runs of the plugin in a subprocess (tests/suite_runner)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from suite_runner import Run, run_suite

# Faults of three kinds: a schema violation (values file line), a typo'd key (values file line) and a
# chart fault on a rendered resource (stream-hub Deployment with 3 replicas).
BAD_VALUES = """\
replicaCount: 2
microservices:
  enabled: true
  ddpStreamers:
    replicas: 4
  streamHub:
    enabled: true
    replicas: 3
host: chat.example.com
ingress:
  enabled: true
  ingressClassName: nginx
"""


@pytest.fixture
def bad_values(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_VALUES, encoding="utf-8")
    return path


@pytest.fixture
def run_plugin() -> Callable[..., Run]:
    """``run_plugin(*pytest_args)``: the real plugin over suites/static in a subprocess."""
    return run_suite
