"""The DDP/WebSocket probe: does the ingress send WebSockets to ddp-streamer, and does DDP work there?

:func:`observe_ddp` does the I/O against the ingress base URL and returns a frozen
:class:`DdpObservation`; the probe lane's engine rules (``probes/rules/ws.py``) judge it, evaluated on a
:class:`~quickmeet_conformance.probes.context.DdpContext`.

What it does (CONTRACT.md > "ddp-streamer on the wire", > Wiring: Ingress):

1. ``GET /sockjs/info``: ddp-streamer adds ``"ms": true``, the monolith does not.
2. ``/websocket`` (raw DDP) and ``/sockjs/<3 digits>/<8 chars>/websocket`` (SockJS framing): read the
   server_id frame, send ``connect`` (version 1), expect ``connected`` with a session, ping/pong, close.
3. A second connection per route asking for version 99: the monolith answers ``failed``,
   ddp-streamer still says ``connected``.
4. Classify who answered each route from the session id shape (UUID = ddp-streamer, 17 characters =
   monolith), the version-99 answer and, for /sockjs, the ``ms`` flag.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import secrets
import socket
import ssl
import string
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from ..errors import UserError

RULE_WEBSOCKET_HANDSHAKE = "ws.websocket-handshake"
RULE_SOCKJS_HANDSHAKE = "ws.sockjs-handshake"
RULE_REACHES_DDP_STREAMER = "ws.reaches-ddp-streamer"

DDP_STREAMER = "ddp-streamer"
MONOLITH = "monolith"
UNKNOWN = "unknown"

CONNECT = {"msg": "connect", "version": "1", "support": ["1"]}
CONNECT_UNSUPPORTED = {"msg": "connect", "version": "99", "support": ["99"]}

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_METEOR_ID = re.compile(r"^[23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz]{17}$")
_MAX_FRAMES = 50  # frames read per connection, at most
_FRAME_EVIDENCE = 160  # characters of each frame kept as evidence


def session_kind(session: str) -> str:
    """``uuid`` (ddp-streamer), ``meteor-id`` (monolith), ``other`` or ``none``."""
    if not session:
        return "none"
    if _UUID.match(session):
        return "uuid"
    if _METEOR_ID.match(session):
        return "meteor-id"
    return "other"


def sockjs_path() -> str:
    """A fresh SockJS transport path: ``/sockjs/<3 digits>/<8 random chars>/websocket``."""
    server = f"{secrets.randbelow(1000):03d}"
    session = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))
    return f"/sockjs/{server}/{session}/websocket"


# --------------------------------------------------------------------------------------------- observe


@dataclass(frozen=True)
class DdpProbeOptions:
    timeout: float = 5.0  # per step: TCP+TLS+upgrade, each frame awaited, HTTP GET
    ca_bundle: str = ""  # PEM file of CAs to trust for https (e.g. the cluster's ingress CA)
    insecure: bool = False  # https without certificate verification; explicit only
    connect_to: tuple[str, int] | None = (
        None  # dial this address instead of the URL's (like curl --connect-to)
    )

    def __post_init__(self) -> None:
        if self.ca_bundle and self.insecure:
            raise UserError("give either a CA bundle or --insecure, not both", fix="drop one of them")


@dataclass(frozen=True)
class DdpSession:
    """One WebSocket conversation on one route."""

    route: str  # "/websocket" or "/sockjs"
    url: str
    framing: str  # "raw" or "sockjs"
    reached: bool = False  # TCP (and TLS) connected and the server answered HTTP
    upgraded: bool = False  # HTTP 101
    http_status: int | None = None  # status when the upgrade was refused
    sockjs_open: bool = False  # "o" frame seen (SockJS only)
    server_id: bool = False  # server_id frame seen before "connected"
    connected: bool = False
    session: str = ""
    failed_version: str = ""  # the version proposed in a "failed" answer to version 1
    pong: bool = False
    unsupported_version_reply: str = ""  # "connected", "failed", "no reply", "" = not tried
    error: str = ""  # one line; empty when the conversation went through
    error_kind: str = ""  # "unreachable", "tls", "http", "timeout", "protocol"
    frames: tuple[str, ...] = ()  # the first frames, truncated, as evidence
    closed_cleanly: bool = False

    @property
    def session_kind(self) -> str:
        return session_kind(self.session)


@dataclass(frozen=True)
class DdpObservation:
    base_url: str
    sockjs_info: Mapping[str, Any] | None  # the JSON of GET /sockjs/info, when it was JSON
    sockjs_info_status: int | None
    sockjs_info_error: str
    websocket: DdpSession
    sockjs: DdpSession
    elapsed: float = 0.0

    @property
    def sockjs_ms(self) -> bool | None:
        """True/False from /sockjs/info's ``ms`` flag; None when the info was not JSON."""
        return None if self.sockjs_info is None else self.sockjs_info.get("ms") is True

    def route(self, name: str) -> DdpSession:
        return self.websocket if name == "/websocket" else self.sockjs

    def signals(self, route: str) -> tuple[tuple[str, str], ...]:
        """The evidence about who answered ``route``: (signal, server it points to)."""
        s = self.route(route)
        out = []
        kind = s.session_kind
        if kind == "uuid":
            out.append((f"session {s.session} is a UUID", DDP_STREAMER))
        elif kind == "meteor-id":
            out.append((f"session {s.session} is a 17-character Meteor id", MONOLITH))
        elif kind == "other":
            out.append((f"session {s.session!r} has an unknown shape", UNKNOWN))
        if s.failed_version:
            out.append((f"version 1 answered failed (proposes {s.failed_version!r})", UNKNOWN))
        if s.unsupported_version_reply == "connected":
            out.append(("version 99 answered connected", DDP_STREAMER))
        elif s.unsupported_version_reply == "failed":
            out.append(("version 99 answered failed", MONOLITH))
        if route == "/sockjs" and self.sockjs_ms is not None:
            out.append(
                ('/sockjs/info has "ms": true', DDP_STREAMER)
                if self.sockjs_ms
                else ('/sockjs/info has no "ms"', MONOLITH)
            )
        return tuple(out)

    def answered_by(self, route: str) -> str:
        """``ddp-streamer``, ``monolith`` or ``unknown`` (no evidence, or evidence that disagrees)."""
        votes = {server for _, server in self.signals(route) if server != UNKNOWN}
        return votes.pop() if len(votes) == 1 else UNKNOWN


