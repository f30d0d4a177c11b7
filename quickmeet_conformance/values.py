"""Load a values file safely, keeping where each key sits so findings can point at a line.

Bounded against hostile input: file size, nesting depth, alias expansion (YAML "billion laughs"),
non-UTF-8 bytes, duplicate keys and non-mapping documents each give one clear UserError.

Layered values (``helm -f base.yaml -f prod.yaml``) are written ``base.yaml+prod.yaml``: the files are
merged in order exactly as helm merges its ``-f`` files (later wins, maps merge deeply, lists and scalars
replace, ``null`` stays to delete the chart default), and each key keeps the file, line and column of the
layer that set it.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from .errors import UserError
from .findings import Location

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
MAX_EXPANDED_NODES = 200_000

_PLAIN_COLLECTION_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})
_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")

try:  # libyaml is much faster; fall back to the pure-Python loader
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Loader = yaml.SafeLoader


def join_key_path(parent: str, key: Any) -> str:
    """``a.b`` for plain keys, ``a["x.y/z"]`` for keys with dots or slashes, ``a[0]`` for list items."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    key = str(key)
    if _SIMPLE_KEY.match(key):
        return f"{parent}.{key}" if parent else key
    quoted = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'{parent}["{quoted}"]'


def parent_key_path(key_path: str) -> str:
    """The key path one level up (``a.b["x.y"]`` -> ``a.b``, ``a[0]`` -> ``a``, ``a`` -> ``""``): a dot or
    bracket inside a quoted key does not count."""
    depth, quoted, cut = 0, False, 0
    for index, char in enumerate(key_path):
        if quoted:
            quoted = not (char == '"' and key_path[index - 1] != "\\")
        elif char == '"':
            quoted = True
        elif char == "[":
            depth += 1
            cut = index if depth == 1 else cut
        elif char == "]":
            depth -= 1
        elif char == "." and depth == 0:
            cut = index
    return key_path[:cut]


LAYER_SEPARATOR = "+"


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based
    file: str = ""  # the layer that set the key, for layered values ("" = the values file itself)


@dataclass
class ValuesFile:
    """A parsed values file: the data, its name as the user gave it, and each key path's position."""

    path: str
    data: dict[str, Any]
    positions: dict[str, Position] = field(default_factory=dict)

    layers: tuple[str, ...] = ()  # the files merged into this one, in order (empty: a single file)

    @property
    def name(self) -> str:
        return LAYER_SEPARATOR.join(Path(p).name for p in self.files)

    @property
    def files(self) -> tuple[str, ...]:
        """The files on disk this values set came from (one, or each layer in order)."""
        return self.layers or (self.path,)

    def file_of(self, position: Position | None) -> str:
        """The file a position is in: its layer, else the last file (where a missing key would be added)."""
        return position.file if position is not None and position.file else self.files[-1]

    def position(self, key_path: str) -> Position | None:
        """Position of ``key_path`` or of its nearest ancestor present in the file."""
        probe = key_path
        while probe:
            if probe in self.positions:
                return self.positions[probe]
            probe = parent_key_path(probe)
        return None

    def locate(self, key_path: str) -> Location:
        """Where ``key_path`` is in the file, or, when the file does not contain it, where to add it: under
        its nearest ancestor the file sets (that ancestor's line), else at the top level of the file (a
        layered set adds it to the last layer). Never the line of an unrelated key."""
        if key_path in self.positions:
            at = self.positions[key_path]
            return Location(self.file_of(at), key_path, at.line, at.column)
        parent = parent_key_path(key_path)
        while parent and parent not in self.positions:
            parent = parent_key_path(parent)
        pos = self.positions.get(parent) if parent else None
        return Location(
            self.file_of(pos), key_path, pos.line if pos else None, pos.column if pos else None, parent=parent
        )

    def get(self, key_path: str, default: Any = None) -> Any:
        return lookup(self.data, key_path, default)


def lookup(data: Any, dotted: str, default: Any = None) -> Any:
    """Get ``a.b.c`` from nested dicts (plain keys only); ``default`` when any step is missing."""
    node = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def _check_expansion(root: yaml.Node, where: str) -> None:
    """Reject documents whose aliases expand to more nodes than any real values file has."""
    memo: dict[int, int] = {}
    depth_seen: dict[int, int] = {}

    def size(node: yaml.Node, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise UserError(
                f"nesting deeper than {MAX_DEPTH} levels",
                where=where,
                fix="values files are shallow maps; check for a runaway structure",
            )
        key = id(node)
        if key in memo and depth_seen[key] <= depth:
            return memo[key]
        if isinstance(node, yaml.MappingNode):
            total = 1 + sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(v, depth + 1) for v in node.value)
        else:
            total = 1
        memo[key] = total
        depth_seen[key] = depth
        if total > MAX_EXPANDED_NODES:
            raise UserError(
                f"YAML aliases expand to more than {MAX_EXPANDED_NODES} nodes (an alias bomb?)",
                where=where,
                fix="remove the recursive anchors/aliases",
            )
        return total

    size(root, 0)


