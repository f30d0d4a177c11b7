"""An upgrade case (one pair through one helm binary), what its rules read, and its result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..case_key import case_id
from ..charts import Chart
from ..expectations import Expectations
from ..findings import Finding, Status, Verdict, status_of, verdict_of
from ..pipeline import CaseResult, ReleaseSettings
from ..render import Manifest, Rendered, Renderer, RenderRequest
from ..topology import Topology
from ..values import ValuesFile
from .pairs import SideSpec, UpgradePair
from .plan import ResourceKey, UpgradePlan
from .reuse import ReuseOutcome


@dataclass(frozen=True)
class SideState:
    """One side as the rules see it: values, chart, and (when it rendered) manifests and topology."""

    spec: SideSpec
    chart: Chart
    values_file: ValuesFile
    merged: dict[str, Any] = field(repr=False)
    expectations: Expectations = field(repr=False)
    rendered: Rendered | None = field(default=None, repr=False)
    topology: Topology | None = field(default=None, repr=False)
    render_error: str | None = None
    index: dict[ResourceKey, Manifest] = field(default_factory=dict, repr=False)

    @property
    def label(self) -> str:
        return f"{self.spec.values_label} with {self.chart.label}"


@dataclass(frozen=True)
class UpgradeView:
    """What an upgrade rule reads: both sides, the to-side rendered again, the plan, the to-side's static lane."""

    pair: UpgradePair
    namespace: str
    from_side: SideState
    to_side: SideState
    to_again: Rendered | None  # the to-side rendered a second time (None if that render failed)
    to_again_error: str | None
    plan: UpgradePlan | None
    target: CaseResult
    reuse: ReuseOutcome | None = None  # --reuse-values simulated (only on request)

    def surviving(self) -> list[tuple[ResourceKey, Manifest, Manifest]]:
        """Resources on both sides: the ones ``helm upgrade`` patches in place."""
        new = self.to_side.index
        return [(k, m, new[k]) for k, m in self.from_side.index.items() if k in new]

    def deleted(self) -> list[tuple[ResourceKey, Manifest]]:
        return [(k, m) for k, m in self.from_side.index.items() if k not in self.to_side.index]

    def created(self) -> list[tuple[ResourceKey, Manifest]]:
        return [(k, m) for k, m in self.to_side.index.items() if k not in self.from_side.index]


@dataclass(frozen=True)
class UpgradeCase(ReleaseSettings):
    """One upgrade pair rendered through one helm binary, with the release it upgrades."""

    pair: UpgradePair
    from_chart: Chart
    to_chart: Chart
    renderer: Renderer
    reuse_chart: Chart | None = (
        None  # the new chart with the old release's values as defaults (--reuse-values)
    )

    @property
    def id(self) -> str:
        return case_id(self.pair.name, self.renderer.helm.path)

    def chart(self, which: str) -> Chart:
        return self.from_chart if which == "from" else self.to_chart

    def request(self, which: str, values: dict[str, Any], attempt: int = 0) -> RenderRequest:
        """``which``: "from", "to", or "reuse" (the to-side as helm upgrade --reuse-values renders it)."""
        return RenderRequest(
            chart=self.reuse_chart if which == "reuse" and self.reuse_chart else self.chart(which),
            values=values,
            release=self.release,
            namespace=self.namespace,
            kube_version=self.options.kube_version,
            is_upgrade=which != "from",
            values_label=self.pair.side("to" if which == "reuse" else which).values_label,
            attempt=attempt,
        )


@dataclass
class UpgradeResult:
    case: UpgradeCase
    findings: dict[str, list[Finding]]  # rule id -> findings (already redacted)
    plan: UpgradePlan | None = None
    input_error: str | None = None  # a side could not be read or the installed side not rendered
    target: CaseResult | None = None  # the to-side through the static lane

    def verdict(self, rule_id: str) -> Verdict:
        return verdict_of(self.findings.get(rule_id, []))

    def status(self, rule_id: str, *, strict: bool) -> Status:
        return status_of(self.findings.get(rule_id, []), strict=strict)

    def target_failures(self, *, strict: bool) -> tuple[str, ...]:
        """The static rules the to-side fails (the release after the upgrade must pass the static lane)."""
        if self.target is None:
            return ()
        return tuple(
            rule_id for rule_id in self.target.findings if self.target.status(rule_id, strict=strict).blocks
        )
