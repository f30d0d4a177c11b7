"""Protocol probes of a running release: the Moleculer bus over NATS (``nats_bus``) and WebSockets through the
ingress (``ddp``). Each observes once into frozen data; its context (``context.py``) hands that observation to
the probe lane's engine rules (``probes/rules/``), which judge it. Nothing here judges."""

from __future__ import annotations

from dataclasses import dataclass

from ..findings import Finding


@dataclass(frozen=True)
class ProbeResult:
    """One probe rule judged against one target (the NATS or ingress URL, credentials masked)."""

    target: str
    findings: tuple[Finding, ...]

    @property
    def rule_id(self) -> str:
        return self.findings[0].rule_id if self.findings else ""
