"""Runs the KWOK live lane N times in a row and reports flaky tests (an outcome that differs between runs).

    .venv/bin/python bench/kwok_flakiness.py [--runs 20] [--suite suites/live] [-- extra pytest args]

Each run writes JUnit; a test is flaky when it passed in some runs and failed in others. Prints per-run
wall time and totals; exits non-zero when any test was flaky or failed.
"""

from __future__ import annotations

import argparse
import collections
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def outcomes(junit: Path) -> dict[str, str]:
    result = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            result[name] = "failed"
        elif case.find("skipped") is not None:
            result[name] = "skipped"
        else:
            result[name] = "passed"
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--suite", default="suites/live")
    parser.add_argument("extra", nargs="*")
    args = parser.parse_args()
    per_test: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    times = []
    with tempfile.TemporaryDirectory(prefix="qmc-flaky-") as work:
        for run in range(args.runs):
            junit = Path(work) / f"run{run}.xml"
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "pytest", args.suite, "-q", "-p", "no:cacheprovider",
                                   "--cluster", "kwok", "--junitxml", str(junit), *args.extra],
                                  cwd=REPO, capture_output=True, text=True, timeout=3600)
            times.append(time.perf_counter() - start)
            got = outcomes(junit) if junit.exists() else {}
            for name, outcome in got.items():
                per_test[name][outcome] += 1
            tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-200:]
            print(f"run {run + 1:2d}/{args.runs}: rc={proc.returncode} {times[-1]:6.1f}s  {tail}", flush=True)
    flaky = {n: c for n, c in per_test.items() if c["passed"] and c["failed"]}
    always_failed = {n: c for n, c in per_test.items() if c["failed"] and not c["passed"]}
    print(f"\n{args.runs} runs of {args.suite}: {len(per_test)} tests each; wall time median "
          f"{statistics.median(times):.1f}s, min {min(times):.1f}s, max {max(times):.1f}s, total {sum(times):.0f}s")
    print(f"flaky tests: {len(flaky)}; tests failing in every run: {len(always_failed)}")
    for name, counts in {**flaky, **always_failed}.items():
        print(f"  {name}: {dict(counts)}")
    return 1 if flaky or always_failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
