"""The component stand-ins (tools/images/standin) behave like the real services on the wire, proven with the
framework's own probes against a real nats-server, with no container engine: the same program the images run.

CONTRACT.md > On the bus: each component joins Moleculer 0.14 over NATS with its service names, answers
DISCOVER, PING and heartbeats; > ddp-streamer on the wire: ddp-streamer and the monolith are told apart.
A chart that wires TRANSPORTER wrong must really break: the node never appears on the bus.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import probe_peers as peers
import pytest
from standin_peers import HEARTBEAT, STANDIN_JS, start_standin

from quickmeet_conformance import subprocesses
from quickmeet_conformance.findings import Finding, Verdict
from quickmeet_conformance.probes import ddp
from quickmeet_conformance.probes import nats_bus as nb
from quickmeet_conformance.probes import rules as probe_rules

COMPONENTS = ("monolith", "authorization", "accounts", "presence", "ddp-streamer", "stream-hub")
PROBE = nb.BusProbeOptions(heartbeat_interval=HEARTBEAT)


def failures(findings: list[Finding]) -> str:
    return "\n".join(f"{f.verdict.value}: {f.detail()}" for f in findings if f.verdict is not Verdict.PASS)


def http_get(port: int, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


@dataclass(frozen=True)
class Bus:
    observation: nb.BusObservation
    pids: dict[str, int]  # component -> stand-in PID
    http_ports: dict[str, int]  # monolith and ddp-streamer

    def node_of(self, component: str) -> nb.BusNode | None:
        return next(
            (n for n in self.observation.nodes.values() if n.node_id.endswith(f"-{self.pids[component]}")),
            None,
        )


@pytest.fixture(scope="module")
def bus(nats_url: str, log_dir: Path) -> Iterator[Bus]:
    """Every component's stand-in on one real NATS, configured only through its environment, probed once."""
    started: list[peers.Peer] = []
    ports: dict[str, int] = {}
    try:
        for component in COMPONENTS:
            env = {"TRANSPORTER": nats_url}
            if component in ("monolith", "ddp-streamer"):
                ports[component] = peers.free_port()
                env["PORT"] = str(ports[component])
            started.append(start_standin(component, log_dir, env))
        observation = nb.observe_bus_sync(nats_url, PROBE)
        yield Bus(observation, {c: p.pid for c, p in zip(COMPONENTS, started, strict=True)}, ports)
    finally:
        peers.stop_all(started)


def test_every_component_joins_the_bus_with_its_service_names(bus: Bus) -> None:
    """CONTRACT.md > Components: monolith meteor+license, authorization, accounts, presence, streamer, hub."""
    obs = bus.observation
    assert obs.connected and not obs.errors, failures(list(obs.errors))
    for component in COMPONENTS:
        node = bus.node_of(component)
        assert node is not None, (
            f"{component}: no node with PID {bus.pids[component]} on the bus; saw {sorted(obs.nodes)}"
        )
        service, aliases = nb.COMPONENT_SERVICES[component]
        for name in (service, *aliases):
            assert node.announces(name), (
                f"{component}: expected service {name!r}, {node.node_id} announces {node.services}"
            )
        assert node.protocol_version == "4" and node.client.startswith("nodejs 0.14."), (
            node.protocol_version,
            node.client,
        )
        assert node.node_id == f"{socket.gethostname().lower()}-{bus.pids[component]}", (
            f"{component}: nodeID {node.node_id!r} is not Moleculer's <hostname>-<pid> "
            "(the pod name + -1 in a container)"
        )


def test_the_bus_probe_passes_every_rule_on_the_stand_ins(bus: Bus) -> None:
    """CONTRACT.md > On the bus: one node per pod for each component, one hub, heartbeats and PONGs from
    all."""
    expectations = nb.BusExpectations.from_counts({c: 1 for c in COMPONENTS})
    findings = probe_rules.evaluate_bus(bus.observation, expectations)
    assert not [f for f in findings if f.failed], failures(findings)
    checked = {f.rule_id for f in findings if f.verdict is Verdict.PASS}
    for rule in (
        nb.RULE_SERVICE_ANNOUNCED,
        nb.RULE_NODE_COUNT,
        nb.RULE_HUB_SINGLE,
        nb.RULE_MONOLITH_NOT_DUPLICATING,
        nb.RULE_HEARTBEATS,
        nb.RULE_PING_PONG,
    ):
        assert rule in checked, f"{rule} did not pass: {failures(findings)}"
    assert set(bus.observation.pongs) == set(bus.observation.nodes), "every node answers PING"
    assert all(bus.observation.heartbeats[n] >= 1 for n in bus.observation.nodes), dict(
        bus.observation.heartbeats
    )


