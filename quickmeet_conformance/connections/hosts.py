"""Where a connection's host leads: a Service of the release (and the pods it selects), or outside it.

Cluster DNS names a Service as ``svc``, ``svc.ns``, ``svc.ns.svc`` or ``svc.ns.svc.<cluster domain>``, and a
StatefulSet pod behind a headless Service as ``pod.svc[.ns[.svc...]]``. A name of another namespace, or a
name that is no cluster DNS form at all (``db.example.com``), is outside the release: not judged. A bare
``<release>-...`` name the release does not render is a Service the chart meant to create and did not (a
host built by the chart for an architecture the values switched off).
"""

from __future__ import annotations

from ..topology import Service, Topology
from .model import HostResolution


def _service_and_pod(host: str, namespace: str, topology: Topology) -> tuple[str | None, bool]:
    """(Service name, whether the name is a cluster DNS form of this namespace)."""
    labels = host.lower().rstrip(".").split(".")
    if "svc" in labels:
        cut = labels.index("svc")
        head = labels[:cut]
        if len(head) < 2 or head[-1] != namespace:
            return None, False
        labels = head[:-1]
    elif len(labels) == 2 and labels[1] == namespace:
        labels = labels[:1]
    elif len(labels) > 2:
        return None, False
    if len(labels) == 1:
        return labels[0], True
    if len(labels) == 2 and topology.service(labels[1]) is not None:  # pod.headless
        return labels[1], True
    return None, False


def resolve(host: str, port: int, topology: Topology, release: str, namespace: str) -> HostResolution:
    name, in_cluster = _service_and_pod(host, namespace, topology)
    if name is None or not in_cluster:
        return HostResolution(host, port, outside=True)
    service: Service | None = topology.service(name)
    if service is None:
        ours = name.startswith(f"{release}-")
        return HostResolution(host, port, missing=ours, outside=not ours)
    selected = tuple(w.ref for w in topology.workloads_selected_by(service))
    return HostResolution(host, port, service.name, service.port_by(number=port) is not None, selected)
