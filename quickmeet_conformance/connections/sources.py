"""The value a workload's connection env var holds, read from the render as the kubelet would give it.

A literal ``value`` is the value; a ``secretKeyRef`` to a Secret the release renders is that Secret's key
(decoded from ``data`` or taken from ``stringData``); a Secret the render does not hold (an existing Secret
the user creates) cannot be read, and the connection is not judged. Which values key built the value is
found by value (the key whose string is the URL or the part at fault), so it needs no model of the chart's
templates and names the key the user edits.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..render import Manifest
from ..topology import EnvVar, Topology, Workload
from ..values import join_key_path


@dataclass(frozen=True)
class EnvValue:
    """One distinct value of one env var, with every workload that reads it."""

    env: str
    workloads: tuple[str, ...]
    value: str | None  # None: not readable from the render (see ``unreadable``)
    secret: str | None = None
    secret_key: str | None = None
    unreadable: str = ""


def secret_data(manifests: Iterable[Manifest], name: str) -> dict[str, str] | None:
    """The decoded data of the rendered Secret ``name`` (stringData wins, as the API server merges it)."""
    for m in manifests:
        if m.kind == "Secret" and m.name == name:
            decoded: dict[str, str] = {}
            data = m.body.get("data") if isinstance(m.body.get("data"), dict) else {}
            for key, raw in (data or {}).items():
                try:
                    decoded[str(key)] = base64.b64decode(str(raw), validate=True).decode("utf-8")
                except (binascii.Error, ValueError, UnicodeDecodeError):
                    continue
            string_data = m.body.get("stringData") if isinstance(m.body.get("stringData"), dict) else {}
            decoded.update({str(k): str(v) for k, v in (string_data or {}).items()})
            return decoded
    return None


def read_env(topology: Topology, var: EnvVar) -> tuple[str | None, str]:
    """(value, '') or (None, why it cannot be read)."""
    if var.secret_name is not None:
        data = secret_data(topology.manifests, var.secret_name)
        if data is None:
            return None, f"Secret {var.secret_name} is not part of the render (created outside the release)"
        if var.secret_key not in data:
            return None, f"Secret {var.secret_name} has no key {var.secret_key}"
        return data[str(var.secret_key)], ""
    if var.other_source:
        return None, f"the value comes from a {var.other_source}"
    return var.value or "", ""


def env_values(topology: Topology, workloads: Iterable[Workload], name: str) -> list[EnvValue]:
    """The distinct values of env var ``name`` across ``workloads`` (one per Secret key or literal)."""
    grouped: dict[tuple[Any, ...], list[str]] = {}
    first: dict[tuple[Any, ...], EnvVar] = {}
    for workload in workloads:
        for container in workload.containers:
            # a name listed twice (the chart's entry, then extraEnv's): the kubelet keeps the last
            same = [v for v in container.env if v.name == name]
            if not same:
                continue
            var = same[-1]
            key = (var.secret_name, var.secret_key) if var.secret_name is not None else ("", var.value)
            grouped.setdefault(key, []).append(workload.ref)
            first.setdefault(key, var)
    found = []
    for key, refs in grouped.items():
        var = first[key]
        value, why = read_env(topology, var)
        found.append(EnvValue(name, tuple(dict.fromkeys(refs)), value, var.secret_name, var.secret_key, why))
    return found


def _strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, join_key_path(path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, join_key_path(path, index))
    elif isinstance(node, (str, int, float)) and not isinstance(node, bool) and path:
        yield path, str(node)


def keys_holding(values: Any, *candidates: str | None) -> tuple[str, ...]:
    """The values key paths whose value is the first of ``candidates`` found (the whole URL first, then the
    part at fault): what the user edits to fix it."""
    pairs = list(_strings(values))
    for candidate in candidates:
        if candidate:
            hits = tuple(path for path, value in pairs if value == candidate)
            if hits:
                return hits
    return ()
