"""Run the static and upgrade lanes over a chart's versions and keep each release's failing findings.

Every render of the whole history (each version's cases, both sides of each consecutive upgrade) is
requested in one batch from one renderer, so helm runs on every core while nothing else waits; the rules
then run on cached renders.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..charts import Chart, load_chart
from ..errors import UserError
from ..findings import Finding
from ..helm import HelmBinary
from ..pipeline import Case, CaseResult, evaluate_case, prefetch_upgrades, render_request, upgrade_request
from ..render import Renderer, RenderRequest
from ..rules.engine import Options
from ..upgrade import SideSpec, UpgradeCase, UpgradePair, UpgradeResult, evaluate_upgrade, prefetch_requests
from ..values import load_values, values_stem
from .cache import RenderCache
from .eras import Era, values_for_version
from .sources import ChartSource

DEFAULTS = "defaults"  # the case of the chart's own values (an empty values file)
# the upgrade's copy of the to-side's static findings: the static lane of that release already counts them
SKIPPED_UPGRADE_RULES = frozenset({"upgrade.target-passes-static"})


@dataclass(frozen=True, order=True)
class FindingKey:
    """What makes a finding the same one in two releases: the case, lane, rule, severity and subject (the
    resource and field, or the values key), never the message (it names the chart version)."""

    case: str  # "monolith", or "upgrade monolith" (the upgrade into this release)
    rule: str
    severity: str
    subject: str

    @property
    def lane(self) -> str:
        return "upgrade" if self.case.startswith("upgrade ") else "static"


@dataclass
class ReleaseRun:
    """One chart version: its failing findings (key -> one line), and cases that could not be checked."""

    source: ChartSource
    chart: Chart | None
    era: str
    findings: dict[FindingKey, str] = field(default_factory=dict)
    input_errors: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        app = f" (app {self.chart.app_version})" if self.chart is not None and self.chart.app_version else ""
        return f"{self.source.version}{app}"


@dataclass
class History:
    releases: list[ReleaseRun]
    seconds: float = 0.0
    renders: int = 0
    cases: int = 0
    upgrades: int = 0
    cached: int = 0  # renders taken from the render cache (--cache-dir)


def _subject(finding: Finding) -> str:
    if finding.resource:
        return finding.resource + (f".{finding.field_path}" if finding.field_path else "")
    if finding.location is not None and finding.location.key_path:
        return f"values {finding.location.key_path}"
    return ""


def _collect(run: ReleaseRun, case: str, findings: dict[str, list[Finding]], skip: frozenset[str]) -> None:
    for rule_id, found in findings.items():
        if rule_id in skip:
            continue
        for finding in found:
            if finding.failed:
                key = FindingKey(case, rule_id, finding.severity.value, _subject(finding))
                run.findings.setdefault(key, finding.one_line().replace("\n", " "))


def _cases(era: Era | None, defaults_file: Path, with_defaults: bool) -> list[Path]:
    files = [defaults_file] if with_defaults else []
    return files + list(era.files if era is not None else ())


def _pair(stem: str, old: tuple[ChartSource, Path], new: tuple[ChartSource, Path]) -> UpgradePair:
    def side(which: str, source: ChartSource, path: Path) -> SideSpec:
        return SideSpec(which, source.spec, source.chart_version, str(path), shown=str(path))

    return UpgradePair(
        name=f"{stem} {old[0].version} -> {new[0].version}",
        from_side=side("from", *old),
        to_side=side("to", *new),
        source="conformance history",
    )


_JOBS: list[Case | UpgradeCase] = []  # what the forked evaluators read (inherited, never pickled)


def _evaluate(index: int) -> tuple[str, dict[str, list[Finding]], str | None, int]:
    """Evaluate job ``index`` (a static case or an upgrade) on the renders cached before the fork; with the number
    of renders it still had to ask helm for (none, when the parent rendered everything it needs)."""
    job = _JOBS[index]
    before = job.renderer.renders
    if isinstance(job, UpgradeCase):
        outcome: UpgradeResult = evaluate_upgrade(job)
        name, findings, error = (
            f"upgrade {job.pair.name.split(' ', 1)[0]}",
            outcome.findings,
            outcome.input_error,
        )
    else:
        result: CaseResult = evaluate_case(job)
        name, findings, error = values_stem(job.values_path), result.findings, result.input_error
    return name, findings, error, job.renderer.renders - before


def _evaluate_all(jobs: list[Case | UpgradeCase], workers: int) -> list[tuple[str, dict, str | None, int]]:
    """Rules are Python (one core each): on a machine with several cores, forked workers share the jobs; the
    renders are cached in the parent, so the workers never call helm."""
    _JOBS[:] = jobs
    try:
        if workers <= 1 or len(jobs) < 4 or "fork" not in multiprocessing.get_all_start_methods():
            return [_evaluate(i) for i in range(len(jobs))]
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            return list(pool.map(_evaluate, range(len(jobs)), chunksize=max(1, len(jobs) // (workers * 4))))
    finally:
        _JOBS.clear()


def run_history(
    sources: list[ChartSource],
    eras: list[Era],
    helm: HelmBinary,
    workdir: Path,
    *,
    with_defaults: bool = True,
    options: Options | None = None,
    workers: int | None = None,
    cache_dir: Path | None = None,
) -> History:
    """Every version's cases and every consecutive upgrade (cases of the same name on both sides, when the
    installed side renders: an upgrade from values the chart refuses has nothing to upgrade)."""
    started = time.monotonic()
    options = options or Options()
    workers = workers if workers is not None else (os.cpu_count() or 1)
    renderer = Renderer(helm)
    defaults_file = workdir / f"{DEFAULTS}.yaml"
    defaults_file.write_text("{}\n", encoding="utf-8")
    releases: list[ReleaseRun] = []
    static: list[tuple[ReleaseRun, Case, RenderRequest]] = []
    for index, source in enumerate(sources):
        era = values_for_version(eras, source.version)
        run = ReleaseRun(source, None, era.name if era else "defaults only")
        releases.append(run)
        try:
            run.chart = load_chart(
                source.spec, version=source.chart_version, helm_path=helm.path, workdir=workdir / str(index)
            )
        except UserError as exc:
            run.input_errors.append(f"chart {source.spec} {source.version}: {exc.line()}")
            continue
        for path in _cases(era, defaults_file, with_defaults):
            case = Case(run.chart, str(path), renderer, options=options)
            static.append((run, case, render_request(case, load_values(str(path)).data)))
    cache = RenderCache(cache_dir, helm.version) if cache_dir is not None else None

    def batch(requests: list[RenderRequest]) -> None:
        _prefetch(renderer, requests, cache)

    batch([request for _, _, request in static])  # phase 1: every release's cases at once
    renders_ok = {id(case) for _, case, request in static if _renders(renderer, request)}
    upgrades: list[tuple[ReleaseRun, UpgradeCase]] = []
    for old, new in zip(releases, releases[1:], strict=False):
        old_cases = {values_stem(c.values_path): c for r, c, _ in static if r is old}
        for stem, to_path in ((values_stem(c.values_path), c.values_path) for r, c, _ in static if r is new):
            before = old_cases.get(stem)
            if before is None or id(before) not in renders_ok or old.chart is None or new.chart is None:
                continue
            pair = _pair(stem, (old.source, Path(before.values_path)), (new.source, Path(to_path)))
            upgrades.append((new, UpgradeCase(pair, old.chart, new.chart, renderer, options=options)))
    # phase 2: the upgrades, and the upgrade renders of the cases whose values flip an install/upgrade switch,
    # with the stand-in renders they lead to (all done here, once, and kept in the cache: not in each worker)
    again = [upgrade_request(case, request.values) for _, case, request in static if id(case) in renders_ok]
    upgrade_requests = [r for _, u in upgrades for r in prefetch_requests(u)] + [r for r in again if r]
    prefetch_upgrades(renderer, upgrade_requests, batch)
    renderer.close()
    jobs: list[Case | UpgradeCase] = [case for _, case, _ in static] + [u for _, u in upgrades]
    owners = [run for run, _, _ in static] + [run for run, _ in upgrades]
    late = 0  # renders the evaluations still asked for (in the workers: neither shared nor cached)
    for run, (name, findings, error, renders) in zip(owners, _evaluate_all(jobs, workers), strict=True):
        late += renders
        if error:
            run.input_errors.append(f"{name}: {error}")
            if name.startswith("upgrade "):
                continue
        _collect(run, name, findings, SKIPPED_UPGRADE_RULES if name.startswith("upgrade ") else frozenset())
    return History(
        releases,
        time.monotonic() - started,
        renderer.renders + late,
        len(static),
        len(upgrades),
        cache.hits if cache else 0,
    )


def _prefetch(renderer: Renderer, requests: list[RenderRequest], cache: RenderCache | None) -> None:
    if cache is not None:
        cache.load(renderer, requests)
    renderer.prefetch(requests)
    if cache is not None:
        cache.save(renderer, requests)


def _renders(renderer: Renderer, request: RenderRequest) -> bool:
    try:
        renderer.render(request)
    except UserError:
        return False
    return True
