"""Bus scenarios shared by the probe self-tests: pod names as the chart names them, broker specs,
expectations and the start-probe-stop cycle of one bus."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import probe_peers as peers
from probe_peers import BrokerSpec

from quickmeet_conformance.findings import Finding
from quickmeet_conformance.probes.context import BusContext, DdpContext
from quickmeet_conformance.probes.ddp import DdpObservation
from quickmeet_conformance.probes.nats_bus import (
    BusExpectations,
    BusObservation,
    BusProbeOptions,
    observe_bus_sync,
)
from quickmeet_conformance.probes.rules import evaluate_probe_rule

HEARTBEAT = 1.0  # seconds between the test brokers' heartbeats: Moleculer's smallest sane interval
# The interval the probe is told: a margin over HEARTBEAT (Moleculer jitters +/-0.5 s, and a loaded
# 2-core CI box delays timers), so only a node that really stopped beating fails.
PROBE_HEARTBEAT = 1.5

# Pod names as the chart names them: monolith <release>-<chart name>, microservices <release>-<component>.
PODS = {
    "monolith": "rel-rocketchat-5f7b9c8d4-x1a2b",
    "authorization": "rel-authorization-6c8d9f-qw3rt",
    "accounts": "rel-account-58c6d7-zx9cv",
    "presence": "rel-presence-7b5d4f-pl4kj",
    "ddp-streamer": "rel-ddp-streamer-7d9f-abcde",
    "stream-hub": "rel-stream-hub-66f4b-mn8bv",
}
SERVICES = {
    "monolith": ("license", "meteor"),
    "authorization": ("authorization",),
    "accounts": ("accounts",),
    "presence": ("presence",),
    "ddp-streamer": ("streamer",),
    "stream-hub": ("hub",),
}


def healthy_specs(namespace: str = "", **overrides: BrokerSpec | None) -> list[BrokerSpec]:
    """One broker per component, nodeID = <pod>-1 as in a container; ``overrides`` replace (or with
    None drop) a component's broker."""
    specs = []
    for component, pod in PODS.items():
        spec = overrides.get(
            component.replace("-", "_"), BrokerSpec(f"{pod}-1", SERVICES[component], namespace)
        )
        if spec is not None:
            specs.append(spec)
    return specs


def expectations(
    counts: dict[str, int] | None = None, *, pods: dict[str, Sequence[str]] | None = None, namespace: str = ""
) -> BusExpectations:
    base = {component: 1 for component in PODS}
    base.update(counts or {})
    pod_names = {c: [PODS[c]] for c in PODS} if pods is None else pods
    return BusExpectations.from_counts(base, pods=pod_names, namespace=namespace)


def judge(
    rule_id: str, observation: BusObservation | DdpObservation, exp: BusExpectations | None = None
) -> list[Finding]:
    """One probe rule judged through the rule engine, as the suites and the live lane judge it."""
    if isinstance(observation, DdpObservation):
        return evaluate_probe_rule(DdpContext(observation), rule_id)
    return evaluate_probe_rule(BusContext(observation, exp or BusExpectations(())), rule_id)


def probe_options(**kw: object) -> BusProbeOptions:
    defaults: dict[str, object] = dict(
        heartbeat_interval=PROBE_HEARTBEAT,
        discover_timeout=10.0,
        rediscover_every=0.5,
        ping_timeout=2.0,
        connect_timeout=2.0,
    )
    defaults.update(kw)
    return BusProbeOptions(**defaults)  # type: ignore[arg-type]  # each value of its option's type


@dataclass(frozen=True)
class Bus:
    url: str
    observation: BusObservation
    nodes: tuple[str, ...]


def run_bus(
    log_dir: Path,
    specs: Sequence[BrokerSpec],
    *,
    namespace: str = "",
    keep_running: bool = False,
    **probe_kw: object,
) -> Iterator[Bus]:
    """Start NATS and the brokers, probe once, and yield the bus. Unless ``keep_running`` (tests that
    probe again), the processes are stopped before the yield: the observation is all the tests need."""
    nats, url = peers.start_nats(log_dir)
    brokers: list[peers.Peer] = []

    def stop() -> None:
        peers.stop_all(brokers)  # brokers first: without NATS their graceful stop stalls
        nats.stop()

    try:
        brokers = peers.start_brokers(url, specs, log_dir, heartbeat=HEARTBEAT)
        observation = observe_bus_sync(url, probe_options(namespace=namespace, **probe_kw))
        bus = Bus(url, observation, tuple(s.node_id for s in specs))
        if not keep_running:
            stop()
        yield bus
    finally:
        stop()
