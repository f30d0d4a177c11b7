"""The release's NATS server configuration, read from the render, and a copy a local server can run.

The nats subchart mounts ``nats.conf`` from a ConfigMap into the server container. What decides whether
a client may connect is in that file: ``authorization`` (users, token, nkeys), ``accounts``, ``operator``
and ``resolver`` (JWT), ``no_auth_user``, and ``tls`` (the client port requires TLS). The lane lets the
real server judge: :func:`local_config` keeps those blocks as rendered and removes what only matters in
the cluster (cluster/gateway/leafnode/JetStream/WebSocket/MQTT blocks, ports, pid and log files), then
listens on a loopback port of our choosing. ``$NAME`` references (``$POD_NAME``) are environment
variables for the server: the lane sets each to a placeholder.

The format is NATS's own (HOCON-like): ``key value``, ``key: value``, ``key = value``, blocks in braces,
arrays in brackets, ``#`` and ``//`` comments, quoted strings. :func:`top_level_entries` splits the top
level into entries by tracking brace/bracket depth outside strings and comments; it never interprets
the values (the server does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..render import Manifest
from ..topology import NATS, ComponentMatcher, Topology, Workload

# entries a local server must not get: ports and files of the pod, and blocks that dial other servers
DROPPED = frozenset(
    {
        "port", "listen", "host", "net", "client_advertise",
        "http", "http_port", "monitor_port", "https", "https_port", "http_base_path",
        "pid_file", "ports_file_dir", "log_file", "syslog", "remote_syslog",
        "cluster", "gateway", "leafnodes", "leaf", "jetstream", "websocket", "ws", "mqtt",
        "server_name", "lame_duck_duration", "lame_duck_grace_period",
    }
)  # fmt: skip
AUTH_KEYS = ("authorization", "accounts", "operator", "resolver", "no_auth_user", "system_account")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_ENV_REF = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Entry:
    key: str
    text: str  # the whole entry as written, key included


def top_level_entries(conf: str) -> list[Entry]:
    """The top-level entries of a NATS configuration, each with its full text."""
    entries: list[Entry] = []
    i, n = 0, len(conf)
    while i < n:
        c = conf[i]
        if c in " \t\r\n;,":
            i += 1
            continue
        if c == "#" or conf.startswith("//", i):
            i = conf.find("\n", i) if "\n" in conf[i:] else n
            continue
        match = _KEY.match(conf, i)
        if not match:  # something we cannot read: keep it as it is, the server will judge it
            end = conf.find("\n", i)
            end = n if end < 0 else end
            entries.append(Entry("", conf[i:end]))
            i = end
            continue
        start, j, depth, quote = i, match.end(), 0, ""
        while j < n:
            ch = conf[j]
            if quote:
                if ch == "\\":
                    j += 2
                    continue
                if ch == quote:
                    quote = ""
            elif ch in "\"'":
                quote = ch
            elif ch == "#" or conf.startswith("//", j):
                nl = conf.find("\n", j)
                j = n if nl < 0 else nl
                continue
            elif ch in "{[":
                depth += 1
            elif ch in "}]":
                depth -= 1
                if depth == 0 and ch == "}" and _ends_block(conf, start, j):
                    j += 1
                    break
            elif ch == "\n" and depth == 0:
                break
            j += 1
        entries.append(Entry(match.group(0).lower(), conf[start:j]))
        i = j
    return entries


def _ends_block(conf: str, start: int, j: int) -> bool:
    """True when the brace at ``j`` closes a ``key { ... }`` block that began the entry at ``start``."""
    head = conf[start:j]
    return "{" in head and "[" not in head.split("{", 1)[0]


def features(conf: str) -> tuple[str, ...]:
    """What in the configuration decides who may connect (top-level entries, as the server reads them)."""
    found: list[str] = []
    for entry in top_level_entries(conf):
        if entry.key in AUTH_KEYS and entry.key not in found:
            found.append(entry.key)
        if entry.key == "authorization" and "nkey" in entry.text and "nkeys" not in found:
            found.append("nkeys")
        if entry.key == "tls" and "tls" not in found:
            found.append("tls")
    return tuple(found)


def includes(conf: str) -> bool:
    return any(entry.key == "include" for entry in top_level_entries(conf))


def local_config(conf: str, port: int) -> str:
    """``conf`` with what belongs to the pod removed, listening on 127.0.0.1:``port`` with no monitoring."""
    kept = [entry.text for entry in top_level_entries(conf) if entry.key not in DROPPED]
    return "\n".join([*kept, f"listen: 127.0.0.1:{port}", ""])


def env_references(conf: str) -> tuple[str, ...]:
    return tuple(sorted(set(_ENV_REF.findall(conf))))


@dataclass(frozen=True)
class RenderedConfig:
    workload: Workload
    where: str  # "ConfigMap/<name> key <key>"
    text: str


def _configmap(manifests: tuple[Manifest, ...], name: str) -> Manifest | None:
    return next((m for m in manifests if m.kind == "ConfigMap" and m.name == name), None)


def rendered_config(
    topology: Topology, workload: Workload, matcher: ComponentMatcher
) -> RenderedConfig | None:
    """The nats.conf the server container of ``workload`` reads: the ``--config``/``-c`` file when the
    command names one, found in the ConfigMap volume mounted there; else the only ``*.conf`` key mounted."""
    pod = ((workload.manifest.body.get("spec") or {}).get("template") or {}).get("spec") or {}
    volumes = {
        str(v.get("name")): str((v.get("configMap") or {}).get("name"))
        for v in pod.get("volumes") or []
        if isinstance(v, dict) and isinstance(v.get("configMap"), dict)
    }
    container_name = workload.container_of(NATS, matcher).name
    for container in pod.get("containers") or []:
        if not isinstance(container, dict) or container.get("name") != container_name:
            continue
        args = [str(a) for a in (container.get("command") or []) + (container.get("args") or [])]
        wanted = next(
            (args[i + 1] for i, a in enumerate(args[:-1]) if a in ("--config", "-c", "-config")), ""
        )
        for mount in container.get("volumeMounts") or []:
            if not isinstance(mount, dict) or str(mount.get("name")) not in volumes:
                continue
            cm = _configmap(topology.manifests, volumes[str(mount["name"])])
            data = cm.body.get("data") if cm is not None else None
            if not isinstance(data, dict):
                continue
            base = str(mount.get("mountPath", "")).rstrip("/") + "/"
            for key, text in data.items():
                if (wanted and wanted == base + str(key)) or (not wanted and str(key).endswith(".conf")):
                    return RenderedConfig(workload, f"ConfigMap/{cm.name if cm else ''} key {key}", str(text))
    return None
