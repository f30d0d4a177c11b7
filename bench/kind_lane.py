"""Benchmark the kind lane: node image build, warm cluster create/delete, peak memory, and the live lane
(install + live rules + probes) per values file on a real kind cluster.

    .venv/bin/python bench/kind_lane.py [--build] [--force-build] [--runs 1] [--suites] [--values FILE ...]

--build         time scripts/build-kind-node-image.sh (cached artifacts are reused; --force-build rebuilds
                the images and the node image, the Go build cache stays warm)
--runs N        warm creates: KindClusterProvider.start() (kind create + node Ready + CoreDNS + storage)
                and stop() (kind delete + network), N times
--suites        time `pytest suites/live suites/probes --cluster kind` (one cluster for all values files)
--values FILE   restrict --suites to these values files (repeatable)

Peak memory: the node container's cgroup high-water mark (memory.max_usage_in_bytes on cgroup v1,
memory.peak on v2), i.e. everything the cluster ran, sampled when the run ends.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from quickmeet_conformance.clusters.providers.kind import Docker, KindClusterProvider  # noqa: E402  # after sys.path


def node_peak_bytes(docker: Docker, container: str) -> int:
    cid = docker.run("inspect", "-f", "{{.Id}}", container).stdout.strip()
    for path in (
        f"/sys/fs/cgroup/memory/docker/{cid}/memory.max_usage_in_bytes",
        f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/memory.peak",
    ):
        try:
            return int(Path(path).read_text())
        except (OSError, ValueError):
            continue
    return 0


def bench_build(force: bool) -> dict[str, object]:
    start = time.monotonic()
    argv = [str(REPO / "scripts" / "build-kind-node-image.sh")] + (
        ["--force", "images", "node"] if force else []
    )
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - start
    size = Docker().run("image", "inspect", "-f", "{{.Size}}", "quickmeet/kind-node:v1.37.2").stdout.strip()
    steps = [
        ln.split("build-kind-node-image: ", 1)[1]
        for ln in proc.stdout.splitlines()
        if ": " in ln and "s" in ln
    ]
    return {
        "build_seconds": round(seconds, 1),
        "exit": proc.returncode,
        "node_image_bytes": int(size or 0),
        "steps": steps[-20:],
    }


def bench_create(runs: int) -> list[dict[str, object]]:
    results = []
    docker = Docker()
    for run in range(runs):
        name = f"qmc-bench-{os.getpid()}-{run}"
        provider = KindClusterProvider(name, workdir=Path("/tmp") / name, images="local")
        start = time.monotonic()
        try:
            provider.start()
            ready = time.monotonic() - start
            peak = node_peak_bytes(docker, f"{name}-control-plane")
        finally:
            stop_start = time.monotonic()
            provider.stop()
            stopped = time.monotonic() - stop_start
            shutil.rmtree(Path("/tmp") / name, ignore_errors=True)
        results.append(
            {
                "create_ready_seconds": round(ready, 1),
                "delete_seconds": round(stopped, 1),
                "node_peak_mib": round(peak / 2**20),
                "leftovers": provider.leftovers(),
            }
        )
    return results


def bench_suites(values: list[str]) -> dict[str, object]:
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "suites/live",
        "suites/probes",
        "--cluster",
        "kind",
        "--kind-images",
        "local",
        "-q",
        "-rA",
    ]
    for path in values:
        argv += ["--values", path]
    start = time.monotonic()
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)
    tail = [ln for ln in proc.stdout.splitlines() if ln.strip()][-3:]
    return {"suites_seconds": round(time.monotonic() - start, 1), "exit": proc.returncode, "summary": tail}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", action="store_true")
    parser.add_argument("--force-build", action="store_true")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--suites", action="store_true")
    parser.add_argument("--values", action="append", default=[])
    args = parser.parse_args()
    report: dict[str, object] = {}
    if args.build or args.force_build:
        report["build"] = bench_build(args.force_build)
    if args.runs:
        report["create"] = bench_create(args.runs)
    if args.suites:
        report["suites"] = bench_suites(args.values)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
