"""Who fixes what a rule found: a values key the chart reads, or the chart's template when it hard-codes it.

A rule that checks something a chart may hard-code (a stream-hub rollout strategy, an env value) asks
:func:`remedy_for` with the values keys that would change it and the template line that writes it. When
the chart reads one of the keys, the fix is that key (in the values file, at the key or its parent). When
it reads none and the template writes the value as literal text, the finding is a chart defect: no values
change fixes it, the template line is named, and the workaround is a ``helm --post-renderer`` patch.
Registers no rule (``rules/__init__`` imports it like the rule modules; nothing is registered).
"""

from __future__ import annotations

import textwrap

from ..chart_reads import reads_path, template_literal
from ..findings import FixKind, Remedy
from ..topology import Workload
from ..values import ValuesFile
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


def values_where(values_file: ValuesFile, key_path: str) -> str:
    """``file:line`` of the key, else of the nearest parent the values file sets (where the key goes)."""
    parts = key_path.split(".")
    for depth in range(len(parts), 0, -1):
        path = ".".join(parts[:depth])
        pos = values_file.positions.get(path)
        if pos is not None:
            shown = f"{values_file.file_of(pos)}:{pos.line}"
            return shown if depth == len(parts) else f"{shown}, under {path}"
    return f"{values_file.file_of(None)}, at the top level"


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
            return Remedy(FixKind.VALUES, key_path=key, where=values_where(ctx.values_file, key))
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
