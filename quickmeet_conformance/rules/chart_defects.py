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
