"""The NATS bus probe against real nats-server and real Moleculer 0.14 brokers.

Each rule is shown passing (the healthy bus) and failing (a bus built to break it). Failing tests say
in their docstring which assertion they kill.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import probe_peers as peers
import pytest
from probe_peers import BrokerSpec
from probe_scenarios import (
    HEARTBEAT,
    PODS,
    PROBE_HEARTBEAT,
    SERVICES,
    Bus,
    expectations,
    healthy_specs,
    judge,
    probe_options,
    run_bus,
)

from quickmeet_conformance.findings import Finding, Verdict
from quickmeet_conformance.probes import nats_bus as nb
from quickmeet_conformance.probes.rules import evaluate_bus, rules_of_probe

pytestmark = pytest.mark.probes


def by_rule(findings: list[Finding], rule_id: str) -> list[Finding]:
    return [f for f in findings if f.rule_id == rule_id]


def verdicts(findings: list[Finding]) -> set[Verdict]:
    return {f.verdict for f in findings}


def report(findings: list[Finding]) -> str:
    return "\n".join(f"{f.verdict.value}: {f.detail()}" for f in findings)


def only_failures(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.failed]


# ------------------------------------------------------------------------------------------- healthy bus


def test_healthy_bus_observation_describes_every_node(healthy_bus: Bus) -> None:
    obs = healthy_bus.observation
    assert obs.connected and not obs.errors, report(list(obs.errors))
    assert set(obs.nodes) == set(healthy_bus.nodes), (
        f"discovered {sorted(obs.nodes)}, started {sorted(healthy_bus.nodes)}"
    )
    streamer = obs.nodes["rel-ddp-streamer-7d9f-abcde-1"]
    assert "streamer" in streamer.services and streamer.pod_name == PODS["ddp-streamer"]
    assert streamer.protocol_version == "4" and streamer.instance_id and streamer.hostname
    assert streamer.client.startswith("nodejs 0.14."), streamer.client
    assert obs.prefix == "MOL" and obs.probe_id.startswith("qmc-probe-")
    assert all(obs.heartbeats[n] >= 1 for n in obs.nodes), dict(obs.heartbeats)
    assert set(obs.pongs) == set(obs.nodes), dict(obs.pongs)
    assert obs.heartbeat_window <= PROBE_HEARTBEAT * 2 + 0.5, (
        f"listened {obs.heartbeat_window} s, bound is 2 intervals"
    )
    assert not obs.truncated and obs.malformed == 0


CONNECTION_RULES = [nb.RULE_REACHABLE, nb.RULE_PROTOCOL]
BUS_RULES = [r.id for r in rules_of_probe("bus") if r.id not in CONNECTION_RULES]


@pytest.mark.parametrize("rule", CONNECTION_RULES)
def test_connection_rules_pass_on_healthy_bus(healthy_bus: Bus, rule: str) -> None:
    findings = judge(rule, healthy_bus.observation)
    assert verdicts(findings) == {Verdict.PASS}, report(findings)


@pytest.mark.parametrize("rule", BUS_RULES)
def test_every_bus_rule_passes_on_healthy_bus(healthy_bus: Bus, rule: str) -> None:
    findings = judge(rule, healthy_bus.observation, expectations())
    assert findings and verdicts(findings) == {Verdict.PASS}, report(findings)


def test_nats_url_mode_checks_counts_but_skips_pod_mapping(healthy_bus: Bus) -> None:
    """--nats-url mode: pod names unknown, so bus.node-maps-to-pod skips and counts are still checked."""
    exp = nb.BusExpectations.from_counts({c: 1 for c in PODS})
    assert verdicts(judge(nb.RULE_NODE_MAPS_TO_POD, healthy_bus.observation, exp)) == {Verdict.SKIP}
    assert verdicts(judge(nb.RULE_NODE_COUNT, healthy_bus.observation, exp)) == {Verdict.PASS}


def test_more_replicas_expected_than_nodes_fails_node_count(healthy_bus: Bus) -> None:
    """Kills bus.node-count-matches-pods: values ask for 2 ddp-streamer pods, the bus has 1 node."""
    findings = only_failures(
        judge(nb.RULE_NODE_COUNT, healthy_bus.observation, expectations({"ddp-streamer": 2}, pods={}))
    )
    assert len(findings) == 1, report(findings)
    assert findings[0].message == (
        "ddp-streamer: expected 2 node(s) announcing 'streamer', found 1 (rel-ddp-streamer-7d9f-abcde-1)"
    )


def test_node_of_another_pod_fails_node_maps_to_pod(healthy_bus: Bus) -> None:
    """Kills bus.node-maps-to-pod: the cluster's presence pod is not the node on the bus (and vice versa)."""
    pods = {c: [PODS[c]] for c in PODS} | {"presence": ["rel-presence-7b5d4f-new01"]}
    findings = only_failures(
        judge(nb.RULE_NODE_MAPS_TO_POD, healthy_bus.observation, expectations(pods=pods))
    )
    messages = sorted(f.message for f in findings)
    assert len(messages) == 2, report(findings)
    assert "node rel-presence-7b5d4f-pl4kj-1 announces 'presence' but is none of its pods" in messages[0]
    assert "pod rel-presence-7b5d4f-new01 has no node on MOL" in messages[1]


