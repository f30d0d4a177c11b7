"""Mutants: broken variants of the reference chart or its values that a given rule must catch.

A mutant file (``fixtures/mutants/*.yaml``) names the rule it targets, a base values file, an optional
values overlay, an optional list of text patches applied to a copy of a reference chart, and the
substrings the failing finding must contain (the component and the resource it names). Upgrade mutants
also have ``from:`` and ``to:`` maps with the same keys per side (see :func:`side_of`).

Test-only: the framework's self-tests (tests/rules, tests/upgrade, tests/live, tests/kind, tests/reports) use
it to show each rule kills its mutants; neither the suites nor the CLI do, so it stays out of the wheel.
Imported as ``mutants`` (tests/ is on sys.path through tests/conftest.py, like suite_runner).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from quickmeet_conformance.charts import UPSTREAM_PREFIX, upstream_chart_dir
from quickmeet_conformance.findings import Finding, Verdict, blocking
from quickmeet_conformance.values import deep_merge

if TYPE_CHECKING:
    from quickmeet_conformance.render import Renderer
    from quickmeet_conformance.upgrade import UpgradeCase


class MutantError(Exception):
    """The mutant itself is broken (a patch no longer applies, a base file is missing)."""


class MutantUnavailable(Exception):
    """The mutant's chart is not on this machine (the public charts beside the repository): skip it."""


def chart_source(chart: str, fixtures: Path) -> Path:
    """The chart directory a mutant names: a reference chart in fixtures/charts, or a public chart beside the
    repository (``upstream/<dir>``, i.e. ../shared/upstream-charts/<dir>)."""
    if chart.startswith(UPSTREAM_PREFIX):
        path = upstream_chart_dir(chart, fixtures.resolve().parent)
        if not (path / "Chart.yaml").is_file():
            raise MutantUnavailable(
                f"public chart not found at {path} (../shared/upstream-charts beside the repository)"
            )
        return path
    return fixtures / "charts" / chart


@dataclass(frozen=True)
class ChartPatch:
    file: str
    replace: str | None = None
    with_: str = ""
    delete: bool = False
    create: str | None = None
    count: int = 1  # how many occurrences must be replaced (0: all, at least one)


