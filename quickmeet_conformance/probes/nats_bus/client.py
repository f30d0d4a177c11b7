"""The NATS bus probe's I/O: connect, DISCOVER until every expected node answered, PING, listen for
heartbeats, and freeze what came back into a :class:`~.model.BusObservation`. Network trouble never
raises: it comes back as ERROR findings in the observation's ``errors``.

Every wait is a condition with a deadline, never a quiet window (a node that answers late on a busy
machine is late, not missing):

- discovery: until every node the expectations imply has answered DISCOVER with INFO (every pod by name
  on a live cluster, else the expected count per component), and every node seen on HEARTBEAT has
  answered too; without expectations, until one heartbeat interval has passed (every live node has beaten
  once) and every node seen has answered. DISCOVER is re-sent while something is missing: broadcast
  ``<prefix>.DISCOVER`` every ``rediscover_every`` seconds, and ``<prefix>.DISCOVER.<nodeID>`` to a node
  seen on HEARTBEAT but not on INFO (what Moleculer itself does for an unknown node). The deadline is
  the release's heartbeat timeout: a node silent that long is one its own peers drop as dead.
- PING: until every discovered node answered, or one heartbeat interval.
- heartbeats: until every discovered node beat once, or two intervals after it was discovered.

Each wait's outcome and duration is in the observation (``waits``), and what discovery still missed at
its deadline in ``unanswered``.

Safety (CONTRACT.md > On the bus): the probe uses a unique node id (``qmc-probe-<hex>``), publishes only
DISCOVER (broadcast and per node) and one PING per discovered node, and never publishes INFO or
HEARTBEAT, so no live node can mistake it for a node-id conflict. Every wait is bounded in time and in
packets read.
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
from ...progress import Waited
from .expectations import BusExpectations
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

WAIT_DISCOVERY = "bus discovery"
WAIT_PING = "bus ping"
WAIT_HEARTBEAT = "bus heartbeats"


@dataclass(frozen=True)
class BusProbeOptions:
    """How the probe waits. The timings default to Moleculer's own (heartbeat every 10 s, timeout 30 s);
    the live lane passes the release's (HEARTBEAT_INTERVAL / HEARTBEAT_TIMEOUT on its pods)."""

    namespace: str = ""
    probe_id: str = ""  # default: a fresh qmc-probe-<hex>
    connect_timeout: float = 5.0
    heartbeat_interval: float = 10.0  # the release's heartbeatInterval (Moleculer default 10 s)
    heartbeat_timeout: float = 0.0  # the release's heartbeatTimeout; 0: three intervals (Moleculer's 30 s)
    heartbeat_intervals: float = 2.0  # listen for up to this many intervals after a node is discovered
    discover_timeout: float = 0.0  # deadline for discovery; 0: the heartbeat timeout
    rediscover_every: float = 2.0  # re-send DISCOVER this often while an expected node is missing
    ping_timeout: float = 0.0  # deadline for the PONGs; 0: one heartbeat interval
    max_packets: int = 5000
    expect: BusExpectations | None = None  # the nodes discovery waits for (None: every node seen)

    @property
    def heartbeat_window(self) -> float:
        return self.heartbeat_interval * self.heartbeat_intervals

    @property
    def discover_deadline_s(self) -> float:
        return self.discover_timeout or self.heartbeat_timeout or self.heartbeat_interval * 3

    @property
    def ping_deadline_s(self) -> float:
        return self.ping_timeout or self.heartbeat_interval

    @property
    def time_budget(self) -> float:
        """An upper bound on the whole probe; the probe aborts past it."""
        return (
            self.connect_timeout * 4
            + self.discover_deadline_s
            + self.ping_deadline_s
            + self.heartbeat_window
            + 5.0
        )