class _Conversation:
    """One WebSocket connection speaking DDP with raw or SockJS framing."""

    def __init__(self, ws: Any, framing: str, timeout: float) -> None:
        self.ws = ws
        self.sockjs = framing == "sockjs"
        self.timeout = timeout
        self.frames: list[str] = []
        self.sockjs_open = False

    async def send(self, message: dict[str, Any]) -> None:
        text = json.dumps(message, separators=(",", ":"))
        await self.ws.send(json.dumps([text]) if self.sockjs else text)

    async def _frame(self, deadline: float) -> str | None:
        if len(self.frames) >= _MAX_FRAMES:
            raise _ProtocolError(f"no answer within the first {_MAX_FRAMES} frames")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            frame = await asyncio.wait_for(self.ws.recv(), timeout=remaining)
        except asyncio.TimeoutError:
            return None
        text = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
        self.frames.append(text[:_FRAME_EVIDENCE])
        return text

    async def messages(self, deadline: float) -> list[dict[str, Any]] | None:
        """The DDP messages of the next frame ([] for SockJS control frames); None at the deadline."""
        text = await self._frame(deadline)
        if text is None:
            return None
        if self.sockjs:
            if text == "o":
                self.sockjs_open = True
                return []
            if text == "h":
                return []
            if text.startswith("c"):
                raise _ProtocolError(f"SockJS close frame {text[:80]}")
            if not text.startswith("a"):
                raise _ProtocolError(f"not a SockJS frame: {text[:80]!r}")
            try:
                texts = json.loads(text[1:])
                return [m for m in (json.loads(t) for t in texts) if isinstance(m, dict)]
            except (ValueError, TypeError) as exc:
                raise _ProtocolError(f"bad SockJS array frame {text[:80]!r}") from exc
        try:
            message = json.loads(text)
        except ValueError as exc:
            raise _ProtocolError(f"not DDP JSON: {text[:80]!r}") from exc
        return [message] if isinstance(message, dict) else []

    async def until(self, wanted: Any) -> dict[str, Any] | None:
        """Read until a message satisfies ``wanted``; answer server pings on the way; None on timeout."""
        deadline = time.monotonic() + self.timeout
        while True:
            batch = await self.messages(deadline)
            if batch is None:
                return None
            for message in batch:
                if message.get("msg") == "ping":
                    await self.send({"msg": "pong", **({"id": message["id"]} if "id" in message else {})})
                if wanted(message):
                    return message


class _ProtocolError(Exception):
    pass


def _ssl_context(opts: DdpProbeOptions) -> ssl.SSLContext:
    if opts.insecure:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    return ssl.create_default_context(cafile=opts.ca_bundle or None)


