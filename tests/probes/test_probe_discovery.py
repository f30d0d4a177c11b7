"""Discovery waits for a condition, never for a quiet spell (issue 24): a node that answers late is found,
a node that never answers is named at the deadline with what its pod was doing, and a node seen only on
HEARTBEAT is asked with its own DISCOVER. Real nats-server; Moleculer brokers and a hand-made node in Python
(a node that ignores the broadcast DISCOVER, which no Moleculer broker does, to prove the per-node one)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import probe_peers as peers
import pytest
from probe_peers import BrokerSpec
from probe_scenarios import HEARTBEAT, PODS, SERVICES, probe_options

from quickmeet_conformance.findings import Verdict
from quickmeet_conformance.probes import nats_bus as nb
from quickmeet_conformance.probes.context import BusContext
from quickmeet_conformance.probes.nats_bus.client import WAIT_DISCOVERY, WAIT_HEARTBEAT, WAIT_PING
from quickmeet_conformance.probes.rules import evaluate_probe_rule

pytestmark = pytest.mark.probes


@pytest.fixture(scope="module")
def nats_url(log_dir: Path) -> Iterator[str]:
    server, url = peers.start_nats(log_dir)
    try:
        yield url
    finally:
        server.stop()


def _spec(component: str) -> BrokerSpec:
    return BrokerSpec(f"{PODS[component]}-1", SERVICES[component])


def _probe_while(
    url: str, options: nb.BusProbeOptions, after_s: float, late: list[BrokerSpec], log_dir: Path
) -> tuple[nb.BusObservation, list[peers.Peer]]:
    """Probe in a thread and start ``late`` brokers ``after_s`` into it, from this thread: a child's
    PR_SET_PDEATHSIG fires when the *thread* that started it ends, so brokers start from the main thread."""
    result: list[nb.BusObservation] = []
    probe = threading.Thread(target=lambda: result.append(nb.observe_bus_sync(url, options)))
    probe.start()
    started: list[peers.Peer] = []
    try:
        time.sleep(after_s)  # the scenario's timing: the brokers join this far into discovery
        started = peers.start_brokers(url, late, log_dir, heartbeat=HEARTBEAT)
    finally:
        probe.join(timeout=options.time_budget + 10)
    assert result, "the probe did not finish within its budget"
    return result[0], started


def test_a_node_that_joins_late_is_found_not_counted_missing(nats_url: str, log_dir: Path) -> None:
    """The issue's false failure: a node that answers after the old 1 s quiet window. Here the presence
    broker starts 2 s after the probe's first DISCOVER; discovery waits for its pod and finds it."""
    early = peers.start_brokers(nats_url, [_spec("monolith")], log_dir, heartbeat=HEARTBEAT)
    exp = nb.BusExpectations.from_counts(
        {"monolith": 1, "presence": 1},
        pods={"monolith": [PODS["monolith"]], "presence": [PODS["presence"]]},
    )
    late: list[peers.Peer] = []
    try:
        options = probe_options(expect=exp, discover_timeout=25.0)
        obs, late = _probe_while(nats_url, options, 2.0, [_spec("presence")], log_dir)
    finally:
        peers.stop_all(late + early)
    discovery = obs.waited(WAIT_DISCOVERY)
    assert discovery is not None and discovery.met, discovery
    assert discovery.seconds >= 1.5, f"the late node cannot have answered before it started: {discovery}"
    assert {f"{PODS[c]}-1" for c in ("monolith", "presence")} <= set(obs.nodes), list(obs.nodes)
    assert obs.unanswered == ()
    for rule in (nb.RULE_NODE_COUNT, nb.RULE_NODE_MAPS_TO_POD, nb.RULE_HEARTBEATS, nb.RULE_PING_PONG):
        findings = evaluate_probe_rule(BusContext(obs, exp), rule)
        assert {f.verdict for f in findings} == {Verdict.PASS}, [f.detail() for f in findings]
    assert {w.what for w in obs.waits} == {WAIT_DISCOVERY, WAIT_PING, WAIT_HEARTBEAT}
    assert all(w.met and w.seconds >= 0 for w in obs.waits), obs.waits


def test_a_node_that_never_answers_is_named_at_the_deadline(nats_url: str, log_dir: Path) -> None:
    """Kills bus.node-count-matches-pods and bus.node-maps-to-pod with the reason: the expected presence
    pod never joins; at the deadline the finding names it, what its pod was doing, and how long discovery
    re-sent DISCOVER."""
    brokers = peers.start_brokers(nats_url, [_spec("monolith")], log_dir, heartbeat=HEARTBEAT)
    exp = nb.BusExpectations.from_counts(
        {"monolith": 1, "presence": 1},
        pods={"monolith": [PODS["monolith"]], "presence": [PODS["presence"]]},
    )
    try:
        started = time.monotonic()
        obs = nb.observe_bus_sync(nats_url, probe_options(expect=exp, discover_timeout=2.0))
        elapsed = time.monotonic() - started
    finally:
        peers.stop_all(brokers)
    discovery = obs.waited(WAIT_DISCOVERY)
    assert discovery is not None and not discovery.met and discovery.seconds >= 2.0, discovery
    assert elapsed < 2.0 + 2 * 1.5 + 3, f"the deadline bounds the probe: {elapsed:.1f}s"
    assert obs.unanswered == (f"pod {PODS['presence']} (presence)",)
    assert obs.discover_broadcasts >= 3, "DISCOVER is re-sent while the pod is missing"
    state = "phase Running, Ready, restarts 4, last log line: license check failed"
    ctx = BusContext(obs, exp, pod_states={PODS["presence"]: state})
    [count] = [f for f in evaluate_probe_rule(ctx, nb.RULE_NODE_COUNT) if f.failed]
    assert count.message.startswith("presence: expected 1 node(s) announcing 'presence', found 0 (none)")
    assert f"pod {PODS['presence']}: {state}" in count.message, count.message
    assert f"never heard from: pod {PODS['presence']} (presence)" in count.message, count.message
    [mapping] = [f for f in evaluate_probe_rule(ctx, nb.RULE_NODE_MAPS_TO_POD) if f.failed]
    assert state in mapping.message and mapping.resource == f"Pod/{PODS['presence']}"


