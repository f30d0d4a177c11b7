"""`conformance check` on one values file, several checkouts side by side: wall and CPU time, runs interleaved.

    .venv/bin/python bench/check_speed.py [--checkout DIR ...] [--repeat 15] [--values FILE ...]

Each run is ``python -m quickmeet_conformance.cli check VALUES`` on the bundled reference chart with
PYTHONPATH set to one checkout. The checkouts take turns run by run (A B C A B C ...), so a machine that gets
busier or quieter during the measurement slows every checkout alike. Printed per checkout and values file:
the median wall time and the median CPU time (user + sys of the process and its children: helm, and
nats-server where it runs), with the load average before and after.

Bytecode is cached (a temporary PYTHONPYCACHEPREFIX per checkout, warmed by one untimed run), as a pip
install has it: with PYTHONDONTWRITEBYTECODE set, every run would compile every module again and the
figures would say more about the compiler than about the check.

Target (issue 21): <= 0.3 s wall, median, on an idle machine. On a loaded machine the CPU time is the
figure that moves least; the wall time is shown for what it is.
Default checkouts: /work/wt/before (the code before issue 21's work, if present) and this one.
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
CHART = REPO / "fixtures" / "charts" / "rocketchat"
DEFAULT_VALUES = REPO / "fixtures" / "values" / "microservices-scaled.yaml"
BEFORE = Path("/work/wt/before")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def environment(checkout: Path, pycache: Path, helm_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QMC_", "PYTEST_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        PYTHONPATH=str(checkout),
        PYTHONPYCACHEPREFIX=str(pycache),
        PATH=f"{helm_dir}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
    )
    env.pop("HELM_BIN", None)
    return env


def run_once(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    cpu0, start = _children_cpu(), time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr[-1500:]}")
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkout", type=Path, action="append", help="a checkout to time (repeatable)")
    parser.add_argument(
        "--values", type=Path, action="append", help="values file (default: microservices-scaled)"
    )
    parser.add_argument("--helm", type=Path, default=REPO / ".tools" / "bin" / "helm3")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    checkouts = [c.resolve() for c in args.checkout or ([BEFORE] if BEFORE.is_dir() else []) + [REPO]]
    values = [v.resolve() for v in args.values or [DEFAULT_VALUES]]
    with tempfile.TemporaryDirectory(prefix="qmc-bench-speed-") as tmp:
        work = Path(tmp)
        helm_dir = work / "bin"
        helm_dir.mkdir()
        (helm_dir / "helm").symlink_to(args.helm.resolve())
        envs = {c: environment(c, work / f"pyc-{i}", helm_dir) for i, c in enumerate(checkouts)}
        rows = [(c, v) for v in values for c in checkouts]
        argv = {v: [sys.executable, "-m", "quickmeet_conformance.cli", "check", str(v)] for v in values}
        for checkout, path in rows:  # warm-up: bytecode written, page cache filled
            run_once(argv[path], envs[checkout], work)
        before = os.getloadavg()
        samples: dict[tuple[Path, Path], list[tuple[float, float]]] = {row: [] for row in rows}
        for _ in range(args.repeat):
            for checkout, path in rows:
                samples[(checkout, path)].append(run_once(argv[path], envs[checkout], work))
        after = os.getloadavg()
    print(
        f"load average {before[0]:.1f} {before[1]:.1f} {before[2]:.1f} before, "
        f"{after[0]:.1f} {after[1]:.1f} {after[2]:.1f} after, on {os.cpu_count()} CPUs; "
        f"median of {args.repeat} interleaved runs"
    )
    print(f"{'checkout':<30} {'values':<34} {'wall s':>7} {'cpu s':>7} {'min wall':>8}")
    for (checkout, path), runs in samples.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(
            f"{str(checkout)[-30:]:<30} {path.name[-34:]:<34} {wall:>7.3f} {cpu:>7.3f} "
            f"{min(w for w, _ in runs):>8.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
