"""The values keys a chart's templates read, including those read only in helpers.

A key the chart's ``values.yaml`` never mentions can still be read by a template (``nats.fullnameOverride``
in the NATS subchart's name helper, ``host``, ``license``): such a key is not ignored. Reads are found in
the template text of the chart and of every vendored subchart (under its name or alias):
``.Values.a.b``, ``$.Values.a.b``, ``hasKey .Values.a "b"``, ``get .Values.a "b"`` and
``get (get .Values.a $name) "b"`` (``a.*.b``: the ``b`` of any child of ``a``). Helm itself reads each
dependency's ``condition`` in ``Chart.yaml`` (``nats.enabled, microservices.enabled``): those count too, so a
switch is read exactly by the versions whose ``Chart.yaml`` names it.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

_VALUES_PATH = r"\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
_DIRECT = re.compile(r"\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
_KEYED = re.compile(
    r"\b(?:hasKey|get|index)\s+\(?\s*" + _VALUES_PATH + r"\s*\)?\s+\"([A-Za-z_][A-Za-z0-9_]*)\""
)
_ALIAS = re.compile(r"\$([A-Za-z_]\w*)\s*:=\s*" + _VALUES_PATH + r"\s*(?:-?\}\})")
_WHOLE = re.compile(
    r"\b(?:with|range|toYaml|toJson|merge\s*\(dict\))\s+(?:\$[A-Za-z_]\w*\s*:=\s*|\$[A-Za-z_]\w*\s*,\s*"
    r"\$[A-Za-z_]\w*\s*:=\s*)?" + _VALUES_PATH
)
WHOLE = "="  # marker: the map is read as a whole (toYaml, with, range): any child key is meaningful
_NESTED = re.compile(
    r"\bget\s+\(\s*get\s+" + _VALUES_PATH + r"\s+\$[A-Za-z_]\w*\s*\)\s+\"([A-Za-z_][A-Za-z0-9_]*)\""
)

ReadTree = dict[str, "ReadTree"]  # key -> what is read below it; "*": any child; WHOLE: read as a whole


def _add(tree: ReadTree, parts: list[str]) -> None:
    node = tree
    for part in parts:
        node = node.setdefault(part, {})


def _split(path: str) -> list[str]:
    return [p for p in path.strip(".").split(".") if p]


def _paths_in(text: str) -> list[list[str]]:
    found = [_split(m.group(1)) for m in _DIRECT.finditer(text)]
    found += [_split(m.group(1)) + [WHOLE] for m in _WHOLE.finditer(text) if _split(m.group(1))]
    for alias in _ALIAS.finditer(text):  # {{- $service := .Values.service -}} ... $service.nodePort
        prefix = _split(alias.group(2))
        uses = re.finditer(r"\$" + alias.group(1) + r"((?:\.[A-Za-z_]\w*)+)", text)
        found += [prefix + _split(m.group(1)) for m in uses]
    found += [_split(m.group(1)) + [m.group(2)] for m in _KEYED.finditer(text)]
    found += [_split(m.group(1)) + ["*", m.group(2)] for m in _NESTED.finditer(text)]
    return found


_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: a chart has many


def _chart_meta(chart_dir: Path) -> dict:
    """``chart_dir``'s Chart.yaml (``{}`` when unreadable), read once per chart walked."""
    try:
        meta = yaml.load((chart_dir / "Chart.yaml").read_text(encoding="utf-8"), Loader=_LOADER) or {}
    except (OSError, yaml.YAMLError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _subchart_keys(meta: dict) -> dict[str, str]:
    deps = meta.get("dependencies")
    return {
        d["name"]: d.get("alias") or d["name"] for d in deps or [] if isinstance(d, dict) and d.get("name")
    }


def _conditions(meta: dict) -> list[list[str]]:
    """The values paths helm reads as the dependencies' conditions (comma-separated, first one set wins)."""
    paths = []
    for dep in meta.get("dependencies") or []:
        condition = dep.get("condition") if isinstance(dep, dict) else None
        if isinstance(condition, str):
            paths += [_split(part) for part in condition.split(",") if part.strip()]
    return paths


def values_read_by_templates(chart_dir: Path, meta: dict | None = None) -> ReadTree:
    """The tree of values paths the templates of ``chart_dir`` and its vendored subcharts read, and the
    dependency conditions of its ``Chart.yaml`` (``meta``: that file, when the caller has read it)."""
    meta = _chart_meta(chart_dir) if meta is None else meta
    tree: ReadTree = {}
    for parts in _conditions(meta):
        _add(tree, parts)
    templates = chart_dir / "templates"
    if templates.is_dir():
        for path in sorted(templates.rglob("*")):
            if path.is_file() and path.suffix in (".yaml", ".yml", ".tpl", ".txt", ".json"):
                for parts in _paths_in(path.read_text(encoding="utf-8", errors="replace")):
                    _add(tree, parts)
    aliases = _subchart_keys(meta)
    charts = chart_dir / "charts"
    if charts.is_dir():
        for sub in sorted(p for p in charts.iterdir() if (p / "Chart.yaml").is_file()):
            sub_meta = _chart_meta(sub)
            name = str(sub_meta.get("name") or sub.name)
            sub_tree = values_read_by_templates(sub, sub_meta)
            global_reads = sub_tree.pop("global", None)
            _merge(tree.setdefault(aliases.get(name, name), {}), sub_tree)
            if global_reads is not None:
                _merge(tree.setdefault("global", {}), global_reads)
    return tree


def _merge(into: ReadTree, other: ReadTree) -> None:
    for key, below in other.items():
        _merge(into.setdefault(key, {}), below)


def read_children(tree: ReadTree | None) -> set[str]:
    """Child keys read below ``tree`` (a ``*`` read names no key of its own)."""
    if not tree:
        return set()
    return {k for k in tree if k not in ("*", WHOLE)}


def read_child(tree: ReadTree | None, key: str) -> ReadTree | None:
    """What is read below child ``key`` (merging ``*`` reads), or None when nothing is."""
    if not tree:
        return None
    direct, wild = tree.get(key), tree.get("*")
    if direct is None and wild is None:
        return None
    merged: ReadTree = {}
    _merge(merged, direct or {})
    _merge(merged, wild or {})
    return merged


def template_literal(chart_dir: Path, source: str, pattern: str, following: int = 0) -> tuple[str, bool]:
    """Where ``source`` (a manifest's ``# Source:``, ``<chart>/templates/x.yaml``) writes what ``pattern`` (a
    regular expression) matches, as ``templates/x.yaml:LINE``, and whether that line and the ``following``
    ones are literal text (no ``{{ }}``: no values key can change them). Without ``:LINE``, and not literal,
    when no line matches or the file cannot be read. What a chart-defect finding points the maintainers at."""
    inside = source.split("/", 1)[1] if "/" in source else source
    try:
        lines = (chart_dir / inside).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return inside, False
    found = re.compile(pattern)
    for index, line in enumerate(lines):
        if found.search(line):
            literal = not any("{{" in text for text in lines[index : index + 1 + following])
            return f"{inside}:{index + 1}", literal
    return inside, False


def reads_path(tree: ReadTree | None, key_path: str) -> bool:
    """Whether the chart reads ``key_path`` (dotted): a template, helper or dependency condition reads it, or
    reads a map above it as a whole. An empty or missing tree (a chart whose reads are unknown) reads all."""
    if not tree:
        return True
    node: ReadTree | None = tree
    for part in _split(key_path):
        if node is None:
            return False
        if WHOLE in node:
            return True
        node = read_child(node, part)
    return node is not None
