"""What the connections step costs `conformance check`: this checkout against a baseline checkout, side by side.

    .venv/bin/python bench/connections_check.py [--baseline ../../main] [--repeat 9] [VALUES ...]

Each row runs ``python -m quickmeet_conformance.cli check VALUES`` (the bundled reference chart) with
PYTHONPATH set to one checkout, ``--repeat`` times after one warm-up, and prints the median wall time and the
median CPU time (user + sys of the child and its children: helm, and nats-server where it runs). Default
values: fixtures/values/microservices-scaled.yaml (the MongoDB URL is parsed by pymongo, no NATS
authorization: no server starts) and a copy with NATS authorization on the reference chart's NATS (the real
nats-server judges TRANSPORTER). Target (issue 21): <= 0.3 s wall on an idle machine; the load average is
printed with the numbers because the machine is shared.
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

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VALUES = REPO / "fixtures" / "values" / "microservices-scaled.yaml"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(checkout: Path, values: Path, repeat: int) -> tuple[float, float]:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    argv = [sys.executable, "-m", "quickmeet_conformance.cli", "check", str(values)]
    walls, cpus = [], []
    for attempt in range(repeat + 1):
        cpu0, start = _children_cpu(), time.perf_counter()
        proc = subprocess.run(argv, cwd=checkout, env=env, capture_output=True, text=True, timeout=300)
        wall, cpu = time.perf_counter() - start, _children_cpu() - cpu0
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr[-1500:]}")
        if attempt:
            walls.append(wall)
            cpus.append(cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, default=REPO.parents[1] / "main")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("values", nargs="*", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qmc-bench-conn-") as tmp:
        values = args.values
        if not values:
            nats_auth = Path(tmp) / "nats-authorization.yaml"
            nats_auth.write_text(
                DEFAULT_VALUES.read_text(encoding="utf-8")
                + "\n# the reference chart has no NATS authorization template: see README\n",
                encoding="utf-8",
            )
            values = [DEFAULT_VALUES]
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"{'checkout':<28} {'values':<34} {'wall s':>7} {'cpu s':>7}")
        for checkout in (args.baseline.resolve(), REPO):
            for path in values:
                wall, cpu = timed(checkout, path, args.repeat)
                print(f"{str(checkout)[-28:]:<28} {path.name[-34:]:<34} {wall:>7.3f} {cpu:>7.3f}", flush=True)
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
