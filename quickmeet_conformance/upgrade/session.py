"""A run's upgrade pairs across the session's helm binaries; each pair is evaluated once, renders prefetched."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..case_key import CaseKey
from ..charts import Chart, load_chart
from ..errors import UserError
from ..pipeline import prefetch_upgrades
from ..render import RenderRequest
from .case import UpgradeCase, UpgradeResult
from .evaluation import evaluate_upgrade, prefetch_requests
from .pairs import SIDES, SideSpec, UpgradePair, load_side_values, side_error, write_inline_values
from .reuse import reuse_chart

if TYPE_CHECKING:
    from ..session import ConformanceSession


class UpgradeSession:
    """The upgrade pairs of one run across the session's helm binaries; each pair is evaluated once."""

    def __init__(
        self, pairs: list[UpgradePair], conformance: ConformanceSession, *, reuse_values: bool = False
    ) -> None:
        self.conformance = conformance
        self.reuse_values = reuse_values  # also render each to-side as helm upgrade --reuse-values would
        self._raw_pairs = pairs
        self._pairs: list[UpgradePair] | None = None
        self._charts: dict[tuple[str, str | None], Chart] = {}
        self._results: dict[CaseKey, UpgradeResult] = {}
        self._prefetched = False

    @property
    def pairs(self) -> list[UpgradePair]:
        if self._pairs is None:
            workdir = self.conformance.workdir
            self._pairs = [write_inline_values(p, workdir) for p in self._raw_pairs]
        return self._pairs

    def chart(self, spec: SideSpec) -> Chart:
        key = (spec.chart, spec.chart_version)
        if key not in self._charts:
            helm = self.conformance.helm(self.conformance.settings.helm[0])
            self._charts[key] = load_chart(
                spec.chart, version=spec.chart_version, helm_path=helm.path, workdir=self.conformance.workdir
            )
        return self._charts[key]

    def check_setup(self) -> None:
        """Resolve every helm binary, chart and values file now; the first mistake is one line naming its side."""
        for spec in self.conformance.settings.helm:
            self.conformance.helm(spec)
        for pair in self.pairs:
            if pair.unavailable:
                continue  # its tests skip with the reason
            for which in SIDES:
                side = pair.side(which)
                try:
                    self.chart(side)
                    load_side_values(side)
                except UserError as exc:
                    raise side_error(side, pair.name, exc) from None

    def keys(self) -> list[CaseKey]:
        """Each upgrade pair x each helm binary (named before the pairs' files are read)."""
        return [
            CaseKey.for_upgrade(i, pair.name, h)
            for i, pair in enumerate(self._raw_pairs)
            for h in self.conformance.settings.helm
        ]

    def case(self, key: CaseKey) -> UpgradeCase:
        index, helm_spec = key.pair, key.helm
        pair = self.pairs[index]
        settings = self.conformance.settings
        charts = {}
        for which in SIDES:
            try:
                charts[which] = self.chart(pair.side(which))
            except UserError as exc:
                raise side_error(pair.side(which), pair.name, exc) from None
        reused = None
        if self.reuse_values:
            helm = self.conformance.helm(self.conformance.settings.helm[0])
            reused = reuse_chart(
                charts["to"],
                charts["from"],
                load_side_values(pair.from_side).data,
                self.conformance.workdir,
                f"{index}-{pair.name}",
                helm.path,
            )
        return UpgradeCase(
            pair,
            charts["from"],
            charts["to"],
            self.conformance.renderer(helm_spec),
            reuse_chart=reused,
            release=settings.release,
            namespace=settings.namespace,
            options=settings.options,
            matcher=self.conformance.matcher,
        )

    def _prefetch(self) -> None:
        self._prefetched = True
        by_helm: dict[str, list[RenderRequest]] = {}
        for key in self.keys():
            if self.pairs[key.pair].unavailable:
                continue
            try:
                by_helm.setdefault(key.helm, []).extend(prefetch_requests(self.case(key)))
            except UserError:
                continue  # reported by that pair's result
        for helm_spec, requests in by_helm.items():
            prefetch_upgrades(self.conformance.renderer(helm_spec), requests)  # stand-ins included

    def unavailable(self, key: CaseKey) -> str:
        """Why the pair of ``key`` cannot run on this machine ('' when it can)."""
        return self.pairs[key.pair].unavailable

    def result(self, key: CaseKey) -> UpgradeResult:
        if key not in self._results:
            if not self._prefetched:
                self._prefetch()
            self._results[key] = evaluate_upgrade(self.case(key))  # UserError: a chart that cannot load
        return self._results[key]

    def results(self) -> list[UpgradeResult]:
        return list(self._results.values())
