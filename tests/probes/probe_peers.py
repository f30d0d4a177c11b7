"""Real test peers for the probe self-tests: nats-server, Moleculer brokers, the fake DDP servers, nginx.

Every peer is a child process on 127.0.0.1, started with a readiness condition AND a failure condition
(the process exiting), and stopped by its own PID with timeouts. Children get PR_SET_PDEATHSIG so a
killed pytest does not leave them behind.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from quickmeet_conformance.clusters.pki import issue_certificate, new_certificate_authority
from quickmeet_conformance.clusters.processes import wait_for
from quickmeet_conformance.errors import ToolError
from quickmeet_conformance.subprocesses import die_with_parent

REPO = Path(__file__).resolve().parents[2]
MOLECULER_DIR = REPO / "fixtures" / "moleculer"
STANDIN_DIR = REPO / "tools" / "images" / "standin"  # the node_modules of broker.js and the DDP server
DDP_SERVER = REPO / "fixtures" / "ddp" / "server.py"
NGINX_DIR = REPO / "fixtures" / "nginx"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0


def require_tool(name: str, *candidates: str) -> str:
    """The path of a tool; skip when it is missing locally, fail in CI (CI must install it)."""
    for candidate in (name, *candidates):
        found = shutil.which(candidate) or (
            candidate if os.path.isabs(candidate) and os.access(candidate, os.X_OK) else None
        )
        if found:
            return found
    reason = f"{name} is not installed (run scripts/install-probe-tools.sh)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must have it", pytrace=False)
    pytest.skip(reason)


def require_moleculer() -> str:
    node = require_tool("node")
    if not (STANDIN_DIR / "node_modules" / "ws" / "package.json").is_file():
        reason = "tools/images/standin/node_modules is missing (run scripts/install-probe-tools.sh)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must have it", pytrace=False)
        pytest.skip(reason)
    return node


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass
class Peer:
    """One started child process."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    ready_line: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop this process by its PID: ``sig``, then SIGKILL after STOP_TIMEOUT."""
        if self.proc.poll() is not None:
            return
        try:
            os.kill(self.proc.pid, sig)
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=STOP_TIMEOUT)
        except ProcessLookupError:
            pass
        finally:
            if self.proc.stdout is not None:
                self.proc.stdout.close()


def start(
    name: str,
    argv: Sequence[str],
    log_dir: Path,
    *,
    ready_prefix: str = "",
    ready_check: Callable[[], bool] | None = None,
    cwd: Path | None = None,
    timeout: float = START_TIMEOUT,
) -> Peer:
    """Start ``argv``; ready when stdout prints a line starting with ``ready_prefix`` or ``ready_check()``
    holds; fails at once (with the log) if the process exits first, or after ``timeout``."""
    log = log_dir / f"{name}.log"
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if ready_prefix else log_file,
            stderr=log_file,
            preexec_fn=die_with_parent,
        )
    peer = Peer(name, proc, log)
    deadline = time.monotonic() + timeout
    try:
        if ready_prefix:
            peer.ready_line = _read_ready_line(proc, ready_prefix, deadline)
        if ready_check is not None:
            wait_for(
                "readiness",
                ready_check,
                timeout=max(0.0, deadline - time.monotonic()),
                failure=lambda: None if proc.poll() is None else f"exited with {proc.returncode}",
                interval=0.05,
            )
    except (RuntimeError, ToolError) as exc:
        peer.stop()
        raise RuntimeError(f"{name} ({' '.join(argv)}) {exc}\n{peer.log_tail()}") from None
    return peer


def _read_ready_line(proc: subprocess.Popen[bytes], prefix: str, deadline: float) -> str:
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    buffered = b""
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"printed no {prefix!r} line in time")
            if not selector.select(timeout=remaining):
                continue
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                proc.wait(timeout=STOP_TIMEOUT)
                raise RuntimeError(f"exited with {proc.returncode} before {prefix!r}")
            buffered += chunk
            for line in buffered.decode(errors="replace").splitlines():
                if line.startswith(prefix):
                    return line
    finally:
        selector.close()