def test_ddp_probe_finds_ddp_streamer_on_the_ddp_streamer_stand_in(bus: Bus) -> None:
    """CONTRACT.md > ddp-streamer on the wire: "ms": true, UUID sessions, connected on an unsupported
    version."""
    obs = ddp.observe_ddp_sync(f"http://127.0.0.1:{bus.http_ports['ddp-streamer']}")
    findings = probe_rules.evaluate_ddp(obs)
    assert all(f.verdict is Verdict.PASS for f in findings), failures(findings)
    assert obs.sockjs_ms is True and obs.websocket.session_kind == "uuid", (
        obs.sockjs_info,
        obs.websocket.session,
    )
    assert obs.websocket.unsupported_version_reply == "connected" and obs.websocket.server_id


def test_ddp_probe_finds_the_monolith_on_the_monolith_stand_in(bus: Bus) -> None:
    """CONTRACT.md > ddp-streamer on the wire: the monolith's 17-character sessions and `failed` on
    version 99."""
    obs = ddp.observe_ddp_sync(f"http://127.0.0.1:{bus.http_ports['monolith']}")
    handshakes = probe_rules.evaluate_probe_rule(
        probe_rules.DdpContext(obs), ddp.RULE_WEBSOCKET_HANDSHAKE
    ) + probe_rules.evaluate_probe_rule(probe_rules.DdpContext(obs), ddp.RULE_SOCKJS_HANDSHAKE)
    assert all(f.verdict is Verdict.PASS for f in handshakes), failures(handshakes)
    reached = probe_rules.evaluate_probe_rule(probe_rules.DdpContext(obs), ddp.RULE_REACHES_DDP_STREAMER)
    assert [f.verdict for f in reached] == [Verdict.FAIL, Verdict.FAIL], failures(reached)
    assert all("the monolith answered" in f.message for f in reached), failures(reached)
    assert obs.websocket.session_kind == "meteor-id" and obs.websocket.unsupported_version_reply == "failed"
    assert obs.sockjs_ms is False, obs.sockjs_info


def test_http_endpoints_the_chart_probes(bus: Bus) -> None:
    """The charts' probes: ddp-streamer GET /health -> ok (on the bus); the monolith GET / and /health ->
    200."""
    assert http_get(bus.http_ports["ddp-streamer"], "/health") == (200, "ok")
    status, body = http_get(bus.http_ports["monolith"], "/")
    assert status == 200 and "<title>" in body, (status, body[:80])
    assert http_get(bus.http_ports["monolith"], "/health")[0] == 200


def test_wrong_transporter_host_never_reaches_the_bus(nats_url: str, log_dir: Path) -> None:
    """A chart that points TRANSPORTER at a host where NATS is not must break: the stand-in keeps retrying
    (like the real service), never appears on the bus, and ddp-streamer never opens its port (it opens it
    only after its start-up call to the monolith over the bus)."""
    import subprocess

    from standin_peers import MONGO

    wrong = nats_url.replace("127.0.0.1", "127.0.0.2")  # nats-server listens on 127.0.0.1 only
    port = peers.free_port()
    log = log_dir / "standin-wrong-host.log"
    env = {**os.environ, "TRANSPORTER": wrong, "PORT": str(port), "MONGO_URL": MONGO["url"]}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [peers.require_moleculer(), str(STANDIN_JS), "ddp-streamer"], env=env, stdout=out, stderr=out
        )
    try:
        obs = nb.observe_bus_sync(nats_url, PROBE)
        mine = [n for n in obs.nodes.values() if n.node_id.endswith(f"-{proc.pid}")]
        assert not mine, f"a stand-in with TRANSPORTER={wrong} appeared on the bus at {nats_url}: {mine}"
        with pytest.raises(OSError):
            http_get(port, "/health")
        assert proc.poll() is None, "the stand-in must keep retrying, as the real service does, not exit"
        deadline = time.monotonic() + 30  # MongoDB first, then the NATS attempts (slow on a busy machine)
        while "Connection is failed" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "Connection is failed" in log.read_text(), log.read_text()[-2000:]
    finally:
        proc.terminate()
        proc.wait(10)


