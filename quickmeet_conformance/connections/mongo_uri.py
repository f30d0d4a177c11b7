"""A MongoDB connection string read by the official driver's own parser (pymongo), without the network.

``pymongo.uri_parser.parse_uri`` validates everything, then (for ``mongodb+srv://``) asks DNS for the SRV
and TXT records. The static lane must not touch the network, so the SRV form is validated by the same
driver function that ``parse_uri`` runs first (``uri_parser_shared._validate_uri``, pymongo >= 4.12:
scheme, user info escaping, hosts, one host and no port for SRV, every option); only the DNS step is left
out. pymongo costs ~90 ms to import, so it is imported on first use.

Where the driver refuses a string, :func:`part_at_fault` names the part (scheme, user name, password,
host, database, option) from the string's structure, so the message can say what to escape without
quoting the secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCHEMES = ("mongodb://", "mongodb+srv://")
RESERVED = ":/?#[]@"  # RFC 3986 gen-delims: must be percent-encoded in user name and password


@dataclass(frozen=True)
class ParsedUri:
    error: str = ""
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    nodes: tuple[tuple[str, int], ...] = ()
    srv: bool = False


def _import() -> Any:
    try:
        from pymongo import uri_parser_shared
    except ImportError:
        return None
    return uri_parser_shared


def parse(uri: str) -> ParsedUri:
    """The driver's reading of ``uri``: its fields, or its error message."""
    shared = _import()
    if shared is None:
        return ParsedUri(error="pymongo is not installed: pip install pymongo")
    from pymongo.errors import ConfigurationError, InvalidURI

    srv = uri.startswith("mongodb+srv://")
    try:
        if srv:
            # parse_uri minus its DNS step (see the module docstring)
            result = shared._validate_uri(uri, 27017, True, False, True, None)
        else:
            from pymongo.uri_parser import parse_uri

            result = parse_uri(uri)
    except (InvalidURI, ConfigurationError, ValueError) as exc:
        return ParsedUri(error=str(exc) or type(exc).__name__, srv=srv)
    options = dict(result.get("options") or {})
    nodes = tuple((str(h), int(p or 27017)) for h, p in result.get("nodelist") or ())
    if srv and result.get("fqdn"):
        nodes = ((str(result["fqdn"]), 27017),)
    return ParsedUri(
        username=result.get("username"),
        password=result.get("password"),
        database=result.get("database"),
        options={str(k).lower(): v for k, v in options.items()},
        nodes=nodes,
        srv=srv,
    )


def part_at_fault(uri: str, error: str) -> str:
    """The part of ``uri`` the driver refused, named for a message (never quoting a credential)."""
    if not uri.startswith(SCHEMES):
        return "scheme (must be mongodb:// or mongodb+srv://)"
    rest = uri.split("://", 1)[1]
    before_query = rest.split("?", 1)[0]
    if "@" in before_query:
        userinfo, _, _ = before_query.rpartition("@")
        user, colon, password = userinfo.partition(":")
        bad_user = sorted({c for c in user if c in RESERVED})
        bad_password = sorted({c for c in password if c in RESERVED})
        if bad_password:
            return "password (unescaped " + " ".join(repr(c) for c in bad_password) + ")"
        if bad_user:
            return "user name (unescaped " + " ".join(repr(c) for c in bad_user) + ")"
        if "%" in userinfo and "escaped" in error:
            return "user name or password (a '%' not followed by two hex digits)"
        if colon and not user:
            return "user name (empty)"
    lowered = error.lower()
    if "port" in lowered or "host" in lowered or "ipv6" in lowered:
        return "host"
    if "database" in lowered:
        return "database"
    if "option" in lowered or "=" in error or "must be" in lowered:
        return "options (after '?')"
    return "the connection string"
