"""Fixtures of the report tests: a bad values file, and the subprocess runner shared with tests/hardening."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

_RUNNER = Path(__file__).resolve().parents[1] / "hardening" / "suite_runner.py"
if "suite_runner" not in sys.modules:  # one module whichever test directory imports it first
    _spec = importlib.util.spec_from_file_location("suite_runner", _RUNNER)
    sys.modules["suite_runner"] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules["suite_runner"])
from suite_runner import Run, run_suite  # noqa: E402  # once suite_runner is loaded

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
