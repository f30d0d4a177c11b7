"""The NATS bus probe's I/O: connect, DISCOVER, PING, listen for heartbeats, and freeze what came back into a
:class:`~.model.BusObservation`. Network trouble never raises: it comes back as ERROR findings in the
observation's ``errors``.

Safety (CONTRACT.md > On the bus): the probe uses a unique node id (``qmc-probe-<hex>``), publishes
exactly one DISCOVER and one PING per discovered node, and never publishes INFO or HEARTBEAT, so no
live node can mistake it for a node-id conflict. Every wait is bounded in time and in packets read.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from ...findings import Finding, Verdict
from .model import (
    PROTOCOL_VERSION,
    RULE_PROTOCOL,
    RULE_REACHABLE,
    BusNode,
    BusObservation,
    frozen_map,
    new_probe_id,
    redact_url,
    subject_prefix,
)


@dataclass(frozen=True)
class BusProbeOptions:
    namespace: str = ""
    probe_id: str = ""  # default: a fresh qmc-probe-<hex>
    connect_timeout: float = 5.0
    discover_window: float = 3.0  # longest wait for INFO replies
    discover_settle: float = 1.0  # stop earlier once no new INFO came for this long
    ping_timeout: float = 2.0
    heartbeat_interval: float = 10.0  # the release's heartbeatInterval (Moleculer default 10 s)
    heartbeat_intervals: float = 2.0  # listen for up to this many intervals
    max_packets: int = 5000

    @property
    def heartbeat_window(self) -> float:
        return self.heartbeat_interval * self.heartbeat_intervals

    @property
    def time_budget(self) -> float:
        """An upper bound on the whole probe; the probe aborts past it."""
        return (
            self.connect_timeout * 2 + self.discover_window + self.ping_timeout + self.heartbeat_window + 5.0
        )


class _Collector:
    """Mutable state filled by the subscription callbacks; frozen into a BusObservation at the end."""

    def __init__(self, prefix: str, probe_id: str, max_packets: int) -> None:
        self.prefix = prefix
        self.probe_id = probe_id
        self.max_packets = max_packets
        self.nodes: dict[str, BusNode] = {}
        self.heartbeats: dict[str, int] = {}
        self.pongs: dict[str, float] = {}
        self.ping_ids: dict[str, str] = {}  # ping id -> nodeID
        self.versions: dict[str, str] = {}
        self.packets = 0
        self.truncated = False
        self.malformed = 0
        self.last_info = 0.0
        self.changed = asyncio.Event()

    def _payload(self, data: bytes) -> dict[str, Any] | None:
        try:
            payload = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("sender"), str):
            self.malformed += 1
            return None
        return payload

    async def on_message(self, msg: Any) -> None:
        if self.packets >= self.max_packets:
            self.truncated = True
            return
        self.packets += 1
        payload = self._payload(msg.data)
        if payload is None:
            return
        sender: str = payload["sender"]
        if sender == self.probe_id:
            return
        self.versions[sender] = str(payload.get("ver", ""))
        kind = msg.subject[len(self.prefix) + 1 :].split(".", 1)[0]
        if kind == "INFO":
            services = payload.get("services") or []
            names = tuple(
                s["name"] for s in services if isinstance(s, dict) and isinstance(s.get("name"), str)
            )
            client = payload.get("client") or {}
            self.nodes[sender] = BusNode(
                node_id=sender,
                services=names,
                hostname=str(payload.get("hostname", "")),
                instance_id=str(payload.get("instanceID", "")),
                protocol_version=str(payload.get("ver", "")),
                client=f"{client.get('type', '')} {client.get('version', '')}".strip()
                if isinstance(client, dict)
                else "",
            )
            self.last_info = time.monotonic()
        elif kind == "HEARTBEAT":
            self.heartbeats[sender] = self.heartbeats.get(sender, 0) + 1
        elif kind == "PONG":
            sent_ms = payload.get("time")
            if self.ping_ids.get(str(payload.get("id"))) == sender and isinstance(sent_ms, (int, float)):
                self.pongs[sender] = max(0.0, time.time() * 1000 - sent_ms)
        self.changed.set()

    async def next_packet(self, deadline: float) -> bool:
        """Wait for the next packet or the monotonic ``deadline``; False when the deadline passed."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self.changed.clear()
        try:
            await asyncio.wait_for(self.changed.wait(), timeout=remaining)
            return True
        except asyncio.TimeoutError:
            return False

    async def wait_until(self, deadline: float, done: Callable[[], bool]) -> None:
        """Wait until ``done()`` holds or the monotonic ``deadline`` passes, waking on every packet."""
        while not done():
            if not await self.next_packet(deadline):
                return

    async def wait_for_infos(self, deadline: float, settle: float) -> None:
        """Collect INFO replies until ``deadline``, or earlier once none came for ``settle`` seconds."""
        while True:
            now = time.monotonic()
            if now >= deadline or (self.nodes and now - self.last_info >= settle):
                return
            await self.next_packet(min(deadline, self.last_info + settle) if self.nodes else deadline)


