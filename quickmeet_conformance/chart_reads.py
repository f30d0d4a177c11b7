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

import functools
import re
from dataclasses import dataclass
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


@functools.lru_cache(maxsize=256)
def template_reads(chart_dir: Path, template: str) -> tuple[str, ...]:
    """The values paths one template file reads itself (``templates/x.yaml`` below ``chart_dir``), helpers
    aside: whether a key reaches the objects of that template directly."""
    try:
        text = (chart_dir / template).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ()
    return tuple(".".join(p) for p in _paths_in(text) if p and WHOLE not in p)


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


@functools.lru_cache(maxsize=64)
def own_global_reads(chart_dir: Path) -> frozenset[str]:
    """The ``global.*`` keys the chart's own templates read (its subcharts' reads of globals left out): whether the
    chart itself, not only a subchart, was written to apply a release-wide setting."""
    tree = values_read_by_templates(chart_dir, subcharts=False).get("global") or {}
    return frozenset(k for k in tree if k not in ("*", WHOLE))


def values_read_by_templates(
    chart_dir: Path, meta: dict | None = None, *, subcharts: bool = True
) -> ReadTree:
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
    if subcharts and charts.is_dir():
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


_RELEASE_SWITCH = re.compile(r"\.Release\.Is(?:Install|Upgrade)\b")
_COMMENT = re.compile(r"\{\{-?\s*/\*.*?\*/\s*-?\}\}", re.DOTALL)
_BLOCK_LINES = 12  # what a switch line guards, for naming the switch behind a lost env var or key


@dataclass(frozen=True)
class ReleaseSwitch:
    """One template line that tests ``.Release.IsInstall``/``.Release.IsUpgrade`` (outside comments)."""

    file: str  # chart-relative: templates/x.yaml, charts/<sub>/templates/x.yaml
    line: int
    text: str
    block: str = ""  # the lines after it (what it probably guards)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def helper(self) -> bool:
        """In a ``_*.tpl`` library file: it acts only where another template includes it."""
        return self.file.rsplit("/", 1)[-1].startswith("_")

    @property
    def subchart(self) -> str:
        """The vendored subchart's directory holding the line ('' for the chart's own templates)."""
        parts = self.file.split("/")
        return parts[1] if parts[0] == "charts" and len(parts) > 2 else ""

    def values_paths(self) -> list[str]:
        """The ``.Values`` paths the line tests (``registrationToken`` in ``if and .Values.registrationToken
        .Release.IsInstall``), relative to the chart that holds the line."""
        return [".".join(_split(m.group(1))) for m in _DIRECT.finditer(self.text)]


def release_switches(chart_dir: Path, prefix: str = "") -> tuple[ReleaseSwitch, ...]:
    """The lines of ``chart_dir``'s templates (and its vendored subcharts') that emit something only on install or
    only on upgrade. Read once per chart, so a check knows without rendering whether an upgrade render can
    differ from the install render at all."""
    found: list[ReleaseSwitch] = []
    templates = chart_dir / "templates"
    if templates.is_dir():
        for path in sorted(templates.rglob("*")):
            if not (path.is_file() and path.suffix in (".yaml", ".yml", ".tpl", ".txt", ".json")):
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            if not _RELEASE_SWITCH.search(text):
                continue
            lines = _COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text).splitlines()
            rel = f"{prefix}{path.relative_to(chart_dir).as_posix()}"
            for number, line in enumerate(lines, 1):
                if _RELEASE_SWITCH.search(line):
                    block = "\n".join(lines[number : number + _BLOCK_LINES])
                    found.append(ReleaseSwitch(rel, number, line.strip(), block))
    charts = chart_dir / "charts"
    if charts.is_dir():
        for sub in sorted(p for p in charts.iterdir() if (p / "Chart.yaml").is_file()):
            found += release_switches(sub, f"{prefix}charts/{sub.name}/")
    return tuple(found)


# what can make `helm template --is-upgrade` differ from the install render: helm sets only .Release.IsUpgrade and
# .Release.IsInstall differently; `lookup` is counted too (empty in both under `helm template`, but a template
# that calls it is written for a live release). Any other use of .Release than its name, namespace and service
# (the whole object, an alias of it) counts as a read of the switches.
RELEASE_STATE = re.compile(r"\.Release\b(?!\.(?:Name|Namespace|Service)\b)|\blookup\b")


def reads_release_state(chart_dir: Path) -> bool:
    """Whether an upgrade render of ``chart_dir`` can differ from its install render: a template or helper of the
    chart or of a vendored subchart, or a values file a template may pass to ``tpl``, names what
    :data:`RELEASE_STATE` matches. A packaged subchart (``charts/*.tgz``, unread) counts as reading it."""
    for pattern in ("templates/**/*", "values*.yaml", "values*.yml"):
        for path in chart_dir.glob(pattern):
            if path.is_file() and RELEASE_STATE.search(path.read_text(encoding="utf-8", errors="replace")):
                return True
    charts = chart_dir / "charts"
    if charts.is_dir():
        for sub in charts.iterdir():
            if sub.is_file() and sub.name.endswith((".tgz", ".tar.gz")):
                return True
            if sub.is_dir() and reads_release_state(sub):
                return True
    return False
