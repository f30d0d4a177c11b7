"""A customer's check of one values file, timed side by side with a bare ``helm template`` of the same input.

    .venv/bin/python bench/customer_check.py [--venv DIR] [--helm PATH] [--repeat 7] [--install]

Rows (median wall time of --repeat runs, and CPU time: user + sys of the process and its children):
  bare helm template            the chart directory, one -f values file
  conformance check             against the bundled reference chart (the default)
  conformance check --chart TGZ against a packaged copy of the reference chart (helm package)
  pytest route                  python -m pytest --pyargs quickmeet_conformance.suites.static --values FILE,
                                run from an empty directory (no conftest: what a customer has)
  python -c pass / import cli   interpreter start-up and the CLI's imports: where the remaining time goes
--install first times the static-only install (a fresh venv and ``pip install`` of the wheel, pip's cache warm)
and its size on disk, then times that install: what a customer has (no dev plugins such as hypothesis loading
in pytest). --venv picks another environment (default without --install: this interpreter's).

Targets (issue 11): conformance check <= 0.6 s, the pytest route <= 1.0 s of wall time. The machine is shared:
the load average is printed with the numbers, and CPU time is the figure less disturbed by other work.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHART = REPO / "fixtures" / "charts" / "rocketchat"
VALUES = REPO / "fixtures" / "values" / "microservices-scaled.yaml"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(
    argv: list[str], *, cwd: Path, env: dict[str, str], repeat: int, ok: tuple[int, ...] = (0,)
) -> tuple[float, float]:
    """(median wall seconds, median CPU seconds) of ``argv``; one untimed warm-up run first."""
    walls, cpus = [], []
    for attempt in range(repeat + 1):
        cpu0, start = _children_cpu(), time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        wall, cpu = time.perf_counter() - start, _children_cpu() - cpu0
        if proc.returncode not in ok:
            raise SystemExit(
                f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}"
            )
        if attempt:
            walls.append(wall)
            cpus.append(cpu)
    return statistics.median(walls), statistics.median(cpus)


def _tracked_copy(dest: Path) -> Path:
    """The files git tracks (and new ones not ignored): the wheel is built from a copy, never in the checkout."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split("\0")
    for rel in filter(None, listed):
        source = REPO / rel
        if source.is_file() and not source.is_symlink():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / rel)
    return dest


def install(python: str, work: Path) -> tuple[float, int]:
    """Seconds to create a fresh venv and pip install the wheel into it; the venv's size in bytes."""
    dist = work / "dist"
    build = subprocess.run(
        [python, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(_tracked_copy(work / "src"))],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if build.returncode != 0:
        raise SystemExit(f"building the wheel failed:\n{build.stdout[-2000:]}\n{build.stderr[-2000:]}")
    wheel = next(dist.glob("quickmeet_conformance-*.whl"))
    venv = work / "static-venv"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "install", "-q", str(wheel)],
        check=True,
        capture_output=True,
        timeout=900,
    )
    seconds = time.perf_counter() - start
    du = subprocess.run(["du", "-sk", str(venv)], capture_output=True, text=True, timeout=120, check=True)
    return seconds, int(du.stdout.split()[0]) * 1024  # blocks on disk, as du reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--venv",
        type=Path,
        default=None,
        help="environment to time (default: the static-only install with --install, else this one)",
    )
    parser.add_argument("--helm", default=str(REPO / ".tools" / "bin" / "helm3"))
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--install", action="store_true", help="also time the static-only install")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qmc-bench-") as tmp:
        work = Path(tmp)
        installed = None
        if args.install:
            seconds, size = install(sys.executable, work)
            installed = (
                f"static-only install (fresh venv + pip install of the wheel): {seconds:.1f} s, "
                f"{size / 1e6:.0f} MB on disk"
            )
            print(installed)
        venv = args.venv or (work / "static-venv" if args.install else Path(sys.executable).parent.parent)
        python, conformance = str(venv / "bin" / "python"), str(venv / "bin" / "conformance")
        tools = work / "tools"
        tools.mkdir()
        (tools / "helm").symlink_to(args.helm)
        shutil.copy(VALUES, work / "values.yaml")
        package = subprocess.run(
            [args.helm, "package", str(CHART), "-d", str(work)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        tgz = package.stdout.strip().rsplit(" ", 1)[-1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("QMC_", "HELM_BIN", "PYTEST_"))}
        # a pip install has its bytecode: with PYTHONDONTWRITEBYTECODE every run would compile every module
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(work / "pyc")
        env["PATH"] = f"{tools}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
        rows = [
            (
                "bare helm template",
                [
                    args.helm,
                    "template",
                    "rocketchat",
                    str(CHART),
                    "-f",
                    "values.yaml",
                    "--kube-version",
                    "1.35.0",
                ],
                (0,),
            ),
            ("conformance check (bundled chart)", [conformance, "check", "values.yaml"], (0, 1)),
            ("conformance check --chart .tgz", [conformance, "check", "values.yaml", "--chart", tgz], (0, 1)),
            (
                "pytest route (--pyargs, static)",
                [
                    python,
                    "-m",
                    "pytest",
                    "--pyargs",
                    "quickmeet_conformance.suites.static",
                    "--values",
                    "values.yaml",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                ],
                (0, 1),
            ),
            ("python -c pass", [python, "-c", "pass"], (0,)),
            (
                "python: import quickmeet_conformance.cli",
                [python, "-c", "import quickmeet_conformance.cli"],
                (0,),
            ),
            (
                "python: import pytest + plugin",
                [python, "-c", "import pytest, quickmeet_conformance.plugin"],
                (0,),
            ),
        ]
        load = os.getloadavg()
        print(
            f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs; "
            f"median of {args.repeat} runs; venv {venv}"
        )
        print(f"{'':42} {'wall s':>8} {'cpu s':>8}")
        results = {}
        for name, argv, ok in rows:
            wall, cpu = timed(argv, cwd=work, env=env, repeat=args.repeat, ok=ok)
            results[name] = (wall, cpu)
            print(f"{name:42} {wall:8.3f} {cpu:8.3f}")
        bare = results["bare helm template"][0]
        for name, target in (
            ("conformance check (bundled chart)", 0.6),
            ("pytest route (--pyargs, static)", 1.0),
        ):
            wall = results[name][0]
            print(
                f"{name}: {wall / bare:.1f}x the bare render; target {target} s: "
                f"{'met' if wall <= target else 'NOT met'} at this load"
            )


if __name__ == "__main__":
    main()
