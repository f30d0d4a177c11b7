"""Fixtures of the hardening self-tests (the subprocess runner lives in suite_runner.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from suite_runner import Run, run_suite


@pytest.fixture
def run_plugin() -> Callable[..., Run]:
    """``run_plugin(*pytest_args)``: the real plugin over suites/static in a subprocess."""
    return run_suite