def test_probe_publishes_only_discover_and_pings(healthy_bus: Bus) -> None:
    """Safety: one DISCOVER, one PING per node, never INFO or HEARTBEAT (CONTRACT.md > On the bus)."""
    import nats

    async def spy() -> tuple[nb.BusObservation, list[tuple[str, dict]]]:
        nc = await nats.connect(
            healthy_bus.url, connect_timeout=2, allow_reconnect=False, max_reconnect_attempts=1
        )
        seen: list[tuple[str, dict]] = []

        async def record(msg) -> None:
            seen.append((msg.subject, json.loads(msg.data)))

        await nc.subscribe(">", cb=record)
        await nc.flush()
        obs = await nb.observe_bus(healthy_bus.url, probe_options())
        await nc.flush()
        await nc.close()
        return obs, [(s, p) for s, p in seen if p.get("sender") == obs.probe_id]

    obs, published = asyncio.run(spy())
    subjects = sorted(s for s, _ in published)
    assert subjects == sorted(["MOL.DISCOVER", *(f"MOL.PING.{n}" for n in obs.nodes)]), subjects
    assert all(p["ver"] == "4" for _, p in published)


# ------------------------------------------------------------------------------------------- namespace


@pytest.fixture(scope="module")
def namespaced_bus(log_dir: Path) -> Iterator[Bus]:
    yield from run_bus(log_dir, healthy_specs(namespace="ns"), namespace="ns", keep_running=True)


def test_namespace_prefix_finds_every_service(namespaced_bus: Bus) -> None:
    obs = namespaced_bus.observation
    assert obs.prefix == "MOL-ns"
    findings = evaluate_bus(obs, expectations(namespace="ns"))
    assert not only_failures(findings), report(findings)


def test_wrong_namespace_fails_service_announced(namespaced_bus: Bus) -> None:
    """Kills bus.service-announced: services run with MS_NAMESPACE=ns, the probe looks on plain MOL."""
    obs = nb.observe_bus_sync(namespaced_bus.url, probe_options(discover_timeout=3.0))
    findings = judge(nb.RULE_SERVICE_ANNOUNCED, obs, expectations())
    assert verdicts(findings) == {Verdict.FAIL}, report(findings)
    assert any(f.message.startswith("monolith: no node on MOL announces service 'license'") for f in findings)


# ---------------------------------------------------------------------------------------- faulty buses


@pytest.fixture(scope="module")
def bus_without_presence(log_dir: Path) -> Iterator[Bus]:
    yield from run_bus(log_dir, healthy_specs(presence=None))


def test_missing_service_fails_service_announced(bus_without_presence: Bus) -> None:
    """Kills bus.service-announced: no presence pod is on the bus."""
    findings = only_failures(
        judge(nb.RULE_SERVICE_ANNOUNCED, bus_without_presence.observation, expectations())
    )
    assert len(findings) == 1 and findings[0].resource == "component/presence", report(findings)
    assert "presence: no node on MOL announces service 'presence'" in findings[0].message


def test_missing_service_fails_node_count_and_pod_mapping(bus_without_presence: Bus) -> None:
    """Kills bus.node-count-matches-pods and bus.node-maps-to-pod for the missing presence pod."""
    obs, exp = bus_without_presence.observation, expectations()
    count = only_failures(judge(nb.RULE_NODE_COUNT, obs, exp))
    assert [f.message for f in count] == [
        "presence: expected 1 node(s) announcing 'presence', found 0 (none)"
    ]
    mapping = only_failures(judge(nb.RULE_NODE_MAPS_TO_POD, obs, exp))
    assert [f.resource for f in mapping] == [f"Pod/{PODS['presence']}"], report(mapping)


