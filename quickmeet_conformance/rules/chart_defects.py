"""Who fixes what a rule found: a values key the chart reads, or the chart's template when it hard-codes it.

A rule that checks something a chart may hard-code (a stream-hub rollout strategy, an env value) asks
:func:`remedy_for` with the values keys that would change it and the template line that writes it. When
the chart reads one of the keys, the fix is that key (in the values file, at the key or its parent). When
it reads none and the template writes the value as literal text, the finding is a chart defect: no values
change fixes it, the template line is named, and the workaround is a ``helm --post-renderer`` patch.
Registers no rule (``rules/__init__`` imports it like the rule modules; nothing is registered).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

from ..chart_reads import reads_path, template_literal, template_reads
from ..charts import Chart, Dependency, evaluate_condition
from ..errors import UserError
from ..findings import FixKind, Remedy
from ..render import Manifest
from ..topology import Workload
from ..values import ValuesFile, load_values, lookup
from .context import RenderedContext

POST_RENDERER = (
    "helm install/upgrade --post-renderer ./kustomize.sh (a script: cat > all.yaml; kustomize build .), "
    "with this kustomization.yaml:"
)


def post_renderer_patch(ref: str, patch: str) -> str:
    """The workaround: a kustomize patch of ``ref`` ("Kind/name") applied through helm's post-renderer."""
    kind, name = ref.split("/", 1)
    return (
        f"{POST_RENDERER}\n"
        "resources: [all.yaml]\n"
        "patches:\n"
        f"  - target: {{kind: {kind}, name: {name}}}\n"
        "    patch: |-\n" + textwrap.indent(patch.strip("\n"), "      ")
    )


def values_remedy(values_file: ValuesFile, key_path: str) -> Remedy:
    """Set ``key_path``: at its line, or, when the file lacks it, "add it under <parent> (file:line)" (the
    nearest ancestor the file sets) or "add it at the top level of <file>" (``ValuesFile.locate``)."""
    where = values_file.locate(key_path)
    return Remedy(FixKind.VALUES, key_path=key_path, where=where.placement(), absent=where.absent)


def remedy_for(
    ctx: RenderedContext,
    workload: Workload,
    *,
    keys: tuple[str, ...],
    pattern: str,
    following: int = 0,
    patch: str,
    fixed_in: str = "",
) -> Remedy | None:
    """The values remedy when the chart reads one of ``keys``; the chart remedy when it reads none and the
    template line matching ``pattern`` (and ``following`` lines) is literal; None when neither is certain
    (the finding's location then decides, ``Finding.fixed_by``)."""
    for key in keys:
        if reads_path(ctx.chart.reads, key):
            return values_remedy(ctx.values_file, key)
    template, literal = template_literal(ctx.chart.path, workload.manifest.source, pattern, following)
    if not literal:
        return None
    return Remedy(
        FixKind.CHART,
        template=template,
        fixed_in=fixed_in,
        workaround=post_renderer_patch(workload.ref, patch),
        hard_coded=True,
    )


def _chart_line(chart_dir: Path, inside: str, pattern: str) -> str:
    """``inside:LINE`` of the first line of the chart file ``inside`` matching ``pattern`` (``inside`` alone
    when none does)."""
    where, _ = template_literal(chart_dir, f"chart/{inside}", pattern)
    return where


def condition_remedy(chart: Chart, dep: Dependency, part: str, value: object) -> Remedy:
    """The unreadable dependency condition (``a, b``: helm looks up the key `` b``) is Chart.yaml's text, so the
    chart fixes it; a values file works around it by giving the first path the boolean the blank part meant."""
    first = dep.condition.strip().split(",")[0].strip()
    wanted = str(value).lower() if isinstance(value, bool) else "true or false"
    return Remedy(
        FixKind.CHART,
        template=_chart_line(chart.path, "Chart.yaml", r"condition:.*" + re.escape(dep.condition.strip())),
        hard_coded=True,
        key_path=first,
        workaround=f"values: set {first}: {wanted} (what {part.strip()} says): helm decides by the first path "
        "of the condition, the one it can read",
    )


def _paths_holding(tree: object, wanted: object, prefix: str = "") -> list[str]:
    """Every dotted values path whose value equals ``wanted`` (a map a template copied whole with toYaml)."""
    if not isinstance(tree, dict):
        return []
    found = []
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if value == wanted:
            found.append(path)
        found += _paths_holding(value, wanted, path)
    return found


def _closeness(key: str, field_path: str) -> int:
    """How many words of the rendered field's path the values key names (``containers.0.securityContext`` and
    ``containerSecurityContext``: 2): which of several equal maps the template copied there."""
    name = key.lower()
    return sum(1 for part in field_path.split(".") if not part.isdigit() and part.lower().rstrip("s") in name)


def default_value_remedy(
    chart: Chart, merged: dict[str, Any], values_file: ValuesFile, copied: object, field: str, field_path: str
) -> Remedy | None:
    """Who fixes a field ``field`` of the rendered map ``copied`` that a template copied whole from the values
    (``toYaml .Values.x``): the user's file when it sets ``x.field`` (the values remedy at its line), the
    chart's own defaults (its values.yaml line) when only they set it, worked around by setting the key to
    null (helm drops a key whose value is null). Of several equal maps, the one whose key names most words of
    the rendered ``field_path``. None when no values map holds ``copied``."""
    for path in sorted(_paths_holding(merged, copied), key=lambda p: -_closeness(p, field_path)):
        key = f"{path}.{field}"
        if key in values_file.positions:
            return values_remedy(values_file, key)
        if lookup(chart.defaults, key) is None:
            continue
        template = "values.yaml"
        try:
            line = load_values(chart.path / "values.yaml").positions.get(key)
        except UserError:
            line = None
        return Remedy(
            FixKind.CHART,
            template=f"{template}:{line.line}" if line is not None else template,
            hard_coded=True,
            key_path=key,
            workaround=f"values: set {key}: null (helm then leaves the chart's default out)",
        )
    return None


def orphan_service_remedy(ctx: RenderedContext, service: Manifest, selector: dict[str, str]) -> Remedy | None:
    """A Service of the chart's own templates that selects the pods of a subchart these values disable: the
    template's guard never asks the subchart's condition (a chart defect at the guard's line). The workaround:
    turn off the switches the template reads that are on (``*.enabled``), else a post-renderer delete."""
    if "/charts/" in f"/{service.source}":
        return None  # a subchart's own Service goes with its subchart
    named = set(selector.values())
    for dep in ctx.chart.dependencies:
        if {dep.name, dep.key}.isdisjoint(named) or evaluate_condition(dep, ctx.merged).enabled:
            continue
        inside = service.source.split("/", 1)[1] if "/" in service.source else service.source
        switches = [
            key
            for key in template_reads(ctx.chart.path, inside)
            if key.endswith(".enabled") and lookup(ctx.merged, key) is True
        ]
        return Remedy(
            FixKind.CHART,
            template=_chart_line(ctx.chart.path, inside, r"\{\{-?\s*if\b"),
            hard_coded=True,
            key_path=switches[0] if switches else "",
            workaround=(
                f"values: set {switches[0]}: false (this template's switch): the {dep.key} subchart is off"
                if switches
                else post_renderer_patch(
                    service.ref, f"$patch: delete\nkind: Service\nmetadata: {{name: {service.name}}}"
                )
            ),
        )
    return None