def _error(rule_id: str, message: str, **kw: Any) -> Finding:
    return Finding(rule_id=rule_id, verdict=Verdict.ERROR, message=message, **kw)


def _connect_error_finding(url: str, exc: BaseException | None, last_error: BaseException | None) -> Finding:
    text = " ".join(str(e) for e in (exc, last_error) if e is not None)
    if "authorization violation" in text.lower() or type(exc).__name__ == "AuthorizationError":
        return _error(
            RULE_REACHABLE,
            f"NATS at {url} refused the probe: authorization violation (the server needs credentials: "
            "pass them in the URL, nats://user:password@host:4222, as the TRANSPORTER secret does)",
            expected="a NATS connection",
            found="Authorization Violation",
            resource=url,
        )
    cause = last_error if isinstance(last_error, OSError) else exc
    reason = (
        (f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__) if cause else "no answer"
    )
    if isinstance(exc, asyncio.TimeoutError) and not isinstance(last_error, OSError):
        reason = "timed out"
    return _error(
        RULE_REACHABLE,
        f"NATS at {url} is unreachable ({reason})",
        expected="a NATS connection",
        found=reason,
        resource=url,
    )


async def observe_bus(url: str, options: BusProbeOptions | None = None) -> BusObservation:
    """Connect to the NATS at ``url`` and observe the Moleculer bus: never raises for network trouble,
    which comes back as ERROR findings in ``errors``."""
    opts = options or BusProbeOptions()
    try:
        return await asyncio.wait_for(_observe(url, opts), timeout=opts.time_budget)
    except asyncio.TimeoutError:  # belt and braces: every step below has its own bound
        return BusObservation(
            url=redact_url(url),
            prefix=subject_prefix(opts.namespace),
            probe_id=opts.probe_id,
            connected=False,
            errors=(
                _error(
                    RULE_REACHABLE,
                    f"the bus probe of {redact_url(url)} overran its {opts.time_budget:.0f} s budget",
                ),
            ),
        )


