"""Every rendered object is valid against the Kubernetes OpenAPI schema of --kube-version (offline)."""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..findings import Finding, Remedy
from .chart_defects import default_value_remedy
from .context import RenderedContext
from .engine import Rule, rule


@lru_cache(maxsize=256)
def _validator(kind: str, api_version: str, version: str) -> Any:
    """A compiled jsonschema validator per (kind, apiVersion, Kubernetes minor), built from kubernetes-validate's
    strict schemas once (its own ``validate`` re-reads two JSON files on every call). jsonschema is imported
    here, not at module load: a run that never reaches this rule does not pay for it."""
    import jsonschema
    from referencing import Registry, Resource

    schema_dir = f"v{version}-local-strict"
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = _schema(f"{schema_dir}/{kind.lower()}-{group_version}.json", version)
    except FileNotFoundError:
        return None  # a CRD or an API this Kubernetes version does not ship: not ours to judge
    definitions = _schema(f"{schema_dir}/_definitions.json", version)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


@lru_cache(maxsize=1)
def _schema_root() -> Path:
    """kubernetes-validate's bundled schemas, found without importing it (its import pulls in what a run that
    only lists versions or reads two JSON files does not need)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("kubernetes-validate is not installed", fix="pip install quickmeet-conformance again")
    return Path(list(spec.submodule_search_locations)[0]) / "kubernetes-json-schema"


@lru_cache(maxsize=512)
def _schema(filename: str, version: str) -> dict:
    with open(_schema_root() / filename, encoding="utf-8") as handle:
        return json.load(handle)


@lru_cache(maxsize=4096)
def _validate_cached(document: str, kind: str, api_version: str, version: str) -> tuple[str, str] | None:
    """(field path, message) of the first schema error, or None; cached since renders repeat objects."""
    from jsonschema.exceptions import best_match

    validator = _validator(kind, api_version, version)
    if validator is None:
        return None
    error = best_match(validator.iter_errors(json.loads(document)))
    if error is None:
        return None
    return ".".join(str(p) for p in error.absolute_path), str(error.message)


def supported_kube_versions() -> list[str]:
    """The Kubernetes minors the bundled offline schemas cover (kubernetes-validate ships one per minor)."""
    found = (re.match(r"v(\d+)\.(\d+)\.\d+-local-strict$", entry.name) for entry in _schema_root().iterdir())
    minors = {(int(m.group(1)), int(m.group(2))) for m in found if m}
    return [f"{major}.{minor}" for major, minor in sorted(minors)]


def supported_kube_version(version: str) -> str:
    """The schema version for ``version`` (its minor: ``1.35.2`` -> ``1.35.0``); a version outside the bundled
    schemas is a UserError naming the supported ones (no silent fallback to the nearest)."""
    supported = supported_kube_versions()
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+][0-9A-Za-z.+-]*)?", version.strip())
    minor = f"{match.group(1)}.{match.group(2)}" if match else None
    if minor not in supported:
        what = "is not a Kubernetes version" if match is None else "has no bundled offline schema"
        raise UserError(f"--kube-version {version} {what}", fix=f"supported: {', '.join(supported)}")
    return f"{minor}.0"


@rule(
    "manifests.kube-schema",
    title="rendered manifests are valid for the target Kubernetes version",
    contract="CONTRACT.md > Upgrades (the API server rejects what it cannot accept); --kube-version",
    fix="fix the template that renders the invalid field (see the field path)",
    basis="chart behaviour",
)
def rule_manifests_valid_for_kube_version(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    version = supported_kube_version(ctx.options.kube_version)
    for manifest in ctx.topology.manifests:
        document = json.dumps(manifest.body, sort_keys=True, default=str)
        problem = _validate_cached(document, manifest.kind, manifest.api_version, version)
        if problem is not None:
            path, message = problem
            yield r.fail(
                ctx,
                f"{manifest.ref} is invalid for Kubernetes {version}: {message}",
                expected=f"a valid {manifest.kind} ({manifest.api_version})",
                found=message[:200],
                resource=manifest.ref,
                field_path=path,
                manifest=manifest,
                remedy=_unexpected_field_remedy(ctx, manifest.body, path, message),
            )


_UNEXPECTED = re.compile(r"'([^']+)' was unexpected")


def _unexpected_field_remedy(ctx: RenderedContext, body: Any, path: str, message: str) -> Remedy | None:
    """An unknown field in a map the template copied whole from the values: the key that put it there (the
    user's, or the chart's own default: ``chart_defects.default_value_remedy``); None otherwise (the
    finding's template location decides)."""
    named = _UNEXPECTED.search(message)
    if named is None:
        return None
    copied: Any = body
    for part in path.split(".") if path else []:
        if isinstance(copied, list) and part.isdigit() and int(part) < len(copied):
            copied = copied[int(part)]
        elif isinstance(copied, dict) and part in copied:
            copied = copied[part]
        else:
            return None
    if not isinstance(copied, dict) or named.group(1) not in copied:
        return None
    return default_value_remedy(ctx.chart, ctx.merged, ctx.values_file, copied, named.group(1), path)
