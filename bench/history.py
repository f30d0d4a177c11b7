"""Times `conformance history` over the fifteen released charts (../shared/upstream-charts): cold (an empty
render cache: every render by helm) and warm (the renders kept from the cold run; the rules run again).

    .venv/bin/python bench/history.py [--helm .tools/bin/helm3] [--repeat 3] [--checkout DIR]

Each run is the command as a maintainer types it (interpreter start-up included), printing the per-release
changes. Target (issue 22): under 10 s for the fifteen versions. Prints the machine's load, since the
cold run is bound by helm (~0.15 CPU-s per render, 186 renders) on 2 shared cores, and each run's CPU time
(user + sys of the command and its children: helm and the forked evaluators), which moves less with the load.
Bytecode is cached (a temporary PYTHONPYCACHEPREFIX, warmed by the first run), as a pip install has it.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHARTS = REPO.parent / "shared" / "upstream-charts"
TARGET_S = 10.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(helm: str, cache: Path, pycache: Path, checkout: Path) -> tuple[float, float, str]:
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
    env = {**os.environ, "PYTHONPATH": str(checkout), "PYTHONPYCACHEPREFIX": str(pycache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cpu0, started = _children_cpu(), time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True, cwd=checkout)
    return time.monotonic() - started, _children_cpu() - cpu0, done.stdout.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--helm", default=str(REPO / ".tools" / "bin" / "helm3"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--checkout", type=Path, default=REPO, help="the checkout whose command is timed")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    cold, warm = [], []
    with tempfile.TemporaryDirectory(prefix="qmc-bench-pyc-") as pycache:
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="qmc-bench-history-") as cache:
                seconds, cpu, line = run(args.helm, Path(cache), Path(pycache), args.checkout.resolve())
                cold.append(seconds)
                print(f"cold  {seconds:5.1f}s wall {cpu:5.1f}s cpu  load {os.getloadavg()[0]:4.1f}  {line}")
                seconds, cpu, line = run(args.helm, Path(cache), Path(pycache), args.checkout.resolve())
                warm.append(seconds)
                print(f"warm  {seconds:5.1f}s wall {cpu:5.1f}s cpu  load {os.getloadavg()[0]:4.1f}  {line}")
    for name, times in (("cold", cold), ("warm", warm)):
        print(
            f"{name}: median {statistics.median(times):.1f}s, min {min(times):.1f}s (target < {TARGET_S:g}s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