async def _observe(url: str, opts: BusProbeOptions) -> BusObservation:
    from ...extras import require_live

    require_live("nats", what="the NATS bus probe")
    import nats  # imported here so the pure rules work without nats-py installed
    import nats.errors

    shown_url = redact_url(url)
    prefix = subject_prefix(opts.namespace)
    probe_id = opts.probe_id or new_probe_id()
    last_error: list[BaseException] = []

    async def on_error(exc: Exception) -> None:
        last_error.append(exc)

    async def on_disconnect() -> None:  # nats-py logs unless given callbacks
        pass

    try:
        nc = await asyncio.wait_for(
            nats.connect(
                url,
                name=probe_id,
                connect_timeout=opts.connect_timeout,
                # nats-py retries for ever with max_reconnect_attempts=0; 1 means "try once more, then stop".
                allow_reconnect=False,
                max_reconnect_attempts=1,
                reconnect_time_wait=0.1,
                error_cb=on_error,
                disconnected_cb=on_disconnect,
                closed_cb=on_disconnect,
            ),
            timeout=opts.connect_timeout * 2,
        )
    except (OSError, asyncio.TimeoutError, nats.errors.Error) as exc:
        return BusObservation(
            url=shown_url,
            prefix=prefix,
            probe_id=probe_id,
            connected=False,
            errors=(_connect_error_finding(shown_url, exc, last_error[-1] if last_error else None),),
        )

    col = _Collector(prefix, probe_id, opts.max_packets)
    pinged: list[str] = []
    flush_s = cast(
        int, opts.connect_timeout
    )  # nats-py annotates int seconds; a float works (asyncio.wait_for)
    try:
        for subject in (f"{prefix}.INFO.{probe_id}", f"{prefix}.PONG.{probe_id}", f"{prefix}.HEARTBEAT"):
            await nc.subscribe(subject, cb=col.on_message, pending_msgs_limit=opts.max_packets)
        await nc.flush(timeout=flush_s)
        started = time.monotonic()
        heartbeat_deadline = started + opts.heartbeat_window

        await nc.publish(
            f"{prefix}.DISCOVER", json.dumps({"ver": PROTOCOL_VERSION, "sender": probe_id}).encode()
        )
        await nc.flush(timeout=flush_s)
        await col.wait_for_infos(started + opts.discover_window, opts.discover_settle)

        for node_id in sorted(col.nodes):
            ping_id = str(uuid.uuid4())
            col.ping_ids[ping_id] = node_id
            pinged.append(node_id)
            ping = {
                "ver": PROTOCOL_VERSION,
                "sender": probe_id,
                "time": int(time.time() * 1000),
                "id": ping_id,
            }
            await nc.publish(f"{prefix}.PING.{node_id}", json.dumps(ping).encode())
        if pinged:
            await nc.flush(timeout=flush_s)
            await col.wait_until(
                time.monotonic() + opts.ping_timeout, lambda: all(n in col.pongs for n in pinged)
            )

        await col.wait_until(
            heartbeat_deadline,
            lambda: bool(col.nodes) and all(col.heartbeats.get(n, 0) > 0 for n in col.nodes),
        )
        listened = time.monotonic() - started
    except (OSError, asyncio.TimeoutError, nats.errors.Error) as exc:
        return BusObservation(
            url=shown_url,
            prefix=prefix,
            probe_id=probe_id,
            connected=False,
            errors=(
                _error(
                    RULE_REACHABLE,
                    f"NATS at {shown_url} failed during the probe ({type(exc).__name__}: {exc})",
                ),
            ),
        )
    finally:
        try:
            await asyncio.wait_for(nc.close(), timeout=opts.connect_timeout)
        except (OSError, asyncio.TimeoutError, nats.errors.Error):
            pass

    errors = [
        _error(
            RULE_PROTOCOL,
            f"node {sender} speaks Moleculer protocol version {ver!r}, the probe and QuickMeet.Chat's "
            f"Moleculer 0.14 speak {PROTOCOL_VERSION!r}: a service built on another Moleculer major is on the bus",
            expected=f'ver "{PROTOCOL_VERSION}"',
            found=f'ver "{ver}"',
            resource=f"node/{sender}",
        )
        for sender, ver in sorted(col.versions.items())
        if ver != PROTOCOL_VERSION
    ]
    return BusObservation(
        url=shown_url,
        prefix=prefix,
        probe_id=probe_id,
        connected=True,
        nodes=frozen_map(col.nodes),
        heartbeats=frozen_map(col.heartbeats),
        pongs=frozen_map(col.pongs),
        pinged=tuple(pinged),
        versions=frozen_map(col.versions),
        errors=tuple(errors),
        heartbeat_window=round(listened, 3),
        heartbeat_interval=opts.heartbeat_interval,
        packets_read=col.packets,
        truncated=col.truncated,
        malformed=col.malformed,
    )


def observe_bus_sync(url: str, options: BusProbeOptions | None = None) -> BusObservation:
    """:func:`observe_bus` for callers without an event loop (pytest tests, the CLI)."""
    return asyncio.run(observe_bus(url, options))
