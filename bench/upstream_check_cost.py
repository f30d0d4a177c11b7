"""What `conformance check` costs over the fifteen released charts, against the same renders by bare helm.

    .venv/bin/python bench/upstream_check_cost.py [--helm .tools/bin/helm3] [--checkout DIR] [--in-process]

The inputs: each released version in ../shared/upstream-charts with the three values files of its era in
fixtures/history (eras.yaml: README-style monolith, microservices, microservices-scaled), 15 x 3 = 45 renders.

Side by side, one run each, on the same machine in the same minute:
  bare helm template   45 ``helm template`` calls in one loop, one after the other, with the same arguments the
                       check gives helm (release, namespace, --skip-tests, the values file, --kube-version);
  conformance check    one ``conformance check A B C --chart DIR`` process per version (as a user runs it:
                       three values files of one chart), fifteen processes one after the other;
  with --in-process    also the same 45 cases evaluated by one Python process (ConformanceSession per chart,
                       one interpreter: what the test suite and ``conformance history`` pay).
Printed: each total (wall and CPU: user + sys of the processes and their children, helm and nats-server
included), the ratio check / bare helm, and the load average. Target (issue 21): ratio <= 1.5.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
UPSTREAM = REPO.parent / "shared" / "upstream-charts"
if not UPSTREAM.is_dir():  # a worktree under /work/wt: the charts are beside the main checkout
    UPSTREAM = Path("/work/shared/upstream-charts")
HISTORY = REPO / "fixtures" / "history"
KUBE_VERSION = "1.35.0"


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def cases() -> list[tuple[str, Path, list[Path]]]:
    """(version, chart directory, the era's three values files) for every released version."""
    eras = yaml.safe_load((HISTORY / "eras.yaml").read_text(encoding="utf-8"))["eras"]
    found = []
    for chart in sorted(UPSTREAM.glob("rocketchat-*"), key=lambda p: _version_key(p.name.split("-", 1)[1])):
        version = chart.name.split("-", 1)[1]
        key = _version_key(version)
        era = next(e for e in eras if _version_key(e["first"]) <= key <= _version_key(e["last"]))
        found.append((version, chart, sorted((HISTORY / era["dir"]).glob("*.yaml"))))
    return found


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_loop(
    commands: list[list[str]], env: dict[str, str], ok: tuple[int, ...], cwd: Path | None = None
) -> tuple[float, float]:
    """Wall and CPU seconds of running ``commands`` one after the other (in ``cwd``: ``python -m`` puts the
    working directory before PYTHONPATH, so a checkout's check runs from that checkout)."""
    cpu0, start = _children_cpu(), time.perf_counter()
    for argv in commands:
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, cwd=cwd)
        if proc.returncode not in ok:
            raise SystemExit(
                f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stdout[-800:]}{proc.stderr[-800:]}"
            )
    return time.perf_counter() - start, _children_cpu() - cpu0


IN_PROCESS = """
import sys, time, resource
from quickmeet_conformance.session import ConformanceSession, Settings
def cpu():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime
helm, args = sys.argv[1], sys.argv[2:]
start, cpu0 = time.perf_counter(), cpu()
while args:
    chart, n = args[0], int(args[1])
    files, args = tuple(args[2 : 2 + n]), args[2 + n :]
    session = ConformanceSession(Settings(chart=chart, chart_version=None, values=files, helm=(helm,)))
    try:
        session.check_setup()
        results = [session.result(key) for key in session.case_keys()]
        assert all(r.input_error is None for r in results), [r.input_error for r in results]
    finally:
        session.close()
print(time.perf_counter() - start, cpu() - cpu0)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--helm", type=Path, default=REPO / ".tools" / "bin" / "helm3")
    parser.add_argument("--checkout", type=Path, default=REPO, help="the checkout whose check is timed")
    parser.add_argument("--in-process", action="store_true", help="also time one process over all 45 cases")
    args = parser.parse_args()
    helm = str(args.helm.resolve())
    found = cases()
    with tempfile.TemporaryDirectory(prefix="qmc-bench-upstream-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("QMC_", "PYTEST_", "HELM_BIN"))}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # a pip install has its bytecode
        env.update(PYTHONPATH=str(args.checkout.resolve()), PYTHONPYCACHEPREFIX=str(Path(tmp) / "pyc"))
        bare = [
            [helm, "template", "rocketchat", str(chart), "--namespace", "default", "--skip-tests"]
            + ["--values", str(values), "--kube-version", KUBE_VERSION]
            for _, chart, files in found
            for values in files
        ]
        check = [
            [sys.executable, "-m", "quickmeet_conformance.cli", "check", *map(str, files)]
            + ["--chart", str(chart), "--helm", helm]
            for _, chart, files in found
        ]
        in_process = [sys.executable, "-c", IN_PROCESS, helm]
        for _, chart, files in found:
            in_process += [str(chart), str(len(files)), *map(str, files)]
        # warm-up (bytecode, page cache, helm's own caches), untimed
        checkout = args.checkout.resolve()
        timed_loop([bare[0]], env, (0,))
        timed_loop([check[0]], env, (0, 1), checkout)
        load = os.getloadavg()
        rows = [("bare helm template (45 renders)", timed_loop(bare, env, (0,)))]
        rows.append(("conformance check (15 processes)", timed_loop(check, env, (0, 1), checkout)))
        if args.in_process:
            out = subprocess.run(
                in_process, env=env, capture_output=True, text=True, timeout=900, check=True, cwd=checkout
            )
            wall, cpu = (float(x) for x in out.stdout.split())
            rows.append(("conformance, one process (45 cases)", (wall, cpu)))
        after = os.getloadavg()
    print(
        f"{len(found)} versions x 3 values files; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} "
        f"before, {after[0]:.1f} {after[1]:.1f} {after[2]:.1f} after, on {os.cpu_count()} CPUs"
    )
    print(f"{'':38} {'wall s':>8} {'cpu s':>8} {'x helm (wall)':>14} {'x helm (cpu)':>13}")
    base_wall, base_cpu = rows[0][1]
    for name, (wall, cpu) in rows:
        print(f"{name:38} {wall:8.2f} {cpu:8.2f} {wall / base_wall:14.2f} {cpu / base_cpu:13.2f}")
    ratio = rows[1][1][0] / base_wall
    print(
        f"target: conformance check <= 1.5x bare helm template (wall): {ratio:.2f}x, "
        + ("met" if ratio <= 1.5 else "NOT met")
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