def _construct(
    node: yaml.Node, key_path: str, positions: dict[str, Position], where: str, scalars: yaml.SafeLoader
) -> Any:
    positions.setdefault(key_path, Position(node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_COLLECTION_TAGS:
        # e.g. !!python/object/apply, !!set: never constructed, and never silently read as plain data
        raise UserError(
            f"unsupported YAML tag {node.tag!r}",
            where=f"{where}:{node.start_mark.line + 1}",
            fix="values are plain maps, lists and scalars; remove the tag",
        )
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merged = _construct(value_node, key_path, {}, where, scalars)
                for item in merged if isinstance(merged, list) else [merged]:
                    if isinstance(item, dict):
                        for k, v in item.items():
                            result.setdefault(k, v)
                continue
            key = _construct(key_node, key_path, {}, where, scalars)
            if isinstance(key, (dict, list)):
                raise UserError(
                    "a mapping key is itself a map or list",
                    where=f"{where}:{key_node.start_mark.line + 1}",
                    fix="use plain scalar keys",
                )
            child = join_key_path(key_path, key)
            if key in result:
                raise UserError(
                    f"duplicate key {child!r} (the second silently replaces the first)",
                    where=f"{where}:{key_node.start_mark.line + 1}",
                    fix="keep one of them",
                )
            positions[child] = Position(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = _construct(value_node, child, positions, where, scalars)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(item, join_key_path(key_path, index), positions, where, scalars)
            for index, item in enumerate(node.value)
        ]
    try:
        return scalars.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as exc:
        line = node.start_mark.line + 1
        raise UserError(f"unsupported YAML value ({exc.problem})", where=f"{where}:{line}") from None


def parse_values(text: str | bytes, where: str) -> ValuesFile:
    """Parse values YAML text (``where`` names it in errors). Empty documents give ``{}``."""
    if isinstance(text, bytes):
        if len(text) > MAX_FILE_BYTES:
            raise UserError(
                f"file is {len(text)} bytes, more than the {MAX_FILE_BYTES} a values file may have",
                where=where,
            )
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UserError(
                f"not UTF-8 text (invalid byte at offset {exc.start})",
                where=where,
                fix="save the file as UTF-8",
            ) from None
    if len(text) > MAX_FILE_BYTES:
        raise UserError(f"more than {MAX_FILE_BYTES} characters", where=where)
    try:
        documents = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = f"{where}:{mark.line + 1}:{mark.column + 1}" if mark else where
        raise UserError(f"invalid YAML: {exc.problem or exc.context}", where=loc) from None
    except yaml.reader.ReaderError as exc:  # a control character; its str() spans two lines
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        raise UserError(
            f"invalid YAML: {exc.reason} (character #x{exc.character:04x})",
            where=f"{where}:{line}",
            fix="remove the control characters",
        ) from None
    except yaml.YAMLError as exc:
        raise UserError(f"invalid YAML: {' '.join(str(exc).split())}", where=where) from None
    except RecursionError:
        raise UserError(f"nesting deeper than {MAX_DEPTH} levels", where=where) from None
    documents = [d for d in documents if d is not None]
    if not documents:
        return ValuesFile(path=where, data={})
    if len(documents) > 1:
        raise UserError(
            f"{len(documents)} YAML documents in one values file",
            where=where,
            fix="helm reads one document; remove the '---' separators",
        )
    root = documents[0]
    _check_expansion(root, where)
    positions: dict[str, Position] = {}
    data = _construct(root, "", positions, where, yaml.SafeLoader(""))
    positions.pop("", None)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(
            f"the top level is a {type(data).__name__}, not a map of keys",
            where=where,
            fix="a values file is a YAML mapping such as 'replicaCount: 2'",
        )
    for key in data:
        if not isinstance(key, str):
            raise UserError(f"top-level key {key!r} is not a string", where=where)
    return ValuesFile(path=where, data=data, positions=positions)


def layers_of(spec: str | Path) -> tuple[str, ...]:
    """``base.yaml+prod.yaml`` -> its files in order; a name that exists as a file is one layer."""
    text = str(spec)
    if LAYER_SEPARATOR not in text or Path(text).exists():
        return (text,)
    parts = tuple(p for p in text.split(LAYER_SEPARATOR))
    if any(not p for p in parts):
        raise UserError(
            "empty layer in layered values",
            where=text,
            fix=f"join files with a single '{LAYER_SEPARATOR}', e.g. base.yaml+prod.yaml",
        )
    return parts


def expand_values_args(specs: list[str]) -> list[str]:
    """Values arguments as cases: a directory stands for each ``*.yaml``/``*.yml`` file in it, sorted."""
    cases: list[str] = []
    for spec in specs:
        path = Path(spec)
        if not path.is_dir():
            cases.append(spec)
            continue
        files = sorted(str(f) for f in path.iterdir() if f.suffix in (".yaml", ".yml") and f.is_file())
        if not files:
            raise UserError("no *.yaml values file in this directory", where=spec)
        cases += files
    return cases


def values_stem(spec: str | Path) -> str:
    """The short name of a values file or layered set in test ids: ``seed-docs``, ``base+prod``."""
    return LAYER_SEPARATOR.join(Path(p).stem for p in layers_of(spec))


def load_values(path: str | Path) -> ValuesFile:
    """Read and parse a values file, or merge layered ones (``base.yaml+prod.yaml``) as ``helm -f -f`` does;
    missing or unreadable files are a UserError naming the path."""
    layers = layers_of(path)
    if len(layers) > 1:
        return merge_layers([_load_one(layer) for layer in layers], str(path))
    return _load_one(path)


def _load_one(path: str | Path) -> ValuesFile:
    p = Path(path)
    if not p.exists():
        raise UserError("values file not found", where=str(path), fix="check the path")
    if p.is_dir():
        raise UserError("is a directory, not a values file", where=str(path))
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UserError(
                f"file is {size} bytes, more than the {MAX_FILE_BYTES} a values file may have",
                where=str(path),
            )
        with p.open("rb") as handle:  # bounded: a device or pipe (/dev/zero) reports no size
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise UserError(f"cannot read: {exc.strerror}", where=str(path)) from None
    if len(raw) > MAX_FILE_BYTES:
        raise UserError(f"more than the {MAX_FILE_BYTES} bytes a values file may have", where=str(path))
    return parse_values(raw, str(path))


def merge_layers(layers: list[ValuesFile], spec: str) -> ValuesFile:
    """Merge values files in order as helm merges repeated ``-f`` files (``mergeMaps``): a map over a map
    merges key by key, anything else (a list, a scalar, ``null``) replaces what earlier layers set, nulls
    included (helm deletes the chart's default for them later). Each key path keeps the position, with
    its file, of the layer that set it; positions below a replaced key are those of the new layer only."""
    data: dict[str, Any] = {}
    positions: dict[str, Position] = {}
    for layer in layers:
        _merge_layer(data, positions, layer.data, layer, "")
    return ValuesFile(path=spec, data=data, positions=positions, layers=tuple(layer.path for layer in layers))


def _merge_layer(
    dst: dict[str, Any], positions: dict[str, Position], src: dict[str, Any], layer: ValuesFile, prefix: str
) -> None:
    for key, value in src.items():
        path = join_key_path(prefix, key)
        own = layer.positions.get(path)
        if own is not None:
            positions[path] = replace(own, file=layer.path)
        if isinstance(value, dict) and isinstance(dst.get(key), dict):
            _merge_layer(dst[key], positions, value, layer, path)
            continue
        below = (path + ".", path + "[")
        for stale in [p for p in positions if p.startswith(below)]:
            del positions[stale]
        positions.update(
            {p: replace(pos, file=layer.path) for p, pos in layer.positions.items() if p.startswith(below)}
        )
        dst[key] = copy.deepcopy(value)


def deep_merge(base: Any, override: Any) -> Any:
    """Helm's coalescing: maps merge recursively, anything else replaces; ``null`` deletes a key. The result
    shares nothing with either input; each node is copied once (a map both sides have is merged, not copied
    first: the chart's defaults are large and every case merges them)."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return copy.deepcopy(override)
    merged = {key: value for key, value in base.items()}
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _Merged(deep_merge(merged[key], value))
        else:
            merged[key] = _Merged(copy.deepcopy(value))
    return {
        key: value.value if isinstance(value, _Merged) else copy.deepcopy(value)
        for key, value in merged.items()
    }


class _Merged:
    """A value :func:`deep_merge` has already copied (its base's values are copied at the end, once)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value