def stop_all(peers: Sequence[Peer]) -> None:
    """Stop peers of one tier by PID: signal them all, then wait for each (n brokers stop in the time of one).
    Stop what they depend on (NATS) afterwards, in a separate call."""
    for peer in peers:
        if peer.proc.poll() is None:
            try:
                os.kill(peer.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    for peer in reversed(peers):
        peer.stop()


# ---------------------------------------------------------------------------------------------- NATS


def start_nats(log_dir: Path, *, user: str = "", password: str = "") -> tuple[Peer, str]:
    """A nats-server on a free loopback port; returns (peer, client URL without credentials)."""
    binary = require_tool("nats-server", "/usr/sbin/nats-server")
    port = free_port()
    argv = [binary, "-a", "127.0.0.1", "-p", str(port), "-l", str(log_dir / f"nats-{port}.server.log")]
    if user:
        argv += ["--user", user, "--pass", password]
    peer = start(f"nats-{port}", argv, log_dir, ready_check=lambda: port_open(port))
    return peer, f"nats://127.0.0.1:{port}"


@dataclass(frozen=True)
class BrokerSpec:
    node_id: str
    services: tuple[str, ...]
    namespace: str = ""
    silent: bool = False
    no_pong: bool = False
    protocol_version: str = ""


def start_brokers(url: str, specs: Sequence[BrokerSpec], log_dir: Path, heartbeat: float = 1.0) -> list[Peer]:
    """Start Moleculer brokers in parallel and wait until every one printed READY."""
    node = require_moleculer()
    procs: list[tuple[BrokerSpec, Peer]] = []
    started: list[Peer] = []
    for spec in specs:
        argv = [
            node,
            str(MOLECULER_DIR / "broker.js"),
            "--url",
            url,
            "--node-id",
            spec.node_id,
            "--heartbeat",
            f"{heartbeat:g}",
            "--services",
            ",".join(spec.services),
        ]
        if spec.namespace:
            argv += ["--namespace", spec.namespace]
        if spec.silent:
            argv.append("--silent")
        if spec.no_pong:
            argv.append("--no-pong")
        if spec.protocol_version:
            argv += ["--protocol-version", spec.protocol_version]
        log = log_dir / f"broker-{spec.node_id}.log"
        with open(log, "wb") as log_file:
            proc = subprocess.Popen(
                argv,
                cwd=MOLECULER_DIR,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log_file,
                preexec_fn=die_with_parent,
            )
        procs.append((spec, Peer(f"broker {spec.node_id}", proc, log)))
    deadline = time.monotonic() + START_TIMEOUT
    try:
        for _spec, peer in procs:
            peer.ready_line = _read_ready_line(peer.proc, "READY", deadline)
            started.append(peer)
    except RuntimeError as exc:
        failed = next(p for _, p in procs if p not in started)
        stop_all([p for _, p in procs])
        raise RuntimeError(f"{failed.name}: {exc}\n{failed.log_tail()}") from None
    return started


# ----------------------------------------------------------------------------------------------- DDP


def start_ddp_server(personality: str, log_dir: Path, *, sockjs_heartbeat: float = 25.0) -> tuple[Peer, str]:
    """A fake ddp-streamer or monolith; returns (peer, "127.0.0.1:<port>")."""
    require_moleculer()  # server.py runs the stand-ins' DDP server on node
    peer = start(
        f"ddp-{personality}",
        [
            sys.executable,
            str(DDP_SERVER),
            "--personality",
            personality,
            "--port",
            "0",
            "--sockjs-heartbeat",
            str(sockjs_heartbeat),
        ],
        log_dir,
        ready_prefix="READY",
    )
    return peer, peer.ready_line.split()[1]


@dataclass(frozen=True)
class Certificates:
    ca: Path
    cert: Path
    key: Path


def make_certificates(directory: Path, hostname: str) -> Certificates:
    """A throwaway CA and a server certificate for ``hostname`` and 127.0.0.1 (the package's own PKI)."""
    ca = new_certificate_authority(directory, "qmc probe test CA", days=2)
    server = issue_certificate(
        ca,
        directory,
        "server",
        common_name=hostname,
        dns_names=[hostname],
        ip_addresses=["127.0.0.1"],
        server=True,
        days=2,
    )
    return Certificates(ca.cert, server.cert, server.key)


def start_nginx(
    log_dir: Path,
    *,
    routes: str,
    ddp_streamer: str,
    monolith: str,
    tls: Certificates | None = None,
) -> tuple[Peer, int]:
    """nginx in front of the two fake servers; ``routes`` is "ingress" or "misrouted". Returns (peer, port)."""
    binary = require_tool("nginx", "/usr/sbin/nginx")
    port = free_port()
    prefix = log_dir / f"nginx-{routes}-{port}"
    prefix.mkdir()
    replacements = {
        "@@USER@@": "user root;" if os.geteuid() == 0 else "",
        "@@PREFIX@@": str(prefix),
        "@@LISTEN@@": f"127.0.0.1:{port}" + (" ssl" if tls else ""),
        "@@TLS@@": f"ssl_certificate {tls.cert};\n        ssl_certificate_key {tls.key};" if tls else "",
        "@@ROUTES@@": str(NGINX_DIR / f"routes-{routes}.conf"),
        "@@DDP_STREAMER@@": ddp_streamer,
        "@@MONOLITH@@": monolith,
    }
    text = (NGINX_DIR / "nginx.conf.template").read_text()
    for marker, value in replacements.items():
        text = text.replace(marker, value)
    assert "@@" not in text, "an nginx template marker was left unreplaced"
    conf = prefix / "nginx.conf"
    conf.write_text(text)
    # -e: the startup error log, before the config's error_log applies (default is /var/log/nginx).
    argv = [binary, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "startup-error.log")]
    check = subprocess.run([*argv, "-t"], capture_output=True, text=True, timeout=30)
    if check.returncode != 0:
        raise RuntimeError(f"nginx -t rejected {conf}:\n{check.stderr}")
    peer = start(f"nginx-{routes}-{port}", argv, log_dir, ready_check=lambda: port_open(port))
    return peer, port
