"""Times the static lane against bare `helm template` of the same inputs, for 1 and for 20 values files.

    .venv/bin/python bench/static_lane.py [--helm .tools/bin/helm3] [--repeat 3]

Prints, per size: bare helm template (sequential, one process per file), the framework through pytest
(`pytest suites/static`, the way users run it, including interpreter start-up), and the library alone
(render + every rule, in process), with the ratio framework / bare. Targets (issue 2): the full rule
set at most 2x a bare render per values file; 20 files in under 15 s on 2 cores.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
CHART = REPO / "fixtures" / "charts" / "rocketchat"


def make_values(n: int, dest: Path) -> list[Path]:
    """``n`` distinct values files: the fixtures, then variants of them with other replica counts."""
    bases = sorted((REPO / "fixtures" / "values").glob("*.yaml"))
    files = []
    for i in range(n):
        data = yaml.safe_load(bases[i % len(bases)].read_text()) or {}
        data["replicaCount"] = 1 + i // len(bases)
        path = dest / f"v{i:02d}-{bases[i % len(bases)].stem}.yaml"
        path.write_text(yaml.safe_dump(data))
        files.append(path)
    return files


def bare_helm(helm: str, files: list[Path]) -> float:
    start = time.perf_counter()
    for f in files:
        subprocess.run(
            [helm, "template", "rocketchat", str(CHART), "-f", str(f), "--kube-version", "1.35.0"],
            check=True,
            capture_output=True,
            timeout=120,
        )
    return time.perf_counter() - start


def framework_pytest(helm: str, files: list[Path]) -> float:
    args = [
        sys.executable,
        "-m",
        "pytest",
        str(REPO / "suites" / "static"),
        "-q",
        "-p",
        "no:cacheprovider",
        "--helm",
        helm,
        "--chart",
        str(CHART),
    ]
    for f in files:
        args += ["--values", str(f)]
    start = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=REPO)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"pytest failed to run:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed


def framework_library(helm: str, files: list[Path]) -> float:
    from quickmeet_conformance.rules.engine import Options
    from quickmeet_conformance.session import ConformanceSession, Settings

    start = time.perf_counter()
    session = ConformanceSession(
        Settings(
            chart=str(CHART),
            chart_version=None,
            values=tuple(map(str, files)),
            helm=(helm,),
            options=Options(),
        )
    )
    try:
        for key in session.case_keys():
            session.result(key)
    finally:
        session.close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--helm", default=str(REPO / ".tools" / "bin" / "helm3"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="1,20")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="qmc-bench-"))
    try:
        print(f"helm: {args.helm}; repeats: {args.repeat} (median shown)")
        print(
            f"{'files':>5}  {'bare helm':>10}  {'pytest lane':>11}  {'ratio':>6}  {'library':>8}  {'ratio':>6}"
        )
        for size in (int(s) for s in args.sizes.split(",")):
            files = make_values(size, work / f"n{size}") if (work / f"n{size}").mkdir() is None else []
            bare = statistics.median(bare_helm(args.helm, files) for _ in range(args.repeat))
            lane = statistics.median(framework_pytest(args.helm, files) for _ in range(args.repeat))
            lib = statistics.median(framework_library(args.helm, files) for _ in range(args.repeat))
            print(
                f"{size:>5}  {bare:>9.2f}s  {lane:>10.2f}s  {lane / bare:>5.2f}x  {lib:>7.2f}s  {lib / bare:>5.2f}x"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
