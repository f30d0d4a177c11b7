"""Times `conformance history` over the fifteen released charts (../shared/upstream-charts): cold (an empty
render cache: every render by helm) and warm (the renders kept from the cold run; the rules run again).

    .venv/bin/python bench/history.py [--helm .tools/bin/helm3] [--repeat 3]

Each run is the command as a maintainer types it (interpreter start-up included), printing the per-release
changes. Target (issue 22): under 10 s for the fifteen versions. Prints the machine's load, since the
cold run is bound by helm (~0.15 CPU-s per render, 144 renders) on 2 shared cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHARTS = REPO.parent / "shared" / "upstream-charts"
TARGET_S = 10.0


def run(helm: str, cache: Path) -> tuple[float, str]:
    command = [
        sys.executable,
        "-m",
        "quickmeet_conformance.cli",
        "history",
        *sorted(str(p) for p in CHARTS.glob("rocketchat-*")),
        "--values-dir",
        str(REPO / "fixtures" / "history"),
        "--helm",
        helm,
        "--cache-dir",
        str(cache),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return time.monotonic() - started, done.stdout.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--helm", default=str(REPO / ".tools" / "bin" / "helm3"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    cold, warm = [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="qmc-bench-history-") as cache:
            seconds, line = run(args.helm, Path(cache))
            cold.append(seconds)
            print(f"cold  {seconds:5.1f}s  {line}")
            seconds, line = run(args.helm, Path(cache))
            warm.append(seconds)
            print(f"warm  {seconds:5.1f}s  {line}")
    for name, times in (("cold", cold), ("warm", warm)):
        print(
            f"{name}: median {statistics.median(times):.1f}s, min {min(times):.1f}s (target < {TARGET_S:g}s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
