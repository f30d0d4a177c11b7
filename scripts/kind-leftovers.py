#!/usr/bin/env python3
"""What a kind run left on the host's docker: kind node containers, the lane's networks (``qmc-*-net``) and
tags that put a real image name on a stand-in. Prints ``leftovers: none`` or one line per object and exits 1.

scripts/test.sh runs it after the kind scenario (pass, fail or timeout): a run must leave nothing behind.
Usage: scripts/kind-leftovers.py [--cluster-prefix qmc-]"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from quickmeet_conformance.clusters.docker import Docker
from quickmeet_conformance.clusters.images import real_name_tags
from quickmeet_conformance.errors import ToolError


def leftovers(docker: Docker, prefix: str) -> list[str]:
    found = []
    nodes = docker.run("ps", "-a", "--filter", "label=io.x-k8s.kind.cluster", "--format", "{{.Names}}")
    found += [f"container {n}" for n in nodes.stdout.split() if n.startswith(prefix)]
    networks = docker.run("network", "ls", "--format", "{{.Name}}")
    found += [f"network {n}" for n in networks.stdout.split() if n.startswith(prefix) and n.endswith("-net")]
    found += [f"image tag {ref} (a stand-in under a real image name)" for ref in real_name_tags(docker)]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cluster-prefix", default="qmc-")
    args = parser.parse_args()
    try:
        found = leftovers(Docker(), args.cluster_prefix)
    except ToolError as exc:
        print(f"leftovers: not checked: {exc.line()}")
        return 1
    print("leftovers: none" if not found else "leftovers: " + "; ".join(found))
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