@pytest.fixture(scope="module")
def bus_with_two_hubs(log_dir: Path) -> Iterator[Bus]:
    second = BrokerSpec("rel-stream-hub-66f4b-zz9yy-1", ("hub",))
    yield from run_bus(log_dir, [*healthy_specs(), second])


def test_two_hubs_fail_hub_single(bus_with_two_hubs: Bus) -> None:
    """Kills bus.hub-single: two nodes announce 'hub', even when the values asked for 2 replicas."""
    pods = {c: [PODS[c]] for c in PODS} | {"stream-hub": [PODS["stream-hub"], "rel-stream-hub-66f4b-zz9yy"]}
    exp = expectations({"stream-hub": 2}, pods=pods)
    obs = bus_with_two_hubs.observation
    assert verdicts(judge(nb.RULE_NODE_COUNT, obs, exp)) == {Verdict.PASS}
    findings = judge(nb.RULE_HUB_SINGLE, obs, exp)
    assert verdicts(findings) == {Verdict.FAIL}, report(findings)
    assert findings[0].message.startswith(
        "2 nodes announce 'hub' (rel-stream-hub-66f4b-mn8bv-1, rel-stream-hub-66f4b-zz9yy-1): "
        "stream-hub must never run more than one pod"
    )


def test_two_hubs_fail_node_count_when_one_expected(bus_with_two_hubs: Bus) -> None:
    """Kills bus.node-count-matches-pods (stream-hub: 1 expected) and bus.node-maps-to-pod (a stray hub)."""
    obs = bus_with_two_hubs.observation
    count = only_failures(judge(nb.RULE_NODE_COUNT, obs, expectations()))
    assert [f.resource for f in count] == ["component/stream-hub"], report(count)
    assert "expected 1 node(s) announcing 'hub', found 2" in count[0].message
    mapping = only_failures(judge(nb.RULE_NODE_MAPS_TO_POD, obs, expectations()))
    assert [f.resource for f in mapping] == ["node/rel-stream-hub-66f4b-zz9yy-1"], report(mapping)


@pytest.fixture(scope="module")
def degraded_bus(log_dir: Path) -> Iterator[Bus]:
    """presence stopped heartbeating, accounts never answers PING, and a protocol-3 node is on the bus."""
    specs = healthy_specs(
        presence=BrokerSpec(f"{PODS['presence']}-1", SERVICES["presence"], silent=True),
        accounts=BrokerSpec(f"{PODS['accounts']}-1", SERVICES["accounts"], no_pong=True),
    )
    legacy = BrokerSpec("legacy-worker-1", ("legacy",), protocol_version="3")
    yield from run_bus(log_dir, [*specs, legacy])


def test_silent_node_fails_heartbeats(degraded_bus: Bus) -> None:
    """Kills bus.heartbeats: the presence node answers DISCOVER and PING but sends no HEARTBEAT."""
    obs = degraded_bus.observation
    findings = judge(nb.RULE_HEARTBEATS, obs)
    assert [f.resource for f in findings] == [f"node/{PODS['presence']}-1"], report(findings)
    assert findings[0].verdict is Verdict.FAIL
    assert (
        "sent no HEARTBEAT in 3." in findings[0].message
        and "(heartbeat interval 1.5 s)" in findings[0].message
    )
    assert obs.heartbeat_window >= 2 * PROBE_HEARTBEAT - 0.1, (
        "a silent node must be given the full two intervals"
    )


def test_node_without_pong_fails_ping_pong(degraded_bus: Bus) -> None:
    """Kills bus.ping-pong: the accounts node never answers PING (the silent presence node still does)."""
    findings = judge(nb.RULE_PING_PONG, degraded_bus.observation)
    assert [(f.verdict, f.resource) for f in findings] == [(Verdict.FAIL, f"node/{PODS['accounts']}-1")], (
        report(findings)
    )
    assert (
        findings[0].message
        == f"node {PODS['accounts']}-1 did not answer PING on MOL.PING.{PODS['accounts']}-1"
    )


def test_other_protocol_version_is_an_error(degraded_bus: Bus) -> None:
    """Kills bus.protocol-version: a Moleculer node stamping ver "3" shares the bus."""
    findings = judge(nb.RULE_PROTOCOL, degraded_bus.observation)
    assert [(f.verdict, f.resource) for f in findings] == [(Verdict.ERROR, "node/legacy-worker-1")], report(
        findings
    )
    assert "speaks Moleculer protocol version '3'" in findings[0].message and "\n" not in findings[0].message