def _describe_network_error(exc: BaseException, where: str) -> tuple[str, str]:
    """(error kind, one line) for a failure to reach ``where``."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or str(exc)
        return "tls", (
            f"TLS certificate of {where} is not trusted ({reason}): pass the ingress CA as a CA "
            "bundle, or --insecure to skip verification"
        )
    if isinstance(exc, ssl.SSLError):
        return "tls", f"TLS handshake with {where} failed ({exc.reason or exc})"
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "timeout", f"{where} did not answer in time"
    if isinstance(exc, ConnectionRefusedError):
        return "unreachable", f"{where} is unreachable (connection refused)"
    if isinstance(exc, OSError):
        return "unreachable", f"{where} is unreachable ({exc.strerror or exc})"
    return "unreachable", f"{where} is unreachable ({type(exc).__name__}: {exc})"


def _split_base(base_url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path prefix) of the ingress base URL."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(
            f"{base_url!r} is not an http(s) URL",
            fix="give the ingress base URL, e.g. https://chat.example.com",
        )
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, parts.hostname, port, parts.path.rstrip("/")


def _host_header(host: str, port: int, scheme: str) -> str:
    default = 443 if scheme == "https" else 80
    shown = f"[{host}]" if ":" in host else host
    return shown if port == default else f"{shown}:{port}"


class _DialingHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to ``dial`` while SNI and certificate checks use the URL's host name."""

    def __init__(self, host: str, port: int, dial: tuple[str, int], **kwargs: Any) -> None:
        super().__init__(host, port, **kwargs)
        self._dial = dial

    def connect(self) -> None:
        raw = socket.create_connection(self._dial, self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)  # type: ignore[attr-defined]  # TLS only


def _http_get(base_url: str, path: str, opts: DdpProbeOptions) -> tuple[int, bytes]:
    scheme, host, port, prefix = _split_base(base_url)
    conn: http.client.HTTPConnection
    if scheme == "https" and opts.connect_to:
        conn = _DialingHTTPSConnection(
            host, port, opts.connect_to, timeout=opts.timeout, context=_ssl_context(opts)
        )
    elif scheme == "https":
        conn = http.client.HTTPSConnection(host, port, timeout=opts.timeout, context=_ssl_context(opts))
    else:
        conn = http.client.HTTPConnection(*(opts.connect_to or (host, port)), timeout=opts.timeout)
    try:
        conn.request(
            "GET", prefix + path, headers={"Host": _host_header(host, port, scheme), "Accept": "*/*"}
        )
        response = conn.getresponse()
        return response.status, response.read(64 * 1024)
    finally:
        conn.close()


async def _converse(base_url: str, route: str, opts: DdpProbeOptions) -> DdpSession:
    """Handshake, ping and close on ``route``; then a second connection with version 99."""
    from ..extras import require_live

    require_live("websockets", what="the DDP WebSocket probe")
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidHandshake, InvalidStatus, WebSocketException

    scheme, host, port, prefix = _split_base(base_url)
    framing = "raw" if route == "/websocket" else "sockjs"
    ws_scheme = "wss" if scheme == "https" else "ws"

    def url() -> str:
        return f"{ws_scheme}://{_host_header(host, port, scheme)}{prefix}{route if framing == 'raw' else sockjs_path()}"

    first_url = url()
    kwargs: dict[str, Any] = {
        "open_timeout": opts.timeout,
        "close_timeout": opts.timeout,
        "ping_interval": None,
        "max_size": 1 << 20,
        "proxy": None,  # the probe talks to the ingress itself, never via a proxy
    }
    if scheme == "https":
        kwargs["ssl"] = _ssl_context(opts)
    if opts.connect_to:
        kwargs["host"], kwargs["port"] = opts.connect_to

    state: dict[str, Any] = {"route": route, "url": first_url, "framing": framing}

    async def conversation(
        target: str, hello: dict[str, Any]
    ) -> tuple[_Conversation, dict[str, Any] | None, bool]:
        """Open, read the greeting, send ``hello``; returns (conversation, connect answer, server_id seen)."""
        ws = await connect(target, **kwargs)
        conv = _Conversation(ws, framing, opts.timeout)
        state.update(reached=True, upgraded=True)
        # The greeting: SockJS "o", then the server_id frame. Do not insist: send connect regardless.
        greeting_deadline = time.monotonic() + opts.timeout
        seen_server_id = False
        while not seen_server_id:
            batch = await conv.messages(greeting_deadline)
            if batch is None:
                break
            seen_server_id = any("server_id" in m for m in batch)
        await conv.send(hello)
        answer = await conv.until(lambda m: m.get("msg") in ("connected", "failed"))
        return conv, answer, seen_server_id

    conv: _Conversation | None = None
    try:
        conv, answer, seen_server_id = await conversation(first_url, CONNECT)
        state.update(sockjs_open=conv.sockjs_open, server_id=seen_server_id)
        if answer is None:
            raise _ProtocolError('no "connected" or "failed" answer to connect')
        if answer.get("msg") == "failed":
            state["failed_version"] = str(answer.get("version", ""))
            raise _ProtocolError(f"connect version 1 answered {json.dumps(answer)}")
        state.update(connected=True, session=str(answer.get("session", "")))
        await conv.send({"msg": "ping", "id": "x"})
        pong = await conv.until(lambda m: m.get("msg") == "pong" and m.get("id") == "x")
        state["pong"] = pong is not None
        if pong is None:
            raise _ProtocolError('no {"msg":"pong","id":"x"} answer to ping')
    except InvalidStatus as exc:
        status = exc.response.status_code
        state.update(
            reached=True,
            http_status=status,
            error_kind="http",
            error=f"{first_url} answered HTTP {status}, not a WebSocket upgrade",
        )
    except (InvalidHandshake, WebSocketException) as exc:
        state.update(
            reached=True, error_kind="protocol", error=f"{first_url}: WebSocket handshake failed ({exc})"
        )
    except _ProtocolError as exc:
        state.update(error_kind="protocol", error=f"{first_url}: {exc}")
    except (OSError, asyncio.TimeoutError, ssl.SSLError) as exc:
        kind, line = _describe_network_error(exc, first_url)
        state.update(error_kind=kind, error=line)
    finally:
        if conv is not None:
            state["frames"] = tuple(conv.frames)
            state["closed_cleanly"] = await _close(conv.ws, opts.timeout)

    if state.get("reached") and state.get("upgraded"):
        state["unsupported_version_reply"] = await _unsupported_version(conversation, url(), opts.timeout)
    return DdpSession(**state)


