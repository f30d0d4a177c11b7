"""The probe lane's rule context: what one probe observed of one target, handed to the rule engine.

The static lane's rules read a render (``rules.engine.Context``); a probe rule reads an observation of a running
release instead. Each probe has its own context type, a :class:`ProbeContext` whose ``probe`` names it: the
prefix of its rule ids (``bus`` -> ``bus.*``), so the probe's rules are found in the registry by that name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar

from ..rules.engine import Options
from .ddp import DdpObservation
from .nats_bus.expectations import BusExpectations
from .nats_bus.model import BusObservation


@dataclass(frozen=True)
class ProbeContext:
    """The base of every probe's context: the probe's name and the target its findings are reported against,
    and the run's options, whose waivers the engine attaches to the probe's findings as to every lane's."""

    probe: ClassVar[str] = ""  # the probe's name and its rule ids' prefix: "bus" for bus.*
    options: Options = field(default_factory=Options, kw_only=True)  # the run's (its --waivers)

    @property
    def target(self) -> str:
        """What was probed, credentials masked (the NATS URL, the ingress base URL)."""
        raise NotImplementedError


@dataclass(frozen=True)
class BusContext(ProbeContext):
    """The NATS bus probe's observation and what the release implies should be on the bus."""

    probe: ClassVar[str] = "bus"
    observation: BusObservation
    expectations: BusExpectations = field(default_factory=lambda: BusExpectations(()))
    # pod name -> what it was doing when discovery gave up on it (phase, restarts, last log line): the live
    # lane reads it from the cluster for the pods that never answered; empty in --nats-url mode
    pod_states: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def target(self) -> str:
        return self.observation.url


@dataclass(frozen=True)
class DdpContext(ProbeContext):
    """The DDP/WebSocket probe's observation of the ingress."""

    probe: ClassVar[str] = "ws"
    observation: DdpObservation
    # route -> what stands behind it in the cluster ("Service x: 0 ready endpoint(s) (pods: none)"), from the
    # release's Ingress and EndpointSlices: the evidence that tells "nothing behind the Service" from a
    # controller that refused or timed out; empty when probing a URL without the cluster (--ingress-url)
    backends: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def target(self) -> str:
        return self.observation.base_url


__all__ = ["BusContext", "DdpContext", "ProbeContext"]
