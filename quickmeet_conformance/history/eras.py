"""The values sets of a chart's eras: ``eras.yaml`` maps version ranges to folders of values files.

A maintainer writes one folder per era (versions whose README gives the same instructions) and lists it
with its first and last version; each version is checked with the files of the era that holds it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import UserError

Version = tuple[int, int, int]


def parse_version(text: str) -> Version:
    """``6.27.1`` -> (6, 27, 1); a pre-release suffix is ignored (charts here are released versions)."""
    match = re.match(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", str(text).strip())
    if not match:
        raise UserError(f"{text!r} is not a chart version", fix="use MAJOR.MINOR.PATCH, e.g. 6.27.1")
    return int(match.group(1)), int(match.group(2) or 0), int(match.group(3) or 0)


@dataclass(frozen=True)
class Era:
    """A range of chart versions [first, last] and the values files written for it (one case each)."""

    name: str
    first: Version
    last: Version
    files: tuple[Path, ...]
    readme: str = ""

    def holds(self, version: str) -> bool:
        return self.first <= parse_version(version) <= self.last


def load_eras(values_dir: Path) -> list[Era]:
    """The eras of ``values_dir/eras.yaml``; a mistake is one line naming the file."""
    index = values_dir / "eras.yaml"
    where = str(index)
    try:
        data = yaml.safe_load(index.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise UserError(
            f"cannot read the eras index: {exc.strerror}",
            where=where,
            fix="--values-dir names a folder holding eras.yaml and one folder of values files per era",
        ) from None
    except yaml.YAMLError as exc:
        raise UserError(f"eras.yaml is not valid YAML ({exc.__class__.__name__})", where=where) from None
    eras = []
    for item in data.get("eras") or [] if isinstance(data, dict) else []:
        if not isinstance(item, dict) or not {"dir", "first", "last"} <= set(item):
            raise UserError("each era needs dir, first and last", where=where)
        folder = values_dir / str(item["dir"])
        files = tuple(sorted(folder.glob("*.yaml")))
        if not files:
            raise UserError(f"era {item['dir']} has no values files", where=str(folder))
        eras.append(
            Era(
                str(item["dir"]),
                parse_version(str(item["first"])),
                parse_version(str(item["last"])),
                files,
                str(item.get("readme") or "").strip(),
            )
        )
    if not eras:
        raise UserError(
            "eras.yaml lists no era", where=where, fix="eras: [{dir: era-1, first: 1.0.0, last: 2.0.0}]"
        )
    return eras


def values_for_version(eras: list[Era], version: str) -> Era | None:
    """The era holding ``version`` (None: the version is checked with its defaults only)."""
    return next((era for era in eras if era.holds(version)), None)


_BOUND = re.compile(r"^(>=|<=|>|<|=)?\s*v?(\d+(?:\.\d+){0,2})$")


def in_range(version: str, spec: str) -> bool:
    """``spec``: ``A..B`` (inclusive), or space/comma-separated bounds ``>=A <B`` as helm writes them."""
    if ".." in spec:
        low, high = (part.strip() for part in spec.split("..", 1))
        spec = " ".join(filter(None, (f">={low}" if low else "", f"<={high}" if high else "")))
    current = parse_version(version)
    for bound in re.split(r"[\s,]+", spec.strip()):
        if not bound:
            continue
        match = _BOUND.match(bound)
        if not match:
            raise UserError(
                f"--chart-version {spec!r}: cannot read {bound!r}",
                fix="e.g. '6.25.0..6.31.0' or '>=6.25.0 <7'",
            )
        op, other = match.group(1) or "=", parse_version(match.group(2))
        ok = {
            ">=": current >= other,
            "<=": current <= other,
            ">": current > other,
            "<": current < other,
            "=": current == other,
        }[op]
        if not ok:
            return False
    return True