async def _unsupported_version(conversation: Any, target: str, timeout: float) -> str:
    conv = None
    try:
        conv, answer, _ = await conversation(target, CONNECT_UNSUPPORTED)
        return "no reply" if answer is None else str(answer.get("msg"))
    except Exception as exc:  # any failure here only means "no classification signal"
        return f"no reply ({type(exc).__name__})"
    finally:
        if conv is not None:
            await _close(conv.ws, timeout)


async def _close(ws: Any, timeout: float) -> bool:
    try:
        await asyncio.wait_for(ws.close(), timeout=timeout)
        return True
    except Exception:  # closing is best effort; the result says whether it was clean
        return False


async def observe_ddp(base_url: str, options: DdpProbeOptions | None = None) -> DdpObservation:
    """Probe the ingress at ``base_url``; network trouble is recorded in the observation, never raised."""
    opts = options or DdpProbeOptions()
    _split_base(base_url)  # a bad URL is the user's mistake: raise UserError now
    started = time.monotonic()
    info: Mapping[str, Any] | None = None
    info_status: int | None = None
    info_error = ""
    try:
        info_status, body = await asyncio.to_thread(_http_get, base_url, "/sockjs/info", opts)
        try:
            parsed = json.loads(body)
            info = MappingProxyType(parsed) if isinstance(parsed, dict) else None
        except ValueError:
            info_error = f"GET /sockjs/info answered HTTP {info_status} with non-JSON content"
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        info_error = _describe_network_error(exc, f"{base_url.rstrip('/')}/sockjs/info")[1]
    websocket, sockjs = await asyncio.gather(
        _converse(base_url, "/websocket", opts), _converse(base_url, "/sockjs", opts)
    )
    return DdpObservation(
        base_url=base_url,
        sockjs_info=info,
        sockjs_info_status=info_status,
        sockjs_info_error=info_error,
        websocket=websocket,
        sockjs=sockjs,
        elapsed=round(time.monotonic() - started, 3),
    )


def observe_ddp_sync(base_url: str, options: DdpProbeOptions | None = None) -> DdpObservation:
    return asyncio.run(observe_ddp(base_url, options))


def parse_connect_to(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``--ingress-connect-to``) -> (host, port); anything else is a ValueError whose message the
    caller shows as a usage error."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--ingress-connect-to {text!r} is not HOST:PORT")
    return host, int(port)


__all__ = [
    "DDP_STREAMER",
    "MONOLITH",
    "RULE_REACHES_DDP_STREAMER",
    "RULE_SOCKJS_HANDSHAKE",
    "RULE_WEBSOCKET_HANDSHAKE",
    "UNKNOWN",
    "DdpObservation",
    "DdpProbeOptions",
    "DdpSession",
    "observe_ddp",
    "observe_ddp_sync",
    "parse_connect_to",
    "session_kind",
    "sockjs_path",
]
