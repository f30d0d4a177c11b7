"""The built images (scripts/build-app-images.sh) run under docker as the charts run them: Debian's
nats-server with the reference chart's command line, each component stand-in given only a pod-like hostname
and the env the chart sets, on a docker network this test creates; the framework's probes then talk to
them on loopback.

Skipped with the command to run when dockerd or the images are missing. Everything started here (containers,
the network, one extra tag) is removed here, also when a test fails.
"""

from __future__ import annotations

import http.client
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from lane_gate import kind_unavailable
from waits import eventually

from quickmeet_conformance.clusters import images
from quickmeet_conformance.errors import ToolError
from quickmeet_conformance.findings import Finding, Verdict
from quickmeet_conformance.probes import ddp
from quickmeet_conformance.probes import nats_bus as nb
from quickmeet_conformance.probes import rules as probe_rules

COMPONENTS = ("monolith", "authorization", "accounts", "presence", "ddp-streamer", "stream-hub")
HEARTBEAT = 1
START_TIMEOUT = 60.0


def failures(findings: list[Finding]) -> str:
    return "\n".join(f"{f.verdict.value}: {f.detail()}" for f in findings if f.verdict is not Verdict.PASS)


def _docker():
    from quickmeet_conformance.clusters.docker import Docker

    docker = Docker()
    try:
        docker.check_daemon()
    except ToolError as exc:
        kind_unavailable(exc.line())
    missing = [
        images.standin_image(c)
        for c in images.STANDIN_COMPONENTS
        if not docker.has_image(images.standin_image(c))
    ]
    if missing:
        kind_unavailable(f"stand-in images not built ({', '.join(missing)}): run scripts/build-app-images.sh")
    return docker


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _http_get(port: int, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        conn.close()


def _wait(what: str, condition, timeout: float = START_TIMEOUT) -> None:
    """Fails the test at the deadline; an error from ``condition`` (a refused connection) counts as not yet."""
    assert eventually(what, condition, timeout=timeout, interval=0.3), f"{what}: not within {timeout:.0f} s"


@dataclass
class Release:
    """Containers standing in for the pods of a release named ``rel`` on one docker network."""

    docker: object
    network: str
    label: str
    nats_port: int = 0
    monitor_port: int = 0
    http_ports: dict[str, int] | None = None
    hostnames: dict[str, str] | None = None

    def run(
        self,
        name: str,
        image: str,
        *args: str,
        env: dict[str, str] | None = None,
        hostname: str = "",
        publish: dict[int, int] | None = None,
        alias: str = "",
        user: str = "",
        entrypoint: str = "",
    ) -> str:
        argv = [
            "run",
            "-d",
            "--name",
            f"{self.label}-{name}",
            "--label",
            f"qmc-test={self.label}",
            "--network",
            self.network,
            "--hostname",
            hostname or name,
        ]
        if alias:
            argv += ["--network-alias", alias]
        for key, value in (env or {}).items():
            argv += ["-e", f"{key}={value}"]
        for container_port, host_port in (publish or {}).items():
            argv += ["-p", f"127.0.0.1:{host_port}:{container_port}"]
        if user:
            argv += ["--user", user]
        if entrypoint:
            argv += ["--entrypoint", entrypoint]
        proc = self.docker.run(*argv, image, *args, timeout=60)  # type: ignore[attr-defined]  # a Docker
        assert proc.returncode == 0, f"docker run {image}: {proc.stderr.strip()}"
        return f"{self.label}-{name}"

    def logs(self, name: str) -> str:
        proc = self.docker.run("logs", f"{self.label}-{name}", timeout=30)  # type: ignore[attr-defined]  # a Docker
        return proc.stdout + proc.stderr

    def running(self, name: str) -> bool:
        proc = self.docker.run("inspect", "-f", "{{.State.Running}}", f"{self.label}-{name}")  # type: ignore[attr-defined]  # a Docker
        return proc.stdout.strip() == "true"


@pytest.fixture(scope="module")
def release() -> Iterator[Release]:
    docker = _docker()
    label = f"qmc-imgtest-{uuid.uuid4().hex[:8]}"
    network = f"{label}-net"
    assert docker.run("network", "create", "--label", f"qmc-test={label}", network).returncode == 0
    rel = Release(docker, network, label, http_ports={}, hostnames={})
    try:
        rel.nats_port, rel.monitor_port = _free_port(), _free_port()
        # The reference chart's NATS container: its command line, reached as the Service name rel-nats.
        rel.run(
            "nats",
            images.standin_image("nats"),
            "--name=rel-nats-0",
            "--port=4222",
            "--cluster=nats://0.0.0.0:6222",
            "--cluster_name=rel-nats",
            "-m",
            "8222",
            hostname="rel-nats-0",
            alias="rel-nats",
            publish={4222: rel.nats_port, 8222: rel.monitor_port},
            entrypoint="nats-server",
        )
        _wait("nats /healthz", lambda: _http_get(rel.monitor_port, "/healthz")[0] == 200)
        # The release's MongoDB (the bitnami container's env; FerretDB in the stand-in image): every component
        # stand-in connects to it first, as the real services do, and stops when it cannot.
        rel.run(
            "rs-mongodb",
            images.standin_image("mongodb"),
            env={
                "MONGODB_REPLICA_SET_MODE": "primary",
                "MONGODB_REPLICA_SET_NAME": "rs0",
                "MONGODB_ADVERTISED_HOSTNAME": "rel-mongodb-0",
                "MONGODB_ROOT_PASSWORD": "root-test",
                "MONGODB_EXTRA_USERNAMES": "rocketchat",
                "MONGODB_EXTRA_PASSWORDS": "rc-test",
                "MONGODB_EXTRA_DATABASES": "rocketchat",
            },
            hostname="rel-mongodb-0",
            user="1001",
        )
        _wait("the release's MongoDB", lambda: "READY mongodb" in rel.logs("rs-mongodb"))
        mongo_url = "mongodb://rocketchat:rc-test@rel-mongodb-0:27017/rocketchat?replicaSet=rs0"
        for component in COMPONENTS:
            hostname = f"rel-{component}-5c6d8f-{uuid.uuid4().hex[:5]}"  # a pod name
            env = {
                "TRANSPORTER": "nats://rel-nats:4222",
                "HEARTBEAT_INTERVAL": str(HEARTBEAT),
                "MONGO_URL": mongo_url,
            }
            publish = {}
            if component in ("monolith", "ddp-streamer"):
                rel.http_ports[component] = _free_port()  # type: ignore[index]  # set by the fixture
                publish = {3000: rel.http_ports[component]}  # type: ignore[index]  # set by the fixture
                env["PORT"] = "3000"
            rel.hostnames[component] = hostname  # type: ignore[index]  # set by the fixture
            rel.run(
                component,
                images.standin_image(component),
                env=env,
                hostname=hostname,
                publish=publish,
                alias=f"rel-{component}",
            )
        for component in COMPONENTS:
            _wait(f"{component} on the bus", lambda c=component: "READY " + c + " bus:" in rel.logs(c))
        yield rel
    finally:
        ids = docker.run("ps", "-aq", "--filter", f"label=qmc-test={label}").stdout.split()
        if ids:
            docker.run("rm", "-f", *ids, timeout=60)
        docker.run("network", "rm", network, timeout=60)


@pytest.fixture(scope="module")
def bus(release: Release) -> nb.BusObservation:
    return nb.observe_bus_sync(
        f"nats://127.0.0.1:{release.nats_port}", nb.BusProbeOptions(heartbeat_interval=HEARTBEAT)
    )


def test_nats_image_runs_the_charts_command_line(release: Release) -> None:
    """Debian's nats-server, started as the reference chart starts it, serves clients and /healthz."""
    status, body = _http_get(release.monitor_port, "/healthz")
    assert status == 200 and "ok" in body, (status, body)
    status, body = _http_get(release.monitor_port, "/varz")
    assert '"server_name": "rel-nats-0"' in body, body[:300]


def test_components_join_with_pod_named_nodes_and_their_services(
    release: Release, bus: nb.BusObservation
) -> None:
    """CONTRACT.md > On the bus: nodeID is the pod name plus -1 in containers; each announces its services."""
    assert bus.connected and not bus.errors, failures(list(bus.errors))
    for component in COMPONENTS:
        node_id = f"{release.hostnames[component]}-1"  # type: ignore[index]  # set by the fixture
        assert node_id in bus.nodes, f"{component}: expected node {node_id}, saw {sorted(bus.nodes)}"
        service, aliases = nb.COMPONENT_SERVICES[component]
        for name in (service, *aliases):
            assert bus.nodes[node_id].announces(name), (component, bus.nodes[node_id].services)
    pods = {c: [release.hostnames[c]] for c in COMPONENTS}  # type: ignore[index]  # set by the fixture
    findings = probe_rules.evaluate_bus(
        bus, nb.BusExpectations.from_counts({c: None for c in COMPONENTS}, pods=pods)
    )
    assert not [f for f in findings if f.failed], failures(findings)
    assert nb.RULE_NODE_MAPS_TO_POD in {f.rule_id for f in findings if f.verdict is Verdict.PASS}, failures(
        findings
    )


def test_ddp_probe_tells_the_two_images_apart(release: Release) -> None:
    """CONTRACT.md > ddp-streamer on the wire, through the containers' published ports."""
    streamer = ddp.observe_ddp_sync(f"http://127.0.0.1:{release.http_ports['ddp-streamer']}")  # type: ignore[index]  # set by the fixture
    assert all(f.verdict is Verdict.PASS for f in probe_rules.evaluate_ddp(streamer)), failures(
        probe_rules.evaluate_ddp(streamer)
    )
    monolith = ddp.observe_ddp_sync(f"http://127.0.0.1:{release.http_ports['monolith']}")  # type: ignore[index]  # set by the fixture
    reached = probe_rules.evaluate_probe_rule(probe_rules.DdpContext(monolith), ddp.RULE_REACHES_DDP_STREAMER)
    assert [f.verdict for f in reached] == [Verdict.FAIL, Verdict.FAIL], failures(reached)
    assert _http_get(release.http_ports["ddp-streamer"], "/health") == (200, "ok")  # type: ignore[index]  # set by the fixture


def test_wrong_transporter_host_container_never_joins(release: Release) -> None:
    """TRANSPORTER naming a host that is not NATS (here the monolith's name): the node never appears."""
    hostname = "rel-ddp-streamer-wrong-abcde"
    port = _free_port()
    release.run(
        "wrong",
        images.standin_image("ddp-streamer"),
        hostname=hostname,
        publish={3000: port},
        env={
            "TRANSPORTER": "nats://rel-monolith:4222",
            "HEARTBEAT_INTERVAL": str(HEARTBEAT),
            "MONGO_URL": "mongodb://rocketchat:rc-test@rel-mongodb-0:27017/rocketchat?replicaSet=rs0",
        },
    )
    _wait("a failed NATS connection", lambda: "Connection is failed" in release.logs("wrong"))
    # ddp-streamer serves HTTP only once its start-up call to the monolith over the bus succeeded
    assert "READY ddp-streamer http" not in release.logs("wrong"), release.logs("wrong")[-2000:]
    obs = nb.observe_bus_sync(
        f"nats://127.0.0.1:{release.nats_port}", nb.BusProbeOptions(heartbeat_interval=HEARTBEAT)
    )
    assert f"{hostname}-1" not in obs.nodes, sorted(obs.nodes)
    assert release.running("wrong"), "it keeps retrying, as the real service does"


def test_mongodb_as_the_charts_user_and_aux_as_a_sidecar_command(release: Release) -> None:
    """MongoDB stand-in as uid 1001 (the chart's runAsUser) accepts connections; the aux image answers to the
    NATS subchart's reloader command and stays up."""
    port = _free_port()
    release.run(
        "mongodb",
        images.standin_image("mongodb"),
        user="1001",
        publish={27017: port},
        env={  # the bitnami container's env for a standalone MongoDB with the chart's application user
            "MONGODB_ROOT_PASSWORD": "root-test",
            "MONGODB_EXTRA_USERNAMES": "rocketchat",
            "MONGODB_EXTRA_PASSWORDS": "rc-test",
            "MONGODB_EXTRA_DATABASES": "rocketchat",
        },
    )
    _wait(
        "mongodb stand-in port",
        lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() is None,
    )
    release.run(
        "reloader",
        images.standin_image("aux"),
        "-pid",
        "/var/run/nats/nats.pid",
        "-config",
        "/etc/nats-config/nats.conf",
        entrypoint="nats-server-config-reloader",
    )
    _wait("aux stand-in", lambda: "READY aux idle" in release.logs("reloader"))
    time.sleep(1)
    assert release.running("reloader") and release.running("mongodb")