def test_nats_url_mode_waits_for_the_expected_count(nats_url: str, log_dir: Path) -> None:
    """Without pod names: discovery waits until two nodes announce 'streamer' (the second starts late)."""
    first = BrokerSpec("a-ddp-streamer-1", ("streamer",))
    second = BrokerSpec("b-ddp-streamer-1", ("streamer",))
    brokers = peers.start_brokers(nats_url, [first], log_dir, heartbeat=HEARTBEAT)
    exp = nb.BusExpectations.from_counts({"ddp-streamer": 2})
    try:
        options = probe_options(expect=exp, discover_timeout=25.0)
        obs, late = _probe_while(nats_url, options, 1.5, [second], log_dir)
        brokers += late
    finally:
        peers.stop_all(brokers)
    assert obs.waited(WAIT_DISCOVERY).met, obs.waits  # type: ignore[union-attr]
    findings = evaluate_probe_rule(BusContext(obs, exp), nb.RULE_NODE_COUNT)
    assert {f.verdict for f in findings} == {Verdict.PASS}, [f.detail() for f in findings]


async def _deaf_node(url: str, node_id: str, stop: asyncio.Event, seen: list[tuple[str, dict]]) -> None:
    """A node that beats and answers only its own DISCOVER (never the broadcast), recording what the probe
    publishes; a test peer may publish INFO and HEARTBEAT, the probe never does."""
    import nats

    nc = await nats.connect(url, connect_timeout=2, allow_reconnect=False, max_reconnect_attempts=1)

    async def on_discover(msg) -> None:  # type: ignore[no-untyped-def]
        payload = json.loads(msg.data)
        info = {
            "ver": "4",
            "sender": node_id,
            "services": [{"name": "presence"}],
            "hostname": node_id,
            "instanceID": "x",
        }
        await nc.publish(f"MOL.INFO.{payload['sender']}", json.dumps(info).encode())

    async def on_any(msg) -> None:  # type: ignore[no-untyped-def]
        seen.append((msg.subject, json.loads(msg.data)))

    async def on_ping(msg) -> None:  # type: ignore[no-untyped-def]
        payload = json.loads(msg.data)
        pong = {"ver": "4", "sender": node_id, "id": payload["id"], "time": payload["time"]}
        await nc.publish(f"MOL.PONG.{payload['sender']}", json.dumps(pong).encode())

    await nc.subscribe(f"MOL.DISCOVER.{node_id}", cb=on_discover)
    await nc.subscribe(f"MOL.PING.{node_id}", cb=on_ping)
    await nc.subscribe("MOL.>", cb=on_any)
    await nc.flush()
    while not stop.is_set():
        await nc.publish("MOL.HEARTBEAT", json.dumps({"ver": "4", "sender": node_id, "cpu": 1}).encode())
        try:
            await asyncio.wait_for(stop.wait(), timeout=0.5)
        except asyncio.TimeoutError:
            pass
    await nc.close()


def test_a_node_seen_only_on_heartbeat_is_sent_its_own_discover(nats_url: str) -> None:
    """A node that missed the broadcast (here: ignores it) but beats is asked by MOL.DISCOVER.<nodeID>, as
    Moleculer asks an unknown node; the probe publishes only DISCOVER and PING, never INFO or HEARTBEAT."""
    node_id = f"{PODS['presence']}-1"
    exp = nb.BusExpectations.from_counts({"presence": 1}, pods={"presence": [PODS["presence"]]})

    async def scenario() -> tuple[nb.BusObservation, list[tuple[str, dict]]]:
        stop, seen = asyncio.Event(), []
        node = asyncio.create_task(_deaf_node(nats_url, node_id, stop, seen))
        await asyncio.sleep(0.3)  # the node is subscribed before the probe's first DISCOVER
        obs = await nb.observe_bus(nats_url, probe_options(expect=exp, discover_timeout=10.0))
        stop.set()
        await node
        return obs, [(s, p) for s, p in seen if p.get("sender") == obs.probe_id]

    obs, published = asyncio.run(scenario())
    assert obs.waited(WAIT_DISCOVERY).met, obs.waits  # type: ignore[union-attr]
    assert node_id in obs.nodes and obs.discover_targeted == (node_id,)
    kinds = {s.split(".")[1] for s, _ in published}
    assert kinds <= {"DISCOVER", "PING"}, sorted(s for s, _ in published)
    assert f"MOL.DISCOVER.{node_id}" in {s for s, _ in published}
