"""Installed but not asked for, the plugin changes nothing in another project's run: xdist keeps its own
scheduler and SIGTERM its default handler; asked for (this project's defaults), both are the plugin's."""

from __future__ import annotations

from pathlib import Path

from suite_runner import run_pytest

REPO = Path(__file__).resolve().parents[2]
PROBE = """
import signal

def test_sigterm_handler():
    print("SIGTERM-DEFAULT" if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL else "SIGTERM-PLUGIN")
"""


def _pytest(where: Path, *args: str) -> str:
    run = run_pytest("-p", "xdist.plugin", "-s", "-v", *args, cwd=where, timeout_s=120)
    return run.output


def test_another_project_keeps_xdist_and_sigterm(tmp_path: Path) -> None:
    (tmp_path / "test_other.py").write_text(PROBE, encoding="utf-8")
    alone = _pytest(tmp_path, "test_other.py")
    assert "SIGTERM-DEFAULT" in alone, alone[-2000:]
    parallel = _pytest(tmp_path, "-n", "2", "test_other.py")
    assert "LoadScheduling" in parallel and "LoadGroupScheduling" not in parallel, parallel[-2000:]


def test_this_project_gets_the_plugins_scheduler(tmp_path: Path) -> None:
    (tmp_path / "test_other.py").write_text(PROBE, encoding="utf-8")
    (tmp_path / "conftest.py").write_text(
        "def pytest_conformance_defaults(config):\n    return {'cluster': 'none'}\n", encoding="utf-8"
    )
    asked = _pytest(tmp_path, "-n", "2", "test_other.py")
    assert "LoadGroupScheduling" in asked, asked[-2000:]
    assert "SIGTERM-PLUGIN" in _pytest(tmp_path, "test_other.py")
