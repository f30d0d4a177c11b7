"""Runs the KWOK live lane N times in a row and reports flaky tests (an outcome that differs between runs).

    .venv/bin/python bench/kwok_flakiness.py [--runs 20] [--suite suites/live tests/live ...] [-- extra pytest args]

Each run writes JUnit; a test is flaky when it passed in some runs and failed in others. Prints per-run
wall time and the slowest test of the run (a stall that still passes shows there), then totals; exits
non-zero when any test was flaky or failed.
"""

from __future__ import annotations

import argparse
import collections
import signal
import statistics
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from quickmeet_conformance.subprocesses import run as run_child

REPO = Path(__file__).resolve().parent.parent


def outcomes(junit: Path) -> dict[str, tuple[str, float]]:
    """test -> (outcome, seconds)."""
    result = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        seconds = float(case.get("time") or 0)
        if case.find("failure") is not None or case.find("error") is not None:
            result[name] = ("failed", seconds)
        elif case.find("skipped") is not None:
            result[name] = ("skipped", seconds)
        else:
            result[name] = ("passed", seconds)
    return result


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    signal.signal(signal.SIGTERM, _terminated)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--suite",
        nargs="+",
        default=["suites/live", "tests/live", "tests/clusters"],
        help="test paths of the KWOK lane (default: the live suites and the cluster self-tests)",
    )
    parser.add_argument(
        "--failure-logs",
        type=Path,
        default=REPO / "reports" / "kwok-flakiness",
        help="where the output of a failing run is kept (default: reports/kwok-flakiness)",
    )
    parser.add_argument("extra", nargs="*")
    args = parser.parse_args()
    per_test: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    slowest_ever: dict[str, float] = {}
    times = []
    with tempfile.TemporaryDirectory(prefix="qmc-flaky-") as work:
        for run in range(args.runs):
            junit = Path(work) / f"run{run}.xml"
            start = time.perf_counter()
            # a Ctrl-C or SIGTERM to the bench gives the run time to stop its cluster and remove its temp dirs
            proc = run_child(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    *args.suite,
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    "--cluster",
                    "kwok",
                    "--junitxml",
                    str(junit),
                    *args.extra,
                ],
                cwd=REPO,
                timeout_s=3600,
                grace_s=60,
            )
            times.append(time.perf_counter() - start)
            if proc.returncode != 0:  # keep what the run printed: a flake is diagnosed from it
                args.failure_logs.mkdir(parents=True, exist_ok=True)
                (args.failure_logs / f"run{run + 1}.log").write_text(
                    proc.stdout + proc.stderr, encoding="utf-8"
                )
            got = outcomes(junit) if junit.exists() else {}
            for name, (outcome, seconds) in got.items():
                per_test[name][outcome] += 1
                slowest_ever[name] = max(slowest_ever.get(name, 0.0), seconds)
            slow_name, slow_s = max(
                ((n, s) for n, (_, s) in got.items()), key=lambda item: item[1], default=("-", 0.0)
            )
            tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-200:]
            print(
                f"run {run + 1:2d}/{args.runs}: rc={proc.returncode} {times[-1]:6.1f}s  {tail}  "
                f"(slowest {slow_s:.1f}s {slow_name})",
                flush=True,
            )
    flaky = {n: c for n, c in per_test.items() if c["passed"] and c["failed"]}
    always_failed = {n: c for n, c in per_test.items() if c["failed"] and not c["passed"]}
    print(
        f"\n{args.runs} runs of {' '.join(args.suite)}: {len(per_test)} tests each; wall time median "
        f"{statistics.median(times):.1f}s, min {min(times):.1f}s, max {max(times):.1f}s, total {sum(times):.0f}s"
    )
    print(f"flaky tests: {len(flaky)}; tests failing in every run: {len(always_failed)}")
    for name, seconds in sorted(slowest_ever.items(), key=lambda item: -item[1])[:3]:
        print(f"  slowest over all runs: {seconds:.1f}s {name}")
    for name, counts in {**flaky, **always_failed}.items():
        print(f"  {name}: {dict(counts)}")
    return 1 if flaky or always_failed else 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except KeyboardInterrupt as exc:
        print(
            f"interrupted ({exc or 'Ctrl-C'}): the running lane stopped its cluster and removed its temp dirs",
            file=sys.stderr,
        )
        raise SystemExit(130) from None
