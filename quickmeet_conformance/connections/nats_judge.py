"""Let the real NATS server judge a client's credentials: Debian's ``nats-server`` on loopback with the
release's rendered configuration (:func:`.nats_config.local_config`), and nats-py dialling it with exactly
the credentials the client's URL carries. The server's refusal ("Authorization Violation") is the evidence.

This is the only module of :mod:`quickmeet_conformance.connections` that starts a process; the static lane
(:mod:`.gather`) calls it only when the configuration has something that decides who may connect. Every
step is bounded (start-up, connect) and the server's process group is killed on the way out.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

from ..subprocesses import die_with_parent, kill_group, last_line
from .model import NatsVerdict, NotJudged
from .nats_config import env_references, local_config
from .nats_url import NatsUrl, with_address

START_TIMEOUT_S = 3.0
CONNECT_TIMEOUT_S = 2.0
PLACEHOLDER = "conformance-local"


def find_nats_server() -> str | None:
    """nats-server on PATH, in the repository's .tools, or where Debian installs it."""
    found = shutil.which("nats-server")
    if found:
        return found
    for candidate in (
        Path(__file__).resolve().parents[2] / ".tools" / "bin" / "nats-server",
        Path("/usr/sbin/nats-server"),
        Path("/usr/bin/nats-server"),
    ):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, child: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise NotJudged(
                "nats-server refused the rendered configuration: "
                + last_line(log.read_text(encoding="utf-8", errors="replace"))
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise NotJudged(f"nats-server did not listen within {START_TIMEOUT_S:.0f} s")


def _import_nats() -> ModuleType:
    """nats-py, imported without aiohttp when nothing has imported aiohttp yet. nats-py imports aiohttp only
    for its WebSocket transport (it is optional there: absent, the transport is off) and aiohttp costs
    ~110 ms of the static lane's 0.3 s; the judge dials ``nats://`` on loopback and never uses WebSocket.
    The probes dial ``nats://`` too; a caller needing nats-py's WebSocket imports aiohttp first."""
    if "nats" in sys.modules or "aiohttp" in sys.modules:
        import nats

        return nats
    sys.modules["aiohttp"] = None  # type: ignore[assignment]  # import system: "not installed"
    try:
        import nats
    finally:
        if sys.modules.get("aiohttp", 0) is None:
            del sys.modules["aiohttp"]  # a later `import aiohttp` (the live lane's client) finds it as usual
    return nats


async def _connect(url: str) -> NatsVerdict:
    nats = _import_nats()
    from nats.errors import Error as NatsError

    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc) or type(exc).__name__)

    try:
        client = await nats.connect(
            servers=[url],
            allow_reconnect=False,
            max_reconnect_attempts=0,
            connect_timeout=CONNECT_TIMEOUT_S,
            error_cb=on_error,
        )
    except (NatsError, OSError, asyncio.TimeoutError) as exc:
        detail = errors[0] if errors else (str(exc) or type(exc).__name__)
        return NatsVerdict(False, detail)
    await client.close()
    return NatsVerdict(True, "connected")


def judge(conf: str, clients: list[NatsUrl], env: dict[str, str] | None = None) -> list[NatsVerdict]:
    """One verdict per client URL from one server started with ``conf``, whose ``$NAME`` references read
    ``env`` (the rendered container's values; others get a placeholder). Raises :class:`NotJudged`."""
    binary = find_nats_server()
    if binary is None:
        raise NotJudged("nats-server not found (scripts/install-probe-tools.sh installs Debian's)")
    try:
        _import_nats()
    except ImportError as exc:
        raise NotJudged(
            "nats-py is not installed (pip install 'quickmeet-conformance[live]' brings it)"
        ) from exc
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="qmc-nats-judge-") as tmp:
        config = Path(tmp) / "nats.conf"
        log = Path(tmp) / "server.log"
        config.write_text(local_config(conf, port), encoding="utf-8")
        server_env = {"PATH": os.environ.get("PATH", "")} | {
            name: PLACEHOLDER for name in env_references(conf)
        }
        server_env.update(env or {})
        with log.open("wb") as out:
            child = subprocess.Popen(
                [binary, "-c", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=server_env,
                cwd=tmp,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        try:
            _wait_listening(port, child, log)
            verdicts = [asyncio.run(_connect(with_address(c, "127.0.0.1", port))) for c in clients]
        finally:
            kill_group(child.pid)
            child.wait(timeout=5)
        server_log = log.read_text(encoding="utf-8", errors="replace")
    refused = [line for line in server_log.splitlines() if "Authorization Violation" in line]
    return [
        v if v.accepted or not refused else NatsVerdict(False, f"{v.detail}; server: {refused[-1].strip()}")
        for v in verdicts
    ]