@pytest.fixture(scope="module")
def bus_with_duplicating_monolith(log_dir: Path) -> Iterator[Bus]:
    monolith = BrokerSpec(f"{PODS['monolith']}-1", ("license", "meteor", "presence", "authorization"))
    yield from run_bus(log_dir, healthy_specs(monolith=monolith))


def test_monolith_running_microservices_fails_not_duplicating(bus_with_duplicating_monolith: Bus) -> None:
    """Kills bus.monolith-not-duplicating: the monolith also announces presence and authorization."""
    findings = judge(
        nb.RULE_MONOLITH_NOT_DUPLICATING, bus_with_duplicating_monolith.observation, expectations()
    )
    assert [(f.verdict, f.resource) for f in findings] == [(Verdict.FAIL, f"node/{PODS['monolith']}-1")], (
        report(findings)
    )
    assert findings[0].message.startswith(
        f"monolith node {PODS['monolith']}-1 also announces 'authorization', 'presence', which the "
        "authorization, presence pod(s) provide"
    )


# ------------------------------------------------------------------------------------- connection errors


def _all_rules(obs: nb.BusObservation) -> list[Finding]:
    return (
        judge(nb.RULE_REACHABLE, obs)
        + judge(nb.RULE_PROTOCOL, obs)
        + [f for rule in BUS_RULES for f in judge(rule, obs, expectations())]
    )


def test_unreachable_nats_is_an_error_for_every_rule() -> None:
    """Kills bus.reachable (and makes every other rule ERROR, not PASS): nothing listens on the port."""
    port = peers.free_port()
    started = time.monotonic()
    obs = nb.observe_bus_sync(f"nats://127.0.0.1:{port}", probe_options())
    assert time.monotonic() - started < 5, "an unreachable NATS must fail fast"
    findings = _all_rules(obs)
    assert verdicts(findings) == {Verdict.ERROR}, report(findings)
    assert findings[0].message.startswith(
        f"NATS at nats://127.0.0.1:{port} is unreachable (ConnectionRefusedError"
    )
    assert all(f.message.startswith("not checked: NATS at") for f in findings[1:])


def test_nats_that_never_greets_times_out() -> None:
    """Kills bus.reachable: a TCP port that accepts but never sends the NATS INFO line."""
    with socket.socket() as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen(1)
        port = mute.getsockname()[1]
        started = time.monotonic()
        obs = nb.observe_bus_sync(f"nats://127.0.0.1:{port}", probe_options(connect_timeout=0.5))
        elapsed = time.monotonic() - started
    assert elapsed < 3, f"connect_timeout 0.5 s, took {elapsed:.1f} s"
    [finding] = judge(nb.RULE_REACHABLE, obs)
    assert finding.verdict is Verdict.ERROR and "is unreachable" in finding.message, finding.detail()


@pytest.fixture(scope="module")
def nats_with_auth(log_dir: Path) -> Iterator[str]:
    nats, url = peers.start_nats(log_dir, user="rocket", password="s3cret")
    try:
        yield url
    finally:
        nats.stop()


@pytest.mark.parametrize("credentials", ["", "rocket:wrong@"], ids=["none", "wrong-password"])
def test_nats_requiring_credentials_is_an_error(nats_with_auth: str, credentials: str) -> None:
    """Kills bus.reachable: the server demands credentials the URL does not carry."""
    url = nats_with_auth.replace("nats://", f"nats://{credentials}")
    obs = nb.observe_bus_sync(url, probe_options())
    [finding] = judge(nb.RULE_REACHABLE, obs)
    assert finding.verdict is Verdict.ERROR, finding.detail()
    assert "refused the probe: authorization violation" in finding.message
    assert "wrong" not in finding.message, "credentials must not leak into findings"


def test_nats_with_credentials_in_url_connects(nats_with_auth: str, log_dir: Path) -> None:
    url = nats_with_auth.replace("nats://", "nats://rocket:s3cret@")
    brokers = peers.start_brokers(
        url, [BrokerSpec(f"{PODS['monolith']}-1", SERVICES["monolith"])], log_dir, heartbeat=HEARTBEAT
    )
    try:
        obs = nb.observe_bus_sync(url, probe_options())
    finally:
        peers.stop_all(brokers)
    assert obs.connected and obs.url == nats_with_auth.replace("nats://", "nats://rocket:***@"), obs.url
    assert list(obs.nodes) == [f"{PODS['monolith']}-1"], list(obs.nodes)
