"""``helm upgrade --reuse-values`` simulated: the new chart rendered with the old release's values in place of
its own defaults, as helm does (``chart.Values = coalesce(old chart, old config)``; the ``-f`` files given
with the upgrade are merged on top). New defaults of the new chart are then missing."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..charts import Chart, load_chart
from ..render import Rendered
from ..values import deep_merge


@dataclass(frozen=True)
class ReuseOutcome:
    """What the new chart makes of the reused values: its render (or refusal) and the new defaults lost."""

    rendered: Rendered | None
    error: str | None
    missing: tuple[tuple[str, Any], ...]  # (key path, the new chart's default) absent from the reused values


def reused_values(old_chart: Chart, old_values: dict[str, Any]) -> dict[str, Any]:
    """The values helm puts in place of the new chart's defaults: the old chart's, with the old release's on top."""
    return deep_merge(old_chart.defaults, old_values)


def reuse_chart(
    new_chart: Chart, old_chart: Chart, old_values: dict[str, Any], workdir: Path, name: str, helm_path: str
) -> Chart:
    """A copy of ``new_chart`` whose values.yaml is the reused values (subchart defaults stay underneath)."""
    dest = workdir / f"reuse-values-{name}"
    if not dest.exists():
        shutil.copytree(new_chart.path, dest)
        (dest / "values.yaml").write_text(
            yaml.safe_dump(reused_values(old_chart, old_values), sort_keys=False), encoding="utf-8"
        )
    return load_chart(str(dest), version=None, helm_path=helm_path, workdir=workdir)


def lost_defaults(new_defaults: Any, reused: Any, path: str = "") -> list[tuple[str, Any]]:
    """Leaf keys the new chart's values.yaml sets (to something other than null) that the reused values lack."""
    if not isinstance(new_defaults, dict):
        return []
    lost: list[tuple[str, Any]] = []
    for key, value in new_defaults.items():
        child = f"{path}.{key}" if path else str(key)
        if not isinstance(reused, dict) or key not in reused:
            if isinstance(value, dict):
                lost += [(p, v) for p, v in lost_defaults(value, {}, child)]
            elif value is not None:
                lost.append((child, value))
            continue
        lost += lost_defaults(value, reused[key], child)
    return lost
