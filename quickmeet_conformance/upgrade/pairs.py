"""Upgrade pairs, the lane's input: a from-side (the installed release: chart + values) and a to-side
(what ``helm upgrade`` applies), from a matrix directory or from ``--upgrade-from``/``--upgrade-to``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from ..charts import UPSTREAM_PREFIX, upstream_chart_dir
from ..errors import UserError
from ..values import ValuesFile, load_values, parse_values

SIDES = ("from", "to")


@dataclass(frozen=True)
class SideSpec:
    """One side of an upgrade: a chart and a values file (or inline values from a matrix file)."""

    side: str  # "from" | "to"
    chart: str  # anything load_chart takes: a directory, a .tgz, repo/name
    chart_version: str | None = None
    values_path: str = ""  # the values file ("" for inline values not yet written to disk)
    inline: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    shown: str = ""  # how the values are named in messages: the file, or "<matrix file> (to.values)"
    declared_in: str = ""  # the matrix file or command-line flag that declared this side
    unavailable: str = (
        ""  # why the side's chart is not on this machine (a public chart beside the repository)
    )

    @property
    def values_label(self) -> str:
        return self.shown or self.values_path


@dataclass(frozen=True)
class UpgradePair:
    name: str
    from_side: SideSpec
    to_side: SideSpec
    description: str = ""
    source: str = ""  # the matrix file, or "command line"
    unavailable: str = ""  # why this pair cannot run here (a public chart not beside the repository): skipped

    def side(self, which: str) -> SideSpec:
        return self.from_side if which == "from" else self.to_side


def _shown(path: Path | str) -> str:
    """Paths below the working directory are shown relative to it."""
    text = str(path)
    rel = os.path.relpath(text) if os.path.isabs(text) else text
    return text if rel.startswith("..") else rel


def side_error(spec: SideSpec, pair_name: str, exc: UserError) -> UserError:
    """``exc`` restated so its one line names the side, the upgrade pair and the file."""
    where = f"{spec.side} side of upgrade {pair_name}"
    if spec.declared_in:
        where += f" ({spec.declared_in})"
    where += f": {exc.where}" if exc.where else ""
    return type(exc)(exc.what, where=where, fix=exc.fix)


def _matrix_side(data: dict[str, Any], side: str, path: Path, charts_dir: Path, values_dir: Path) -> SideSpec:
    where = _shown(path)
    spec = data.get(side)
    if not isinstance(spec, dict):
        raise UserError(
            f"'{side}' must be a map with 'chart' and 'values'",
            where=where,
            fix=f"e.g. {side}: {{chart: rocketchat, values: monolith.yaml}}",
        )
    unknown = sorted(set(spec) - {"chart", "chart_version", "values"})
    if unknown:
        raise UserError(
            f"{side}: unknown keys {unknown}", where=where, fix="use chart, chart_version and values"
        )
    chart = spec.get("chart")
    if not isinstance(chart, str) or not chart:
        raise UserError(f"{side}.chart must name a chart directory under {_shown(charts_dir)}", where=where)
    unavailable = ""
    if chart.startswith(UPSTREAM_PREFIX):  # a public chart beside the repository; absent: the pair is skipped
        upstream = upstream_chart_dir(chart, charts_dir.resolve().parents[1])
        chart_path: Path | None = upstream
        if not (upstream / "Chart.yaml").is_file():
            unavailable = (
                f"public chart not found at {chart_path} (../shared/upstream-charts beside the repository)"
            )
    else:
        chart_path = next((p for p in (charts_dir / chart, Path(chart)) if p.exists()), None)
    if chart_path is None:
        raise UserError(f"{side}.chart {chart!r} not found under {_shown(charts_dir)}", where=where)
    values = spec.get("values")
    version = spec.get("chart_version")
    common: dict[str, Any] = dict(
        side=side,
        chart=_shown(chart_path),
        chart_version=str(version) if version else None,
        declared_in=where,
        unavailable=unavailable,
    )
    if isinstance(values, dict):
        return SideSpec(inline=values, shown=f"{where} ({side}.values)", **common)
    if not isinstance(values, str) or not values:
        raise UserError(
            f"{side}.values must be a file under {_shown(values_dir)} or an inline map", where=where
        )
    candidates = (values_dir / values, values_dir.parent / values, Path(values))  # fixtures/upstream/<v>/...
    values_path = next((p for p in candidates if p.exists()), values_dir / values)
    return SideSpec(values_path=_shown(values_path), shown=_shown(values_path), **common)


def load_pair_file(path: Path, charts_dir: Path, values_dir: Path) -> UpgradePair:
    """One matrix file: ``from: {chart, values}`` and ``to: {chart, values}`` (values: a file or a map)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read: {exc.strerror}", where=_shown(path)) from None
    data = parse_values(raw, _shown(path)).data  # the values loader's bounds and one-line errors
    unknown = sorted(set(data) - {"from", "to", "description"})
    if unknown:
        raise UserError(
            f"unknown keys {unknown}", where=_shown(path), fix="an upgrade pair has from, to, description"
        )
    from_side = _matrix_side(data, "from", path, charts_dir, values_dir)
    to_side = _matrix_side(data, "to", path, charts_dir, values_dir)
    return UpgradePair(
        name=path.stem,
        from_side=from_side,
        to_side=to_side,
        description=str(data.get("description") or ""),
        source=_shown(path),
        unavailable=from_side.unavailable or to_side.unavailable,
    )