@dataclass(frozen=True)
class Mutant:
    name: str
    rule: str
    description: str
    base_values: str
    values: dict[str, Any] = field(default_factory=dict)
    chart: str = "rocketchat"
    chart_patch: tuple[ChartPatch, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    expect: tuple[str, ...] = ()
    path: str = ""
    equivalent: bool = False  # a change the rule must NOT report as an error (no false failure)
    severity: str = ""  # when given, the severity the failure must have ("error" or "warning")
    extra: dict[str, Any] = field(default_factory=dict)  # lane-specific keys (e.g. the upgrade lane's)


def _patches(items: list[dict[str, Any]] | None) -> tuple[ChartPatch, ...]:
    return tuple(
        ChartPatch(
            file=p["file"],
            replace=p.get("replace"),
            with_=p.get("with", ""),
            delete=bool(p.get("delete", False)),
            create=p.get("create"),
            count=int(p.get("count", 1)),
        )
        for p in items or []
    )


def load_mutant(path: Path) -> Mutant:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    known = {
        "rule",
        "description",
        "base_values",
        "values",
        "chart",
        "chart_patch",
        "options",
        "expect",
        "equivalent",
        "severity",
    }
    patches = _patches(data.get("chart_patch"))
    return Mutant(
        name=path.stem,
        rule=data["rule"],
        description=data.get("description", ""),
        base_values=data.get("base_values", "seed-docs.yaml"),
        values=data.get("values") or {},
        chart=data.get("chart", "rocketchat"),
        chart_patch=patches,
        options=data.get("options") or {},
        expect=tuple(data.get("expect") or ()),
        path=str(path),
        equivalent=bool(data.get("equivalent", False)),
        severity=str(data.get("severity", "")),
        extra={k: v for k, v in data.items() if k not in known},
    )


def side_of(mutant: Mutant, side: str) -> Mutant:
    """One side (``from``/``to``) of an upgrade mutant as a plain mutant: the side's own ``chart``,
    ``base_values``, ``values`` and ``chart_patch`` (kept in ``extra``) over the top-level ones."""
    spec = mutant.extra.get(side) or {}
    return replace(
        mutant,
        name=f"{mutant.name}.{side}",
        base_values=spec.get("base_values", mutant.base_values),
        values=spec.get("values", mutant.values) or {},
        chart=spec.get("chart", mutant.chart),
        chart_patch=_patches(spec["chart_patch"]) if "chart_patch" in spec else mutant.chart_patch,
        extra={},
    )


def load_mutants(directory: Path) -> list[Mutant]:
    return [load_mutant(p) for p in sorted(directory.glob("*.yaml"))]


def patch_chart(source: Path, patches: tuple[ChartPatch, ...], dest: Path) -> Path:
    """Copy the chart at ``source`` to ``dest`` and apply ``patches``; a patch that misses is an error."""
    shutil.copytree(source, dest)
    for patch in patches:
        target = dest / patch.file
        if patch.create is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(patch.create, encoding="utf-8")
            continue
        if not target.exists():
            raise MutantError(f"patch target {patch.file} does not exist in {source.name}")
        if patch.delete:
            target.unlink()
            continue
        text = target.read_text(encoding="utf-8")
        found = text.count(patch.replace or "")
        if not patch.replace or found == 0 or (patch.count and found != patch.count):
            raise MutantError(
                f"patch on {patch.file} no longer applies: {patch.replace!r} found {found} times, "
                f"expected {patch.count or 'at least 1'}"
            )
        target.write_text(text.replace(patch.replace, patch.with_), encoding="utf-8")
    return dest


def materialize(mutant: Mutant, fixtures: Path, workdir: Path) -> tuple[Path, Path]:
    """(chart directory, values file) for ``mutant``, written below ``workdir``."""
    chart = chart_source(mutant.chart, fixtures)
    if mutant.chart_patch:
        chart = patch_chart(chart, mutant.chart_patch, workdir / f"chart-{mutant.name}")
    # a base values path with a folder is relative to fixtures/ (upstream/6.29.0/microservices.yaml)
    base = (
        fixtures / mutant.base_values
        if "/" in mutant.base_values
        else fixtures / "values" / mutant.base_values
    )
    if not base.exists():
        raise MutantError(f"base values {mutant.base_values} not found")
    values = deep_merge(yaml.safe_load(base.read_text(encoding="utf-8")) or {}, mutant.values)
    values_path = workdir / f"{mutant.name}.yaml"
    values_path.write_text(yaml.safe_dump(values, sort_keys=False), encoding="utf-8")
    return chart, values_path


def survival(mutant: Mutant, findings: list[Finding]) -> str:
    """Why an equivalent ``mutant`` is wrongly reported (an error-severity failure of its rule), else why
    ``mutant`` is not killed by its rule's ``findings`` ('' when it is): the rule gave no FAIL, or its
    failures do not mention what the mutant expects (the component, the resource, the key)."""
    failing = [f for f in findings if f.verdict == Verdict.FAIL]
    if mutant.equivalent:
        wrong = blocking(findings, strict=False)
        return (
            (
                f"equivalent mutant {mutant.name} ({mutant.description.strip()}) is reported as an error by "
                f"{mutant.rule}: " + "; ".join(f.one_line() for f in wrong)
            )
            if wrong
            else ""
        )
    if not failing:
        verdicts = [(f.verdict.value, f.message) for f in findings]
        return f"mutant {mutant.name} survived: rule {mutant.rule} gave {verdicts}"
    if mutant.severity and not any(f.severity.value == mutant.severity for f in failing):
        return (
            f"mutant {mutant.name}: {mutant.rule} fails, but not at severity {mutant.severity}: "
            + "; ".join(f"{f.severity.value}: {f.one_line()}" for f in failing)
        )
    text = "\n".join(f"{f.detail()} {f.resource} {f.field_path} {f.location}" for f in failing)
    missing = [s for s in mutant.expect if s not in text]
    return f"mutant {mutant.name}: the failure does not mention {missing}:\n{text}" if missing else ""


def upgrade_case_of(mutant: Mutant, fixtures: Path, workdir: Path, renderer: Renderer) -> UpgradeCase:
    """Both sides of an upgrade ``mutant`` materialized below ``workdir`` (charts patched, values written) as
    the :class:`UpgradeCase` the upgrade and live lanes run; ``reuse_values: true`` simulates
    ``helm upgrade --reuse-values`` as ``--reuse-values`` does. Raises :class:`MutantUnavailable` when a
    side's chart is not on this machine."""
    from quickmeet_conformance.charts import load_chart
    from quickmeet_conformance.rules.engine import Options
    from quickmeet_conformance.upgrade import SideSpec, UpgradeCase, UpgradePair
    from quickmeet_conformance.upgrade.reuse import reuse_chart

    specs, charts = {}, {}
    for which in ("from", "to"):
        chart_dir, values_path = materialize(side_of(mutant, which), fixtures, workdir)
        charts[which] = load_chart(
            str(chart_dir), version=None, helm_path=renderer.helm.path, workdir=workdir
        )
        specs[which] = SideSpec(which, str(chart_dir), values_path=str(values_path), shown=values_path.name)
    pair = UpgradePair(mutant.name, specs["from"], specs["to"], mutant.description, mutant.path)
    reused = None
    if mutant.extra.get("reuse_values"):
        old_values = yaml.safe_load(Path(specs["from"].values_path).read_text(encoding="utf-8")) or {}
        reused = reuse_chart(
            charts["to"], charts["from"], old_values, workdir, mutant.name, renderer.helm.path
        )
    return UpgradeCase(
        pair, charts["from"], charts["to"], renderer, reuse_chart=reused, options=Options(**mutant.options)
    )
