"""A NATS server URL read the way the NATS clients read it (nats.js under Moleculer, nats-py).

The clients' rules, as nats-py's ``Client._parse_server_uri`` applies them (tests/connections checks this
module against it wherever nats-py is installed): a URL without a scheme is ``nats://``; schemes are
``nats`` and ``tls`` (``ws``/``wss`` for WebSocket); the port defaults to 4222; ``user:password@`` sends
user and password, ``token@`` (a user name without password) sends a token; a port that is not a number
in 0..65535 or a missing host is refused. Rocket.Chat's ``monolith+nats://`` is its own marker for the
monolith's transporter: the NATS client dials the ``nats://`` URL behind it. Importing nats-py costs more
than a whole check, so the rules are restated here (standard library only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlparse

SCHEMES = ("nats", "tls", "ws", "wss")
MONOLITH_PREFIX = "monolith+"
DEFAULT_PORT = 4222


@dataclass(frozen=True)
class NatsUrl:
    error: str = ""
    part: str = ""
    scheme: str = ""
    host: str = ""
    port: int = DEFAULT_PORT
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    url: str = field(default="", repr=False)  # what the client dials (scheme://userinfo@host:port)


def read(value: str) -> NatsUrl:
    """The client's reading of one TRANSPORTER value (the first server when a comma lists several)."""
    text = value.strip()
    if text.startswith(MONOLITH_PREFIX):
        text = text[len(MONOLITH_PREFIX) :]
    text = text.split(",", 1)[0].strip()
    if not text:
        return NatsUrl(error="empty URL", part="the whole value")
    if "://" not in text:
        text = f"nats://{text}"
    scheme = text.split("://", 1)[0].lower()
    if scheme not in SCHEMES:
        return NatsUrl(error=f"unknown scheme {scheme!r}", part="scheme (nats://, tls://, ws:// or wss://)")
    try:
        parsed = urlparse(text)
        port = parsed.port
    except ValueError:
        return NatsUrl(error="invalid connect url option: the port is not a number in 0..65535", part="port")
    host = parsed.hostname
    if not host or host == "none":
        return NatsUrl(error="invalid hostname in connect url", part="host")
    if port is None:
        port = DEFAULT_PORT if scheme in ("nats", "tls") else (443 if scheme == "wss" else 80)
    user = unquote(parsed.username) if parsed.username is not None else None
    password = unquote(parsed.password) if parsed.password is not None else None
    userinfo = parsed.netloc.rpartition("@")[0]
    dial = f"{scheme}://{userinfo + '@' if userinfo else ''}{host}:{port}"
    if user is not None and password is None:
        return NatsUrl(scheme=scheme, host=host, port=port, token=user, url=dial)
    return NatsUrl(scheme=scheme, host=host, port=port, user=user, password=password, url=dial)


def with_address(url: NatsUrl, host: str, port: int) -> str:
    """``url`` with its host:port replaced (credentials and scheme exactly as given): how the lane dials a
    local copy of the server."""
    userinfo = url.url.split("://", 1)[1].rpartition("@")[0]
    return f"{url.scheme}://{userinfo + '@' if userinfo else ''}{host}:{port}"