def load_matrix(directory: Path) -> list[UpgradePair]:
    """Every ``*.yaml`` pair in ``directory``; charts and values are looked up beside it (../charts, ../values)."""
    if not directory.is_dir():
        raise UserError(
            "upgrade matrix directory not found",
            where=_shown(directory),
            fix="pass --upgrade-from/--upgrade-to, or set upgrades_dir in pytest_conformance_defaults",
        )
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise UserError("no upgrade pair (*.yaml) in the matrix directory", where=_shown(directory))
    return [load_pair_file(p, directory.parent / "charts", directory.parent / "values") for p in files]


def pairs_from_options(
    froms: list[str],
    tos: list[str],
    *,
    from_chart: str,
    from_chart_version: str | None,
    to_chart: str,
    to_chart_version: str | None,
) -> list[UpgradePair]:
    """``--upgrade-from A --upgrade-to B`` pairs, matched by order."""
    if len(froms) != len(tos):
        raise UserError(
            f"{len(froms)} --upgrade-from but {len(tos)} --upgrade-to",
            fix="give them in pairs, matched by order: --upgrade-from OLD.yaml --upgrade-to NEW.yaml",
        )
    pairs: list[UpgradePair] = []
    seen: dict[str, int] = {}
    for index, (old, new) in enumerate(zip(froms, tos, strict=True)):
        name = f"{Path(old).stem}-to-{Path(new).stem}"
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name += f"-{seen[name]}"
        pairs.append(
            UpgradePair(
                name=name,
                from_side=SideSpec(
                    "from",
                    from_chart,
                    from_chart_version,
                    old,
                    shown=old,
                    declared_in=f"--upgrade-from #{index + 1}",
                ),
                to_side=SideSpec(
                    "to", to_chart, to_chart_version, new, shown=new, declared_in=f"--upgrade-to #{index + 1}"
                ),
                source="command line",
            )
        )
    return pairs


def write_inline_values(pair: UpgradePair, workdir: Path) -> UpgradePair:
    """Inline values written to files (the static lane reads values from a file)."""
    sides = {}
    for which in SIDES:
        spec = pair.side(which)
        if spec.inline is not None and not spec.values_path:
            target = workdir / f"upgrade-{pair.name}.{which}.yaml"
            target.write_text(yaml.safe_dump(spec.inline, sort_keys=False), encoding="utf-8")
            spec = replace(spec, values_path=str(target))
        sides[which] = spec
    return replace(pair, from_side=sides["from"], to_side=sides["to"])


def load_side_values(spec: SideSpec) -> ValuesFile:
    values = load_values(spec.values_path)
    return replace(values, path=spec.values_label)
