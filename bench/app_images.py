"""Benchmark scripts/build-app-images.sh: each stage's wall time, cold or warm, and the image sizes.

    .venv/bin/python bench/app_images.py [--cold] [--stages rootfs,npm,traefik,images]

warm (default)  the caches as they are: what a re-run of the install costs (a few seconds when built)
--cold          an empty QMC_CACHE and GOCACHE in a temp dir and fresh docker tags: debootstrap, npm ci,
                the Traefik Go build from the module cache and every image, as on a fresh machine (the Go
                module download cache, ~/go/pkg/mod, stays: it only saves the downloads)

Images are listed with their size from `docker image ls` (they share one base layer, so the sum overstates
what `kind load` sends: `docker save` of them all is measured too).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "build-app-images.sh"
PREFIX = "localhost/qmc"


def run_stage(stage: str, env: dict[str, str]) -> float:
    started = time.monotonic()
    proc = subprocess.run(
        [str(SCRIPT), stage], env=env, capture_output=True, text=True, timeout=7200, check=False
    )
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        sys.exit(f"{stage} failed:\n{proc.stderr[-2000:]}")
    return elapsed


def image_sizes() -> list[tuple[str, str]]:
    out = subprocess.run(
        ["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}} {{.Size}}", f"{PREFIX}/*"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return [tuple(line.split(" ", 1)) for line in out.splitlines() if line.endswith("B")]  # type: ignore[misc]  # 2 parts


def saved_size(refs: list[str]) -> int:
    """Bytes of one `docker save` of all refs: what `kind load docker-image` streams into the node."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "all.tar"
        subprocess.run(["docker", "save", "-o", str(archive), *refs], timeout=600, check=True)
        return archive.stat().st_size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold", action="store_true", help="empty build caches (see the module docstring)")
    parser.add_argument("--stages", default="rootfs,npm,traefik,images")
    args = parser.parse_args()
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="qmc-bench-images-") as tmp:
        if args.cold:
            env["QMC_CACHE"] = str(Path(tmp) / "cache")
            env["GOCACHE"] = str(Path(tmp) / "gocache")
            # Fresh images: drop the tags so `images` imports and builds again (layers may stay cached).
            refs = [r for r, _ in image_sizes()]
            if refs:
                subprocess.run(["docker", "rmi", *refs], capture_output=True, timeout=300, check=False)
        print(f"{'stage':<10} {'seconds':>8}   ({'cold' if args.cold else 'warm'})")
        for stage in args.stages.split(","):
            print(f"{stage:<10} {run_stage(stage, env):>8.1f}", flush=True)
        sizes = image_sizes()
        for ref, size in sizes:
            print(f"  {ref:<45} {size}")
        shipped = [r for r, _ in sizes if not r.startswith((f"{PREFIX}/base:", f"{PREFIX}/standin-app:"))]
        if shipped:
            mib = saved_size(shipped) / 2**20
            print(f"docker save of {len(shipped)} images (what kind load sends): {mib:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