def test_ms_namespace_moves_the_node_to_its_own_subjects(nats_url: str, log_dir: Path) -> None:
    """CONTRACT.md > On the bus: MS_NAMESPACE makes the subjects MOL-<ns>.*: seen only by a probe in that
    namespace."""
    peer = start_standin(
        "presence", log_dir, {"TRANSPORTER": nats_url, "MS_NAMESPACE": "qmc-ns"}, name="standin-ns"
    )
    try:
        outside = nb.observe_bus_sync(nats_url, PROBE)
        inside = nb.observe_bus_sync(
            nats_url, nb.BusProbeOptions(namespace="qmc-ns", heartbeat_interval=HEARTBEAT)
        )
        suffix = f"-{peer.pid}"
        assert not [n for n in outside.nodes if n.endswith(suffix)], (
            f"seen without the namespace: {sorted(outside.nodes)}"
        )
        node = next((n for n in inside.nodes.values() if n.node_id.endswith(suffix)), None)
        assert node is not None and node.announces("presence"), (
            f"not seen in namespace qmc-ns: {sorted(inside.nodes)}"
        )
    finally:
        peer.stop()


def test_transporter_with_credentials_joins_and_never_logs_the_password(log_dir: Path) -> None:
    """TRANSPORTER from a Secret (nats.existingSecret) carries credentials: the stand-in uses them and its log
    never shows the password."""
    password = "s3cret-Pa55-in-a-secret"
    server, url = peers.start_nats(log_dir, user="rocket", password=password)
    peer = None
    try:
        authed = url.replace("nats://", f"nats://rocket:{password}@")
        peer = start_standin(
            "accounts", log_dir, {"TRANSPORTER": authed, "MOLECULER_LOG_LEVEL": "info"}, name="standin-creds"
        )
        obs = nb.observe_bus_sync(authed, PROBE)
        assert any(n.announces("accounts") for n in obs.nodes.values()), sorted(obs.nodes)
        assert password not in peer.log.read_text(), "the NATS password reached the stand-in's log"
    finally:
        if peer is not None:
            peer.stop()
        server.stop()


def test_sigterm_stops_a_stand_in_cleanly(nats_url: str, log_dir: Path) -> None:
    """A pod's SIGTERM (rollout, helm uninstall) stops the stand-in at once with exit code 0."""
    peer = start_standin("stream-hub", log_dir, {"TRANSPORTER": nats_url}, name="standin-sigterm")
    started = time.monotonic()
    os.kill(peer.pid, signal.SIGTERM)
    assert peer.proc.wait(timeout=10) == 0, peer.log_tail()
    assert time.monotonic() - started < 5, "took longer than a pod's grace period should need"


def test_unknown_component_is_one_line_and_exit_2(tmp_path: Path) -> None:
    node = peers.require_moleculer()
    proc = subprocesses.run(
        [node, str(STANDIN_JS), "chat-server"], timeout_s=30, env={**os.environ, "QMC_STANDIN_COMPONENT": ""}
    )
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert '"chat-server"' in proc.stderr and "ddp-streamer" in proc.stderr, proc.stderr


def _op_msg(command: dict[str, object], request_id: int = 7) -> bytes:
    """An OP_MSG with one body section holding ``command`` (int32 and string values only)."""
    elements = b""
    for key, value in command.items():
        if isinstance(value, int):
            elements += b"\x10" + key.encode() + b"\0" + struct.pack("<i", value)
        else:
            data = str(value).encode() + b"\0"
            elements += b"\x02" + key.encode() + b"\0" + struct.pack("<i", len(data)) + data
    doc = struct.pack("<i", len(elements) + 5) + elements + b"\0"
    body = struct.pack("<I", 0) + b"\0" + doc
    return struct.pack("<iiii", 16 + len(body), request_id, 0, 2013) + body


def _mongo_call(port: int, command: dict[str, object]) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(_op_msg(command))
        header = sock.recv(16, socket.MSG_WAITALL)
        length, _, response_to, op_code = struct.unpack("<iiii", header)
        assert (response_to, op_code) == (7, 2013), (response_to, op_code)
        return sock.recv(length - 16, socket.MSG_WAITALL)


def test_mongodb_stand_in_answers_hello_and_ping(log_dir: Path) -> None:
    """MongoDB stand-in: accepts connections on its port and answers the handshake and `ping` as a primary."""
    port = peers.free_port()
    peer = start_standin("mongodb", log_dir, {"MONGODB_PORT_NUMBER": str(port)}, wait_for="mongodb")
    try:
        ok_one = b"\x01ok\x00" + struct.pack("<d", 1.0)
        assert ok_one in _mongo_call(port, {"ping": 1, "$db": "admin"})
        hello = _mongo_call(port, {"hello": 1, "$db": "admin"})
        assert ok_one in hello and b"\x08isWritablePrimary\x00\x01" in hello, hello
        refused = _mongo_call(port, {"insert": "users", "$db": "rocketchat"})
        assert b"does not run 'insert'" in refused and ok_one not in refused, refused
    finally:
        peer.stop()


