"""Values validation: the JSON Schema of the contract, and keys the chart silently ignores.

Helm never complains about a key no template reads; ``microservices.ddpStreamers`` "works" and
does nothing. A key is known when the chart's own default values, the contract schema or one of the
chart's templates (helpers included) has it.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jsonschema

from .chart_reads import WHOLE, ReadTree, read_child, read_children
from .resources import schema_file
from .values import join_key_path

# Keys Helm itself gives meaning to at any chart's top level.
HELM_RESERVED_TOP_LEVEL = frozenset({"global"})


@lru_cache(maxsize=4)
def load_schema(path: str | None = None) -> dict[str, Any]:
    """The contract schema (tests/test_model_units.py checks it against the 2020-12 metaschema once;
    doing so on every run cost more than all static rules together)."""
    with open(path or schema_file(), encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


@dataclass(frozen=True)
class SchemaViolation:
    key_path: str
    message: str
    value_repr: str


def _path_of(error: jsonschema.ValidationError) -> str:
    path = ""
    for part in error.absolute_path:
        path = join_key_path(path, part)
    return path


def without_nulls(data: Any) -> Any:
    """The values with every ``null`` key dropped: in helm, ``key: null`` deletes the chart's default for that key
    (how a later layer removes what an earlier one or the chart set), so there is nothing to type-check."""
    if isinstance(data, dict):
        return {k: without_nulls(v) for k, v in data.items() if v is not None}
    if isinstance(data, list):
        return [without_nulls(v) for v in data]
    return data


def schema_violations(data: dict[str, Any], schema: dict[str, Any] | None = None) -> list[SchemaViolation]:
    validator = jsonschema.Draft202012Validator(schema or load_schema())
    found = []
    for error in sorted(
        validator.iter_errors(without_nulls(data)), key=lambda e: [str(p) for p in e.absolute_path]
    ):
        value = error.instance
        value_repr = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
        found.append(SchemaViolation(_path_of(error) or "(top level)", error.message, value_repr))
    return found


@dataclass(frozen=True)
class IgnoredKey:
    key_path: str
    key: str
    suggestion: str | None  # the closest known sibling key, if any
    contract_only: bool = False  # the contract knows the key, but this chart version never reads it

    def message(self) -> str:
        if self.contract_only:
            return (
                f"{self.key_path} is read by no template or dependency condition of this chart version (the "
                "contract knows it from other versions): helm ignores it silently"
            )
        text = f"{self.key_path} is read by no template of the chart: helm ignores it silently"
        if self.suggestion:
            text += f"; did you mean {self.suggestion!r}?"
        return text


def _schema_node(schema: dict[str, Any], node: dict[str, Any] | None) -> dict[str, Any] | None:
    if node is None:
        return None
    if "$ref" in node and node["$ref"].startswith("#/$defs/"):
        return schema["$defs"][node["$ref"].split("/")[-1]]
    return node


def _schema_children(schema: dict[str, Any], node: dict[str, Any] | None) -> tuple[set[str], bool]:
    """(known child names, free-form?) for an object schema node."""
    node = _schema_node(schema, node)
    if node is None:
        return set(), False
    props = set(node.get("properties", {}))
    free = not props and node.get("additionalProperties", True) is not False and node.get("type") == "object"
    return props, free


def _child_schema(schema: dict[str, Any], node: dict[str, Any] | None, key: str) -> dict[str, Any] | None:
    node = _schema_node(schema, node)
    if node is None:
        return None
    return _schema_node(schema, node.get("properties", {}).get(key))


def ignored_keys(
    user: dict[str, Any],
    defaults: dict[str, Any],
    schema: dict[str, Any] | None = None,
    reads: ReadTree | None = None,
) -> list[IgnoredKey]:
    """Keys in ``user`` that neither the chart defaults, the schema nor the chart's templates know, with the
    nearest known key.

    A map that is empty in the defaults (``annotations: {}``, ``resources: {}``), free-form in the schema, or
    read as a whole by a template (``toYaml .Values.securityContext``) takes any child keys. ``reads`` is
    :func:`chart_reads.values_read_by_templates` of the chart (keys read only in helpers count as read).
    """
    schema = schema or load_schema()
    return list(_walk_unknown(user, defaults, schema, schema, reads, "", top=True))


def _walk_unknown(
    user: Any,
    default: Any,
    schema: dict[str, Any],
    node: dict[str, Any] | None,
    reads: ReadTree | None,
    path: str,
    top: bool = False,
) -> Iterator[IgnoredKey]:
    if isinstance(user, list):
        item_default = default[0] if isinstance(default, list) and default else None
        node = _schema_node(schema, node)
        item_schema = _schema_node(schema, node.get("items")) if node else None
        if item_default is None and item_schema is None:
            return
        for index, item in enumerate(user):
            yield from _walk_unknown(
                item, item_default, schema, item_schema, None, join_key_path(path, index)
            )
        return
    if not isinstance(user, dict):
        return
    schema_keys, schema_free = _schema_children(schema, node)
    default_is_map = isinstance(default, dict)
    read_whole = reads is not None and ((not reads and not top) or WHOLE in reads)
    if (default_is_map and not default) or schema_free or read_whole:
        return  # free-form map: any key is meaningful
    if not default_is_map and node is None and not reads:
        return  # nothing known about this level: not ours to judge
    known = set(default) if default_is_map else set()
    known |= schema_keys | read_children(reads)
    if top:
        known |= HELM_RESERVED_TOP_LEVEL
    # a key only the contract schema knows, below a map whose reads this chart spells out key by key: this
    # version never reads it (nats.enabled before 6.26.0, microservices.streamHub.enabled before 6.28.1)
    chart_known = (set(default) if default_is_map else set()) | read_children(reads)
    judge_by_chart = bool(reads) and not top
    for key, value in user.items():
        child_path = join_key_path(path, key)
        if judge_by_chart and key in known and key not in chart_known and not isinstance(value, (dict, list)):
            yield IgnoredKey(child_path, str(key), None, contract_only=True)
            continue
        if key in known:
            child_default = default.get(key) if default_is_map else None
            yield from _walk_unknown(
                value,
                child_default,
                schema,
                _child_schema(schema, node, key),
                read_child(reads, str(key)),
                child_path,
            )
            continue
        yield IgnoredKey(child_path, str(key), closest_key(str(key), known))


def closest_key(key: str, known: set[str]) -> str | None:
    lowered = {k.lower(): k for k in known}
    if key.lower() in lowered:
        return lowered[key.lower()]
    matches = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return matches[0] if matches else None


def export_chart_schema(schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """The schema in a form a chart can ship as its own ``values.schema.json``.

    Helm validates with an older draft and rejects unknown ``$schema`` dialects on some versions, so
    this inlines ``$ref``s and declares draft-07, which both helm 3 and helm 4 accept.
    """
    schema = json.loads(json.dumps(schema or load_schema()))

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node and node["$ref"].startswith("#/$defs/"):
                return inline(schema["$defs"][node["$ref"].split("/")[-1]])
            return {k: inline(v) for k, v in node.items() if k not in ("$defs", "$id")}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    exported = inline(schema)
    exported["$schema"] = "http://json-schema.org/draft-07/schema#"
    return exported