def missing_nodes(expect: BusExpectations, nodes: dict[str, BusNode]) -> list[str]:
    """What of ``expect`` has not answered DISCOVER yet: each pod by name when pods are known (any INFO
    from ``<pod>-<pid>``), else each component's count of nodes announcing its service."""
    missing = []
    answered = {n.pod_name for n in nodes.values()}
    for c in expect.components:
        if c.pods is not None:
            missing += [f"pod {pod} ({c.component})" for pod in sorted(c.pods - answered)]
            continue
        want = 1 if c.nodes is None else c.nodes
        have = sum(1 for n in nodes.values() if any(n.announces(name) for name in c.names))
        if have < want:
            missing.append(f"{c.component}: {have}/{want} node(s) announcing {c.service!r}")
    return missing


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
        self.first_seen: dict[str, float] = {}  # nodeID -> monotonic time of its first INFO
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
            self.first_seen.setdefault(sender, time.monotonic())
        elif kind == "HEARTBEAT":
            self.heartbeats[sender] = self.heartbeats.get(sender, 0) + 1
        elif kind == "PONG":
            sent_ms = payload.get("time")
            if self.ping_ids.get(str(payload.get("id"))) == sender and isinstance(sent_ms, (int, float)):
                self.pongs[sender] = max(0.0, time.time() * 1000 - sent_ms)
        self.changed.set()

    async def next_packet(self, deadline: float) -> bool:
        """Wait for a packet since the last :meth:`changed` clear, or the monotonic ``deadline``; False when
        the deadline passed. Clear first, then check the condition, then call this: nothing is missed."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        try:
            await asyncio.wait_for(self.changed.wait(), timeout=remaining)
            return True
        except asyncio.TimeoutError:
            return False

    async def wait_until(self, what: str, deadline: float, missing: Callable[[], list[str]]) -> Waited:
        """Wait until ``missing()`` is empty or the monotonic ``deadline`` passes, waking on every packet."""
        start = time.monotonic()
        while True:
            self.changed.clear()
            left = missing()
            bound = max(0.0, deadline - start)  # 0: the deadline had passed (discovery took that long)
            if not left:
                return Waited(what, time.monotonic() - start, True, bound)
            if not await self.next_packet(deadline):
                left = missing()
                return Waited(what, time.monotonic() - start, not left, bound, "; ".join(left))

    def unanswered_senders(self) -> list[str]:
        """Nodes seen on HEARTBEAT that have not answered DISCOVER (a node that joined after it)."""
        return sorted(n for n in self.heartbeats if n not in self.nodes)


class _Discovery:
    """DISCOVER until the goal holds or the deadline passes: broadcast every ``every`` seconds while
    something is missing, and once per ``every`` to each node seen on HEARTBEAT but not on INFO."""

    def __init__(self, nc: Any, col: _Collector, every: float, flush_s: int) -> None:
        self.nc, self.col, self.every, self.flush_s = nc, col, every, flush_s
        self.broadcasts = 0
        self.left: list[str] = []  # what was still missing when the wait ended
        self.targeted: dict[str, float] = {}  # nodeID -> when it was last sent its own DISCOVER
        self.payload = json.dumps({"ver": PROTOCOL_VERSION, "sender": col.probe_id}).encode()

    async def run(
        self, deadline: float, missing: Callable[[], list[str]], rebroadcast: Callable[[], bool]
    ) -> Waited:
        """Until ``missing()`` is empty or ``deadline``; broadcast again only while ``rebroadcast()`` (an
        expected node is missing: a broadcast reaches one that missed the last)."""
        col, start = self.col, time.monotonic()
        next_broadcast = start
        while True:
            col.changed.clear()
            left = missing()
            now = time.monotonic()
            if not left or now >= deadline:
                self.left = left
                return Waited(WAIT_DISCOVERY, now - start, not left, deadline - start, "; ".join(left))
            sent = False
            if now >= next_broadcast:  # the period also wakes the loop to re-check a time-bound goal
                next_broadcast = now + self.every
                if not self.broadcasts or rebroadcast():
                    await self.nc.publish(f"{col.prefix}.DISCOVER", self.payload)
                    self.broadcasts += 1
                    sent = True
            for node in col.unanswered_senders():
                if now - self.targeted.get(node, -self.every) >= self.every:
                    await self.nc.publish(f"{col.prefix}.DISCOVER.{node}", self.payload)
                    self.targeted[node] = now
                    sent = True
            if sent:
                await self.nc.flush(timeout=self.flush_s)
            await col.next_packet(min(deadline, next_broadcast))


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
    waits: list[Waited] = []
    flush_s = cast(
        int, opts.connect_timeout
    )  # nats-py annotates int seconds; a float works (asyncio.wait_for)
    discovery = _Discovery(nc, col, opts.rediscover_every, flush_s)
    try:
        # the broadcast INFO too: a node that starts after the first DISCOVER announces itself there
        subjects = ("INFO", f"INFO.{probe_id}", f"PONG.{probe_id}", "HEARTBEAT")
        for subject in subjects:
            await nc.subscribe(f"{prefix}.{subject}", cb=col.on_message, pending_msgs_limit=opts.max_packets)
        await nc.flush(timeout=flush_s)
        started = time.monotonic()

        def still_missing() -> list[str]:
            expected = missing_nodes(opts.expect, col.nodes) if opts.expect is not None else []
            if opts.expect is None and time.monotonic() - started < opts.heartbeat_interval:
                expected = [f"one heartbeat interval ({opts.heartbeat_interval:g} s) to see every node"]
            return expected + [f"node {n} (beats, no INFO yet)" for n in col.unanswered_senders()]

        waits.append(
            await discovery.run(
                started + opts.discover_deadline_s,
                still_missing,
                lambda: opts.expect is not None and bool(missing_nodes(opts.expect, col.nodes)),
            )
        )

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
            waits.append(
                await col.wait_until(
                    WAIT_PING,
                    time.monotonic() + opts.ping_deadline_s,
                    lambda: [f"no PONG from {n}" for n in pinged if n not in col.pongs],
                )
            )

        # each node gets two intervals from when it was discovered (a late joiner beats from then on)
        heartbeat_deadline = max([started, *col.first_seen.values()]) + opts.heartbeat_window
        if col.nodes:
            waits.append(
                await col.wait_until(
                    WAIT_HEARTBEAT,
                    heartbeat_deadline,
                    lambda: [f"no HEARTBEAT from {n}" for n in col.nodes if not col.heartbeats.get(n)],
                )
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
        waits=tuple(waits),
        unanswered=tuple(discovery.left),
        discover_broadcasts=discovery.broadcasts,
        discover_targeted=tuple(sorted(discovery.targeted)),
        packets_read=col.packets,
        truncated=col.truncated,
        malformed=col.malformed,
    )


def observe_bus_sync(url: str, options: BusProbeOptions | None = None) -> BusObservation:
    """:func:`observe_bus` for callers without an event loop (pytest tests, the CLI)."""
    return asyncio.run(observe_bus(url, options))
