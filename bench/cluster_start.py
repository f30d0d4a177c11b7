"""Benchmark the kwok cluster provider: warm start time and peak memory of the control plane.

    .venv/bin/python bench/cluster_start.py [--runs 3] [--nodes 3] [--replicas 2] [--settle 10]

Per run: start() (processes up -> nodes Ready) and then a Deployment Ready; memory is the peak of
the summed RSS of every control-plane process, sampled from /proc every 100 ms until the run ends
(including ``--settle`` seconds of idle after the Deployment is Ready).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from quickmeet_conformance.clusters.processes import wait_for
from quickmeet_conformance.clusters.providers.kwok import KwokClusterProvider


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class RssSampler:
    provider: KwokClusterProvider
    interval_s: float = 0.1
    peak_total_kib: int = 0
    peak_by_name: dict[str, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for process in list(self.provider.processes):
                if process.pid is None:
                    continue
                value = rss_kib(process.pid)
                total += value
                self.peak_by_name[process.name] = max(self.peak_by_name.get(process.name, 0), value)
            self.peak_total_kib = max(self.peak_total_kib, total)
            self._stop.wait(self.interval_s)

    def stop(self) -> None:
        self._stop.set()


def deployment(name: str, replicas: int) -> dict:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": name, "image": "registry.invalid/bench:fake"}]},
            },
        },
    }


def one_run(args: argparse.Namespace) -> dict[str, float]:
    provider = KwokClusterProvider(nodes=args.nodes, name="qmc-bench")
    sampler = RssSampler(provider)
    thread = threading.Thread(target=sampler.run, daemon=True)
    thread.start()
    t0 = time.monotonic()
    try:
        provider.start()
        t_nodes = time.monotonic()
        api = provider.api()
        api.create(deployment("bench", args.replicas), "default")

        def ready() -> bool:
            status = (api.get("Deployment", "bench", "default") or {}).get("status", {})
            return status.get("readyReplicas") == args.replicas

        wait_for("bench Deployment Ready", ready, timeout=120, interval=0.1)
        t_deploy = time.monotonic()
        time.sleep(args.settle)  # idle memory after the burst, still sampled
    finally:
        sampler.stop()
        thread.join(timeout=5)
        stop_start = time.monotonic()
        provider.stop()
        t_stop = time.monotonic() - stop_start
    mib = 1024.0
    print(
        f"run: nodes Ready {t_nodes - t0:.2f}s, Deployment({args.replicas}) Ready {t_deploy - t0:.2f}s, "
        f"stop {t_stop:.2f}s, peak RSS total {sampler.peak_total_kib / mib:.0f} MiB ("
        + ", ".join(f"{n} {v / mib:.0f}" for n, v in sampler.peak_by_name.items())
        + ")"
    )
    return {
        "nodes": t_nodes - t0,
        "deploy": t_deploy - t0,
        "stop": t_stop,
        "rss": sampler.peak_total_kib / mib,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument(
        "--settle", type=float, default=10.0, help="idle seconds sampled after the Deployment is Ready"
    )
    args = parser.parse_args()
    results = [one_run(args) for _ in range(args.runs)]
    print(
        f"median of {len(results)}: nodes Ready {statistics.median(r['nodes'] for r in results):.2f}s, "
        f"Deployment Ready {statistics.median(r['deploy'] for r in results):.2f}s, "
        f"stop {statistics.median(r['stop'] for r in results):.2f}s, "
        f"peak RSS {max(r['rss'] for r in results):.0f} MiB (max over runs)"
    )


if __name__ == "__main__":
    main()
