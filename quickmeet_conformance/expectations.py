"""What the values promise: which components must run, with how many replicas, on which app version.

Derived only from the merged values (chart defaults + user file) and the chart's appVersion, never from
the rendered manifests, so the rules can compare the two. A switch the chart in question never reads
(``nats.enabled`` before 6.26.0, ``microservices.streamHub.enabled`` before 6.28.1) promises nothing: the
true finding is an ignored key (values.ignored-keys), not a component that "should not run".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .chart_reads import ReadTree, reads_path
from .topology import (
    ACCOUNTS,
    AUTHORIZATION,
    DDP_STREAMER,
    MONGODB,
    MONOLITH,
    NATS,
    PRESENCE,
    STREAM_HUB,
)
from .values import lookup

# component -> key under ``microservices`` (CONTRACT.md, "Values contract")
MICROSERVICE_KEYS = {
    PRESENCE: "presence",
    DDP_STREAMER: "ddpStreamer",
    ACCOUNTS: "account",
    AUTHORIZATION: "authorization",
    STREAM_HUB: "streamHub",
}

STREAM_HUB_OPTIONAL_FROM = (7, 7, 0)
STREAM_HUB_OFF_BY_DEFAULT_FROM = (7, 7, 3)
STREAM_HUB_REFUSED_FROM = (8, 0, 0)


def parse_app_version(text: str) -> tuple[int, int, int] | None:
    match = re.match(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", str(text or "").strip())
    if not match:
        return None
    return int(match.group(1)), int(match.group(2) or 0), int(match.group(3) or 0)


@dataclass(frozen=True)
class StreamHubExpectation:
    expected: bool | None  # None: the app version is unknown (e.g. tag "latest"), do not judge
    reason: str


def stream_hub_expectation(
    values: dict[str, Any], app_version: str, reads: ReadTree | None = None
) -> StreamHubExpectation:
    """CONTRACT.md, "Version rules": stream-hub < 7.7; optional from 7.7 (off by default from 7.7.3);
    refused from 8.0.0; required on <= 7.7.0. ``microservices.streamHub.enabled`` counts only when the chart
    reads it (``reads``: chart_reads of the chart; None reads every key)."""
    if not lookup(values, "microservices.enabled", False):
        return StreamHubExpectation(False, "microservices are off")
    version = parse_app_version(app_version)
    switch_read = reads_path(reads, "microservices.streamHub.enabled")
    enabled = lookup(values, "microservices.streamHub.enabled") if switch_read else None
    if version is None:
        return StreamHubExpectation(None, f"app version {app_version!r} is not a version number")
    shown = ".".join(map(str, version))
    if version >= STREAM_HUB_REFUSED_FROM:
        return StreamHubExpectation(False, f"app version {shown} >= 8.0.0 has no stream-hub")
    if version <= STREAM_HUB_OPTIONAL_FROM:
        return StreamHubExpectation(True, f"app version {shown} <= 7.7.0 needs stream-hub")
    if isinstance(enabled, bool):
        return StreamHubExpectation(enabled, f"microservices.streamHub.enabled is {str(enabled).lower()}")
    hub_values = lookup(values, "microservices.streamHub")
    if not (switch_read and isinstance(hub_values, dict) and "enabled" in hub_values):
        # charts released before the switch (e.g. 6.27.1) render stream-hub with every microservices
        # release; on 7.7.x-7.x it is optional, so either way is conformant
        return StreamHubExpectation(
            None,
            f"app version {shown}: stream-hub is optional and the chart has no microservices.streamHub.enabled",
        )
    default_on = version < STREAM_HUB_OFF_BY_DEFAULT_FROM
    return StreamHubExpectation(
        default_on, f"app version {shown}: stream-hub {'on' if default_on else 'off'} by default"
    )


def nats_count_honoured(values: dict[str, Any], reads: ReadTree | None) -> bool:
    """Whether nats.cluster.replicas is a promise: the public chart's NATS subchart runs one server unless
    nats.cluster.enabled is true (a chart that never reads that switch honours the count as it is)."""
    if not reads or not reads_path(reads, "nats.cluster.enabled"):
        return True
    return bool(lookup(values, "nats.cluster.enabled"))


@dataclass(frozen=True)
class Expectations:
    app_version: str
    microservices: bool
    components: dict[str, bool | None]  # component -> must exist (True), must not (False), unknown (None)
    replicas: dict[str, tuple[int, str]]  # component -> (replicas, values key path that sets it)
    stream_hub: StreamHubExpectation


def expectations_for(
    values: dict[str, Any], chart_app_version: str, reads: ReadTree | None = None
) -> Expectations:
    """``reads``: the values paths the chart reads (``Chart.reads``); a switch it never reads promises nothing."""
    app_version = str(lookup(values, "image.tag") or chart_app_version or "")
    micro = bool(lookup(values, "microservices.enabled", False))
    hub = stream_hub_expectation(values, app_version, reads)
    components: dict[str, bool | None] = {MONOLITH: True}
    for component in MICROSERVICE_KEYS:
        components[component] = micro
    components[STREAM_HUB] = hub.expected
    if lookup(values, "nats.enabled") is not None and reads_path(reads, "nats.enabled"):
        components[NATS] = bool(lookup(values, "nats.enabled"))
    if lookup(values, "mongodb.enabled") is not None:
        components[MONGODB] = bool(lookup(values, "mongodb.enabled"))
    replicas: dict[str, tuple[int, str]] = {}
    if isinstance(lookup(values, "replicaCount"), int):
        replicas[MONOLITH] = (lookup(values, "replicaCount"), "replicaCount")
    if micro:
        for component, key in MICROSERVICE_KEYS.items():
            value = lookup(values, f"microservices.{key}.replicas")
            if isinstance(value, int) and not isinstance(value, bool) and components.get(component):
                replicas[component] = (value, f"microservices.{key}.replicas")
    nats_replicas = lookup(values, "nats.cluster.replicas")
    if isinstance(nats_replicas, int) and components.get(NATS) and nats_count_honoured(values, reads):
        replicas[NATS] = (nats_replicas, "nats.cluster.replicas")
    return Expectations(app_version, micro, components, replicas, hub)
