"""Every rendered object is valid against the Kubernetes OpenAPI schema of --kube-version (offline)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Iterable

import kubernetes_validate

from ..findings import Finding
from .engine import Context, Rule, rule


@lru_cache(maxsize=4096)
def _validate_cached(document: str, version: str) -> tuple[str, str] | None:
    """(field path, message) of the first schema error, or None; cached since renders repeat objects."""
    try:
        kubernetes_validate.validate(json.loads(document), version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in exc.path)
        return path, str(exc.message)
    except kubernetes_validate.SchemaNotFoundError:
        return None  # a CRD or an API this Kubernetes version does not ship: not ours to judge
    return None


def supported_kube_version(version: str) -> str:
    """The closest version kubernetes-validate has schemas for (it ships one per minor)."""
    wanted = tuple(int(p) for p in version.lstrip("v").split(".")[:2])
    known = sorted(
        {tuple(int(p) for p in v.split(".")[:2]) for v in kubernetes_validate.utils.all_versions()}
    )
    best = min(known, key=lambda v: (abs(v[0] - wanted[0]) * 100 + abs(v[1] - wanted[1])))
    return f"{best[0]}.{best[1]}.0"


@rule(
    "manifests.kube-schema",
    title="rendered manifests are valid for the target Kubernetes version",
    contract="CONTRACT.md > Upgrades (the API server rejects what it cannot accept); --kube-version",
    fix="fix the template that renders the invalid field (see the field path)",
    basis="chart behaviour",
)
def rule_manifests_valid_for_kube_version(ctx: Context, r: Rule) -> Iterable[Finding]:
    version = supported_kube_version(ctx.options.kube_version)
    for manifest in ctx.topology.manifests:
        problem = _validate_cached(json.dumps(manifest.body, sort_keys=True, default=str), version)
        if problem is not None:
            path, message = problem
            yield r.fail(ctx, f"{manifest.ref} is invalid for Kubernetes {version}: {message}",
                         expected=f"a valid {manifest.kind} ({manifest.api_version})", found=message[:200],
                         resource=manifest.ref, field_path=path, manifest=manifest)
