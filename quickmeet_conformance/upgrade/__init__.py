"""The upgrade lane: render both sides of a ``helm upgrade``, plan it resource by resource, run the rules.

values -> render (both sides) -> plan + topologies -> upgrade rules -> findings -> reports.

- ``pairs``: the input, upgrade pairs (matrix files or ``--upgrade-from``/``--upgrade-to``)
- ``plan``: what ``helm upgrade`` does to each resource (created, deleted, changed with field paths)
- ``quantities``: Kubernetes quantities compared by value (PVC sizes)
- ``case``: one pair through one helm binary, the view its rules read, its result
- ``evaluation``: render, plan and evaluate one case
- ``session``: a run's pairs, each evaluated once

Output (plan lines, summary, JSON) lives in ``reports/upgrade.py``: reports read lanes, never the reverse.
"""

from .case import SideState, UpgradeCase, UpgradeResult, UpgradeView
from .evaluation import evaluate_upgrade, mode_notes, prefetch_requests, stream_hub_notes, target_case
from .pairs import (
    SIDES,
    SideSpec,
    UpgradePair,
    load_matrix,
    load_pair_file,
    load_side_values,
    pairs_from_options,
    side_error,
    write_inline_values,
)
from .plan import (
    ABSENT,
    ACTIONS,
    FieldChange,
    ResourceKey,
    ResourcePlan,
    UpgradePlan,
    diff_values,
    field_changes,
    index_manifests,
    is_secret_field,
    key_ref,
    plan_upgrade,
    resource_key,
    secret_text,
    show_secret,
    show_value,
)
from .quantities import parse_quantity
from .session import UpgradeSession

__all__ = [
    "ABSENT",
    "ACTIONS",
    "SIDES",
    "FieldChange",
    "ResourceKey",
    "ResourcePlan",
    "SideSpec",
    "SideState",
    "UpgradeCase",
    "UpgradePair",
    "UpgradePlan",
    "UpgradeResult",
    "UpgradeSession",
    "UpgradeView",
    "diff_values",
    "evaluate_upgrade",
    "field_changes",
    "index_manifests",
    "is_secret_field",
    "key_ref",
    "load_matrix",
    "load_pair_file",
    "load_side_values",
    "mode_notes",
    "pairs_from_options",
    "parse_quantity",
    "plan_upgrade",
    "prefetch_requests",
    "resource_key",
    "secret_text",
    "show_secret",
    "show_value",
    "side_error",
    "stream_hub_notes",
    "target_case",
    "write_inline_values",
]
