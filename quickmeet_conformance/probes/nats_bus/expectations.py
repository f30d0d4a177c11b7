"""What the bus should show for a release: which Moleculer services, on how many nodes, from which pods.

Three sources, one type (:class:`BusExpectations`): ``--bus-expect`` (:func:`parse_bus_expect`), the
rendered chart (:func:`counts_from_topology`), or the pods a live cluster runs (``live/probing.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ...topology import BUS_CLIENTS, Topology


@dataclass(frozen=True)
class ComponentExpectation:
    component: str  # "ddp-streamer"
    service: str  # the Moleculer service that must be announced: "streamer"
    nodes: int | None  # expected node count; None = unknown (count not checked)
    aliases: tuple[str, ...] = ()  # other service names that also mark a node as this component
    pods: frozenset[str] | None = None  # pod names when known (live cluster); None in --nats-url mode

    @property
    def names(self) -> tuple[str, ...]:
        return (self.service, *self.aliases)


# component -> (service, aliases); CONTRACT.md > Components, "Moleculer service name on NATS".
COMPONENT_SERVICES: Mapping[str, tuple[str, tuple[str, ...]]] = MappingProxyType(
    {
        "monolith": ("license", ("meteor",)),
        "authorization": ("authorization", ()),
        "accounts": ("accounts", ()),
        "presence": ("presence", ()),
        "ddp-streamer": ("streamer", ()),
        "stream-hub": ("hub", ()),
    }
)
MONOLITH = "monolith"
STREAM_HUB = "stream-hub"


@dataclass(frozen=True)
class BusExpectations:
    components: tuple[ComponentExpectation, ...]
    namespace: str = ""

    @classmethod
    def from_counts(
        cls,
        counts: Mapping[str, int | None],
        *,
        pods: Mapping[str, Iterable[str]] | None = None,
        namespace: str = "",
    ) -> BusExpectations:
        """Expectations from ``{component: expected nodes}`` (components from :data:`COMPONENT_SERVICES`),
        with pod names per component when a live cluster told us."""
        unknown = sorted(set(counts) - set(COMPONENT_SERVICES))
        if unknown:
            raise ValueError(
                f"unknown component(s) {', '.join(unknown)}; known: {', '.join(COMPONENT_SERVICES)}"
            )
        items = []
        for component, count in counts.items():
            service, aliases = COMPONENT_SERVICES[component]
            pod_names = frozenset(pods[component]) if pods is not None and component in pods else None
            if count is None and pod_names is not None:
                count = len(pod_names)
            items.append(ComponentExpectation(component, service, count, aliases, pod_names))
        return cls(tuple(items), namespace)

    def get(self, component: str) -> ComponentExpectation | None:
        return next((c for c in self.components if c.component == component), None)

    @property
    def pods_known(self) -> bool:
        return any(c.pods is not None for c in self.components)


def parse_bus_expect(text: str) -> dict[str, int]:
    """``monolith=2,ddp-streamer=3`` -> {"monolith": 2, "ddp-streamer": 3}; a bad item is a ValueError whose
    message the caller shows as a usage error."""
    counts: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, number = item.partition("=")
        if not sep or name not in COMPONENT_SERVICES or not number.isdigit():
            raise ValueError(
                f"--bus-expect item {item!r} is not COMPONENT=COUNT (components: {', '.join(COMPONENT_SERVICES)})"
            )
        counts[name] = int(number)
    return counts


def counts_from_topology(topology: Topology) -> dict[str, int | None]:
    """Expected bus nodes per component of a rendered release: one per replica of each bus client present."""
    counts: dict[str, int | None] = {}
    for component in BUS_CLIENTS:
        workloads = topology.components(component)
        if workloads:
            counts[component] = sum(w.effective_replicas for w in workloads)
    return counts


def presence_only_counts() -> dict[str, int | None]:
    """Without a rendered chart: every component present, counts unchecked. stream-hub depends on the app
    version (CONTRACT.md > Components): only required when asked for."""
    return {c: None for c in COMPONENT_SERVICES if c != STREAM_HUB}
