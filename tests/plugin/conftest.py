"""The plugin's own wiring (options, markers), run in subprocesses with the runner of tests/hardening."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_RUNNER = Path(__file__).resolve().parents[1] / "hardening" / "suite_runner.py"
if "suite_runner" not in sys.modules:  # one module whichever test directory imports it first
    _spec = importlib.util.spec_from_file_location("suite_runner", _RUNNER)
    assert _spec is not None and _spec.loader is not None
    sys.modules["suite_runner"] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules["suite_runner"])
