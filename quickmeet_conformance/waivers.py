"""Waivers: a user's written acceptance of a finding they cannot fix now (a chart defect), until a date.

A waiver file is a small YAML list (or a mapping with a ``waivers:`` list), one entry per accepted finding::

    - rule: streamhub.rollout-never-two
      target: Deployment/rocketchat-stream-hub     # a resource "Kind/name" or a values key path; * globs
      reason: chart 6.27.1 hard-codes maxSurge 1; we patch it with a post-renderer (OPS-123)
      expires: 2026-06-30

Loading checks every entry and stops at the first bad one with one line naming the file and the entry.
``apply`` is the one place findings meet waivers: the rule engine calls it on every rule's findings
(``engine.evaluate_rule``), so every lane and both routes (``conformance check``, pytest) agree;
``findings.blocks_run``/``status_of`` then read the waiver each finding carries. ``unmatched`` lists the
waivers no finding of the run used, which the reports show.
"""

from __future__ import annotations

import datetime
import fnmatch
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from .errors import UserError
from .findings import Finding, Verdict, Waiver

FIELDS = ("rule", "target", "reason", "expires")
MAX_BYTES = 1_000_000
EXAMPLE = "- {rule: RULE-ID, target: Kind/name or a.values.key, reason: why, expires: 2026-12-31}"


def _entry_nodes(path: str, text: str) -> list[yaml.Node]:
    """The YAML nodes of the entries (for their line numbers), after the file parsed as YAML."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else path
        raise UserError("the waiver file is not valid YAML", where=where, fix=EXAMPLE) from None
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "waivers":
                root = value
                break
        else:
            raise UserError("the waiver file has no 'waivers:' list", where=path, fix=EXAMPLE)
    if root is None:
        return []
    if not isinstance(root, yaml.SequenceNode):
        raise UserError("the waiver file must be a list of waivers", where=path, fix=EXAMPLE)
    return list(root.value)


def _date(value: Any, where: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        raise UserError(
            f"expires {value!r} is not a date", where=where, fix="write it as YYYY-MM-DD, e.g. 2026-12-31"
        ) from None


def _entry(path: str, index: int, node: yaml.Node, today: datetime.date) -> Waiver:
    source = f"{path} entry {index} (line {node.start_mark.line + 1})"
    try:
        raw = _construct(node)
    except (yaml.YAMLError, ValueError) as exc:
        raise UserError(f"cannot read the entry ({exc})", where=source, fix=EXAMPLE) from None
    if not isinstance(raw, dict):
        raise UserError("a waiver must be a mapping of " + ", ".join(FIELDS), where=source, fix=EXAMPLE)
    missing = [f for f in FIELDS if raw.get(f) in (None, "")]
    if missing:
        raise UserError(f"missing {', '.join(missing)}", where=source, fix=EXAMPLE)
    unknown = sorted(str(k) for k in raw if k not in FIELDS)
    if unknown:
        raise UserError(
            f"unknown field {', '.join(unknown)}", where=source, fix=f"the fields are {', '.join(FIELDS)}"
        )
    expires = _date(raw["expires"], source)
    return Waiver(
        rule=str(raw["rule"]).strip(),
        target=str(raw["target"]).strip(),
        reason=" ".join(str(raw["reason"]).split()),
        expires=expires,
        source=source,
        expired=expires < today,
    )


class _Loader(yaml.SafeLoader):
    """Safe loading with dates left as text: ``_date`` parses them, so 2026-13-01 is one clear line."""


def _text(loader: _Loader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]  # a timestamp is a scalar node


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _text)


def _construct(node: yaml.Node) -> Any:
    """The Python value of one entry's node (safe constructors only)."""
    loader = _Loader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def load_waivers(path: str | Path, today: datetime.date | None = None) -> tuple[Waiver, ...]:
    """Every waiver of the file at ``path``, each marked expired or not against ``today`` (default: today).
    A missing, unreadable or malformed file is a :class:`UserError` naming the file and the entry."""
    shown = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read the waiver file: {exc.strerror}", where=shown) from None
    if len(raw) > MAX_BYTES:
        raise UserError(f"the waiver file is larger than {MAX_BYTES} bytes", where=shown)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError("the waiver file is not UTF-8 text", where=shown) from None
    day = today or datetime.date.today()
    return tuple(_entry(shown, i, node, day) for i, node in enumerate(_entry_nodes(shown, text), start=1))


def _targets(finding: Finding) -> list[str]:
    """What a waiver's target may name: the resource, the resource with its field, the values key."""
    names = []
    if finding.resource:
        names.append(finding.resource)
        if finding.field_path:
            names.append(f"{finding.resource}.{finding.field_path}")
    if finding.location is not None and finding.location.key_path:
        names.append(finding.location.key_path)
    return names


def matches(waiver: Waiver, finding: Finding) -> bool:
    """The waiver names the finding's rule and one of its targets (``*`` and ``?`` glob; ``*`` alone: any)."""
    if not fnmatch.fnmatchcase(finding.rule_id, waiver.rule):
        return False
    if waiver.target == "*":
        return True
    return any(fnmatch.fnmatchcase(name, waiver.target) for name in _targets(finding))


def apply(findings: Iterable[Finding], waivers: Iterable[Waiver]) -> list[Finding]:
    """Each failed finding (verdict FAIL; a check that could not run is never waived) with the first waiver
    that matches it attached, the rest as they are."""
    entries = tuple(waivers)
    out = []
    for finding in findings:
        if entries and finding.verdict == Verdict.FAIL and finding.waiver is None:
            hit = next((w for w in entries if matches(w, finding)), None)
            if hit is not None:
                finding = replace(finding, waiver=hit)
        out.append(finding)
    return out


def unmatched(waivers: Iterable[Waiver], findings: Iterable[Finding]) -> list[Waiver]:
    """The waivers no finding of the run carries (a typo in the rule or target, or a defect fixed since)."""
    used = {f.waiver.source for f in findings if f.waiver is not None}
    return [w for w in waivers if w.source not in used]


def counts(findings: Iterable[Finding]) -> dict[str, int]:
    """Failed findings accepted by a waiver in force, and those whose waiver expired."""
    found = [f for f in findings if f.waiver is not None]
    return {
        "accepted": sum(1 for f in found if f.accepted),
        "expired": sum(1 for f in found if f.waiver is not None and f.waiver.expired),
    }