def test_aux_stand_in_runs_whatever_it_is_given_until_sigterm(log_dir: Path) -> None:
    """Sidecars (config reloader, exporter) get the aux stand-in: it ignores their arguments and stays up."""
    node = peers.require_moleculer()
    peer = peers.start(
        "standin-aux",
        [node, str(STANDIN_JS), "aux", "-pid", "/var/run/nats/nats.pid"],
        log_dir,
        ready_prefix="READY aux idle",
    )
    try:
        time.sleep(1.0)
        assert peer.proc.poll() is None, peer.log_tail()
        os.kill(peer.pid, signal.SIGTERM)
        assert peer.proc.wait(timeout=10) == 0, peer.log_tail()
    finally:
        peer.stop()


def test_monolith_plus_transporter_puts_the_monolith_out_of_microservices_mode(
    nats_url: str, log_dir: Path
) -> None:
    """CONTRACT.md > Wiring: `monolith+nats://` means the monolith is NOT in microservices mode: it runs the
    other services itself (the bus probe's monolith-not-duplicating rule fails), and a microservice given that
    TRANSPORTER does not start."""
    port = peers.free_port()
    mono = start_standin(
        "monolith",
        log_dir,
        {"TRANSPORTER": f"monolith+{nats_url}", "PORT": str(port)},
        name="standin-monolith-mode",
    )
    try:
        obs = nb.observe_bus_sync(nats_url, PROBE)
        node = next(n for n in obs.nodes.values() if n.node_id.endswith(f"-{mono.pid}"))
        assert {"license", "authorization", "presence"} <= set(node.services), node.services
        exp = nb.BusExpectations.from_counts({"monolith": 1, "authorization": 1, "presence": 1})
        dup = probe_rules.evaluate_probe_rule(
            probe_rules.BusContext(obs, exp), nb.RULE_MONOLITH_NOT_DUPLICATING
        )
        assert [f.verdict for f in dup] == [Verdict.FAIL] and "monolith+nats" in dup[0].message, failures(dup)
    finally:
        mono.stop()
    with pytest.raises(RuntimeError, match="exited with 1"):
        start_standin(
            "presence", log_dir, {"TRANSPORTER": f"monolith+{nats_url}"}, name="standin-ms-monolith"
        )


def _stops(env: dict[str, str], log_dir: Path, name: str) -> tuple[int, str, str]:
    """Run a presence stand-in to its end: (exit code, termination message, log)."""
    import subprocess

    termination = log_dir / f"{name}.termination"
    full = {**os.environ, "QMC_TERMINATION_LOG": str(termination), **env}
    proc = subprocess.run(
        [peers.require_moleculer(), str(STANDIN_JS), "presence"],
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    message = termination.read_text() if termination.exists() else ""
    return proc.returncode, message, proc.stderr


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        (lambda url: url.replace(":rc-test@", ":wrong@"), "Authentication failed"),
        (lambda url: url.replace(":rc-test@", ":rc@te:st@"), "cannot be parsed"),
        (lambda url: url.replace(":rc-test@", ":rc@test:1@"), "ENOTFOUND"),  # misparsed: a password "host"
        (lambda url: url.replace("replicaSet=rs0", "replicaSet=rs1&serverSelectionTimeoutMS=2000"), "'rs1'"),
        (lambda url: url.replace("rocketchat:rc-test@", ""), "requires authentication"),
    ],
    ids=["wrong-password", "unparsable", "misparsed", "wrong-replica-set", "no-credentials"],
)
def test_a_mongodb_url_the_server_refuses_stops_the_service(
    mongodb: str, nats_url: str, log_dir: Path, mutation: Any, expected: str
) -> None:
    """CONTRACT.md > Connections: the driver's refusal is the termination message, the password never."""
    code, message, log = _stops({"MONGO_URL": mutation(mongodb), "TRANSPORTER": nats_url}, log_dir, "mongo")
    assert code == 1 and message.startswith("MongoDB: ") and expected in message, (code, message, log)
    assert not any(secret in message + log for secret in ("rc-test", "wrong", "te:st", "test:1")), message


def test_nats_refusing_the_credentials_stops_the_service(mongodb: str, log_dir: Path) -> None:
    """A NATS server with an authorization block refuses a TRANSPORTER without credentials."""
    server, url = peers.start_nats(log_dir, user="bus", password="bus-secret")
    try:
        code, message, log = _stops({"MONGO_URL": mongodb, "TRANSPORTER": url}, log_dir, "nats-auth")
    finally:
        server.stop()
    assert code == 1 and message.startswith("NATS: ") and "Authorization Violation" in message, (code, log)
