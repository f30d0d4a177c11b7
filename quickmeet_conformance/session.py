"""One conformance run's state: the resolved helm binaries and chart, the cases, and their results.

Plain Python (no pytest): the plugin builds one and hands it to fixtures; the CLI and benchmarks use it
directly. Each case is evaluated once; renders for all cases are started together to use both cores.
"""

from __future__ import annotations

import shutil
import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from .case_key import CaseKey
from .charts import Chart, analyse_chart, locate_chart
from .errors import UserError
from .helm import HelmBinary, resolve_helm
from .pipeline import Case, CaseResult, evaluate_case, load_case_values, render_request, upgrade_request
from .redact import Redactor
from .render import Renderer
from .rules.engine import Options
from .topology import ComponentMatcher
from .values import load_values


@dataclass(frozen=True)
class Settings:
    chart: str
    chart_version: str | None
    values: tuple[str, ...]
    helm: tuple[str, ...]
    release: str = "rocketchat"
    namespace: str = "default"
    options: Options = field(default_factory=Options)
    component_images: tuple[tuple[str, str], ...] = ()
    helm_timeout_s: float | None = None  # bound on every helm call (default: helm.py / render.py's)
    values_from_defaults: bool = False  # the project's values_dir, not --values / QMC_VALUES

    @property
    def strict(self) -> bool:
        """Warnings block the run too: one setting, carried in ``options`` so rules can read it."""
        return self.options.strict


class ConformanceSession:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._workdir: Path | None = None
        self._helms: dict[str, HelmBinary] = {}
        self._renderers: dict[str, Renderer] = {}
        self._chart: Chart | None = None
        self._located: Chart | None = None
        self._results: dict[CaseKey, CaseResult] = {}
        self._prefetched = False
        self.matcher = ComponentMatcher().with_overrides(dict(settings.component_images))

    # -- resolution (each raises UserError with one line) ------------------------------------------
    @property
    def workdir(self) -> Path:
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="qmc-"))
        return self._workdir

    def helm(self, spec: str) -> HelmBinary:
        if spec not in self._helms:
            timeout = self.settings.helm_timeout_s
            self._helms[spec] = (
                resolve_helm(spec) if timeout is None else resolve_helm(spec, timeout_s=timeout)
            )
        return self._helms[spec]

    def renderer(self, spec: str) -> Renderer:
        if spec not in self._renderers:
            timeout = self.settings.helm_timeout_s
            helm = self.helm(spec)
            self._renderers[spec] = Renderer(helm) if timeout is None else Renderer(helm, timeout_s=timeout)
        return self._renderers[spec]

    @property
    def chart(self) -> Chart:
        if self._chart is None:
            self._chart = analyse_chart(self._located_chart())
        return self._chart

    def _located_chart(self) -> Chart:
        """The chart's directory and Chart.yaml (what a render needs), before its analysis."""
        if self._located is None:
            first_helm = self.helm(self.settings.helm[0])
            self._located = locate_chart(
                self.settings.chart,
                version=self.settings.chart_version,
                helm_path=first_helm.path,
                workdir=self.workdir,
            )
        return self._located

    def check_setup(self, *, render_early: bool = True) -> None:
        """Resolve every helm binary, the chart and each values file now: a setup mistake stops the run at once.
        Once the chart is found and the values read, helm starts rendering every case in the background, while
        the chart is analysed and the rules are loaded. ``render_early=False``: no render before a case asks for
        it (an audit reads a deployed release and renders none of the session's values files)."""
        from .rules.kube_schema import supported_kube_version

        supported_kube_version(self.settings.options.kube_version)  # no silent fallback to another version
        for spec in self.settings.helm:
            self.helm(spec)
        located = self._located_chart()
        loaded = {values: load_values(values).data for values in self.settings.values}  # unreadable: one line
        try:
            if render_early:
                self._start_renders(located, loaded)
            _ = self.chart
            if render_early:
                self._prefetch()  # and the upgrade renders the analysed chart asks for
        except BaseException:
            self.close()
            raise

    def _start_renders(self, located: Chart, loaded: dict[str, dict]) -> None:
        by_helm: dict[str, list] = {}
        for key in self.case_keys():
            case = self._case(key, located)
            by_helm.setdefault(key.helm, []).append(render_request(case, loaded[key.values]))
        for helm_spec, requests in by_helm.items():
            self.renderer(helm_spec).start(requests)

    # -- cases -------------------------------------------------------------------------------------
    def case_keys(self) -> list[CaseKey]:
        """Each values file x each helm binary; values paths are shown relative to the working directory."""
        return [CaseKey.for_values(v, h) for v in self.settings.values for h in self.settings.helm]

    def case(self, key: CaseKey) -> Case:
        return self._case(key, self.chart)

    def _case(self, key: CaseKey, chart: Chart) -> Case:
        return Case(
            chart=chart,
            values_path=key.values,
            renderer=self.renderer(key.helm),
            release=self.settings.release,
            namespace=self.settings.namespace,
            options=self.settings.options,
            matcher=self.matcher,
        )

    def _prefetch(self) -> None:
        """Start every render at once (renders are cached; bad values files are left to their case)."""
        self._prefetched = True
        by_helm: dict[str, list] = {}
        for key in self.case_keys():
            case = self.case(key)
            try:
                values = load_case_values(case).data
            except UserError:
                continue
            by_helm.setdefault(key.helm, []).append(render_request(case, values))
            again = upgrade_request(case, values)  # only when the chart emits something on install only
            if again is not None:
                by_helm[key.helm].append(again)
        for helm_spec, requests in by_helm.items():
            self.renderer(helm_spec).start(requests)  # helm renders while the rules are loaded

    def result(self, key: CaseKey) -> CaseResult:
        if key not in self._results:
            if not self._prefetched:
                self._prefetch()
            case = self.case(key)
            try:
                self._results[key] = evaluate_case(case)
            except Exception as exc:  # a framework bug: fail this case with one line, never crash the run
                where = traceback.extract_tb(exc.__traceback__)[-1]
                reason = Redactor().text(f"{type(exc).__name__}: {exc}")[:300]
                self._results[key] = CaseResult(
                    case,
                    {},
                    input_error=(
                        f"{case.values_path}: internal error while evaluating ({reason} at "
                        f"{Path(where.filename).name}:{where.lineno}); please report it"
                    ),
                )
        return self._results[key]

    def results(self) -> list[CaseResult]:
        return list(self._results.values())

    def close(self) -> None:
        for renderer in self._renderers.values():
            renderer.close()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
