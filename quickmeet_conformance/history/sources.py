"""The chart versions a history walks: chart directories, or a repository chart's versions in a range."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from .. import subprocesses
from ..errors import UserError
from .eras import in_range, parse_version

SEARCH_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ChartSource:
    """One chart version: what ``load_chart`` takes (a directory, or REPO/NAME with a version)."""

    spec: str
    version: str
    chart_version: str | None = None  # set for a repository chart: pulled at this version


def _dir_version(path: Path) -> str:
    try:
        meta = yaml.safe_load((path / "Chart.yaml").read_text(encoding="utf-8")) or {}
    except OSError:
        raise UserError(
            "not a chart directory (no Chart.yaml)",
            where=str(path),
            fix="conformance history DIR... takes chart directories, e.g. ../shared/upstream-charts/rocketchat-*",
        ) from None
    except yaml.YAMLError:
        raise UserError("Chart.yaml is not valid YAML", where=str(path / "Chart.yaml")) from None
    return str(meta.get("version") or "")


def directory_sources(dirs: list[str]) -> list[ChartSource]:
    """The chart directories, oldest version first."""
    sources = [ChartSource(str(Path(d)), _dir_version(Path(d))) for d in dirs]
    return sorted(sources, key=lambda s: parse_version(s.version))


def repository_sources(chart: str, version_range: str, helm_path: str) -> list[ChartSource]:
    """The versions of repository chart ``chart`` (REPO/NAME, a repository helm knows) within ``version_range``,
    oldest first, from ``helm search repo --versions``."""
    result = subprocesses.run(
        [helm_path, "search", "repo", chart, "--versions", "--output", "json"],
        timeout_s=SEARCH_TIMEOUT_S,
        what="helm search repo",
    )
    if result.returncode != 0:
        raise UserError(
            f"cannot list the versions of {chart}: {subprocesses.last_line(result.stderr)}",
            fix=f"add the repository first: helm repo add {chart.split('/')[0]} URL",
        )
    try:
        rows = json.loads(result.stdout or "[]")
    except json.JSONDecodeError:
        rows = []
    versions = sorted(
        {str(row.get("version")) for row in rows if row.get("name") == chart and row.get("version")},
        key=parse_version,
    )
    chosen = [v for v in versions if in_range(v, version_range)]
    if not chosen:
        raise UserError(
            f"no version of {chart} in {version_range!r} (the repository has {len(versions)})",
            fix="widen --chart-version, or 'helm repo update'",
        )
    return [ChartSource(chart, v, chart_version=v) for v in chosen]
