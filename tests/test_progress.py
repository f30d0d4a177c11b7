"""Progress lines for long waits: rate-limited, silent for short waits, and visible through pytest's capture."""

from __future__ import annotations

from pathlib import Path

import pytest
from suite_runner import run_pytest
from waits import eventually

from quickmeet_conformance.progress import Progress, waiting


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_lines_come_at_most_every_n_seconds() -> None:
    clock, lines = FakeClock(), []
    with waiting("pods ready", write=lines.append, every_s=10, clock=clock) as wait:
        for _ in range(30):  # a poll every second for 30 s
            clock.now += 1
            wait.update("1/3 ready")
    assert lines == [
        "waiting for pods ready: 10s (1/3 ready) ...",
        "waiting for pods ready: 20s (1/3 ready) ...",
        "waiting for pods ready: 30s (1/3 ready) ...",
        "pods ready: done after 30s",
    ]


def test_short_waits_print_nothing_and_failures_say_so() -> None:
    clock, lines = FakeClock(), []
    with waiting("quick", write=lines.append, every_s=10, clock=clock) as wait:
        clock.now += 3
        wait.update()
    assert lines == []
    with pytest.raises(TimeoutError):
        with waiting("slow", write=lines.append, every_s=5, clock=clock) as wait:
            clock.now += 6
            wait.update("0/1 ready")
            raise TimeoutError
    assert lines == ["waiting for slow: 6s (0/1 ready) ...", "slow: gave up after 6s (0/1 ready)"]


def test_ticker_prints_while_the_caller_blocks() -> None:
    lines: list[str] = []
    with waiting("a blocking call", write=lines.append, every_s=0.05, ticker=True):
        eventually(  # the caller blocks here while the ticker thread prints
            "two ticks",
            lambda: sum(ln.startswith("waiting for a blocking call: ") for ln in lines) >= 2,
            timeout=10,
        )
    assert len([ln for ln in lines if ln.startswith("waiting for a blocking call: ")]) >= 2
    assert lines[-1].startswith("a blocking call: done after")


def test_every_s_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Progress("x", every_s=0)


def test_fixture_writes_past_pytest_capture(tmp_path: Path) -> None:
    (tmp_path / "test_wait.py").write_text(
        "import time\n"
        "def test_wait(conformance_progress):\n"
        "    with conformance_progress('the thing', every_s=0.05) as wait:\n"
        "        for _ in range(6):\n"
        "            time.sleep(0.03)\n"
        "            wait.update('still going')\n",
        encoding="utf-8",
    )
    proc = run_pytest(
        "-q",
        "test_wait.py",
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert proc.returncode == 0, proc.output
    assert "waiting for the thing: " in proc.stdout and "(still going) ..." in proc.stdout, proc.stdout
