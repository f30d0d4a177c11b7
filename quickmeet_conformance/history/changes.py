"""What each release introduced and removed, against the release before it, as text or a Markdown table.

A triage file (``--triage``) labels each finding true or false with the reason, so the same command
regenerates docs/chart-history.md: the counts per version and each change with its verdict.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import UserError
from .eras import in_range
from .run import FindingKey, History, ReleaseRun


@dataclass(frozen=True)
class Triage:
    """A finding's verdict on a correct release: true (the tool is right, with why) or false (a tool defect)."""

    rule: str
    cases: tuple[str, ...]  # fnmatch patterns of the case ("monolith", "upgrade *", "*")
    versions: str  # a range as --chart-version takes it ("" = every version)
    subject: str  # a substring of the subject ("" = any)
    true: bool
    reason: str

    def matches(self, key: FindingKey, version: str) -> bool:
        return (
            key.rule == self.rule
            and any(fnmatch.fnmatchcase(key.case, pattern) for pattern in self.cases)
            and (not self.versions or in_range(version, self.versions))
            and self.subject in key.subject
        )


def load_triage(path: Path) -> list[Triage]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except OSError as exc:
        raise UserError(f"cannot read the triage file: {exc.strerror}", where=str(path)) from None
    except yaml.YAMLError:
        raise UserError("the triage file is not valid YAML", where=str(path)) from None
    items = data.get("findings") if isinstance(data, dict) else data
    triage = []
    for number, item in enumerate(items or [], 1):
        if not isinstance(item, dict) or "rule" not in item or "verdict" not in item or "reason" not in item:
            raise UserError(f"entry {number} needs rule, verdict (true|false) and reason", where=str(path))
        cases = item.get("cases", "*")
        triage.append(
            Triage(
                str(item["rule"]),
                tuple(cases if isinstance(cases, list) else [cases]),
                str(item.get("versions") or ""),
                str(item.get("subject") or ""),
                item["verdict"] is True or str(item["verdict"]).lower() == "true",
                " ".join(str(item["reason"]).split()),
            )
        )
    return triage


def verdict_of(triage: list[Triage], key: FindingKey, version: str) -> Triage | None:
    return next((t for t in triage if t.matches(key, version)), None)


@dataclass
class ReleaseChanges:
    release: ReleaseRun
    previous: ReleaseRun | None
    introduced: list[tuple[FindingKey, str]]
    removed: list[tuple[FindingKey, str]]

    def counts(self, triage: list[Triage]) -> dict[str, int]:
        """Findings of this release: errors, warnings, and with a triage true / false / not triaged."""
        version = self.release.source.version
        counts = {"findings": 0, "errors": 0, "warnings": 0, "true": 0, "false": 0, "untriaged": 0}
        for key in self.release.findings:
            counts["findings"] += 1
            counts["errors" if key.severity == "error" else "warnings"] += 1
            verdict = verdict_of(triage, key, version)
            counts["untriaged" if verdict is None else ("true" if verdict.true else "false")] += 1
        return counts


def changes_between(history: History) -> list[ReleaseChanges]:
    changes = []
    previous: ReleaseRun | None = None
    for release in history.releases:
        before = previous.findings if previous is not None else {}
        changes.append(
            ReleaseChanges(
                release,
                previous,
                sorted((k, m) for k, m in release.findings.items() if k not in before),
                sorted((k, m) for k, m in before.items() if k not in release.findings),
            )
        )
        previous = release
    return changes


def _verdict_word(triage: list[Triage], key: FindingKey, version: str) -> str:
    verdict = verdict_of(triage, key, version)
    if verdict is None:
        return "untriaged" if triage else ""
    return "true" if verdict.true else "FALSE"


def _describe(key: FindingKey) -> str:
    return f"{key.case}: {key.rule} ({key.severity}){' ' + key.subject if key.subject else ''}"


def text_lines(changes: list[ReleaseChanges], triage: list[Triage] | None = None) -> list[str]:
    """Per release: its counts, then each finding it introduced (+) or removed (-)."""
    triage = triage or []
    lines: list[str] = []
    for change in changes:
        release = change.release
        counts = change.counts(triage)
        head = (
            f"{release.label} [{release.era}]: {counts['findings']} findings ({counts['errors']} errors, "
            f"{counts['warnings']} warnings)"
        )
        if triage:
            head += (
                f"; triaged {counts['true']} true, {counts['false']} false, {counts['untriaged']} untriaged"
            )
        since = f"since {change.previous.source.version}" if change.previous else "first release"
        lines.append(f"{head}; {since}: +{len(change.introduced)} -{len(change.removed)}")
        for sign, items, version in (
            ("+", change.introduced, release.source.version),
            ("-", change.removed, change.previous.source.version if change.previous else ""),
        ):
            for key, message in items:
                word = _verdict_word(triage, key, version)
                lines.append(f"  {sign} {_describe(key)}{f' [{word}]' if word else ''}")
                if sign == "+":
                    lines.append(f"      {message[:300]}")
        lines.extend(f"  ! could not check {error}" for error in release.input_errors)
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_lines(
    changes: list[ReleaseChanges], triage: list[Triage] | None = None, *, title: str = "Chart history"
) -> list[str]:
    """A summary table (one row per release), then one table per release of what it introduced or removed."""
    triage = triage or []
    lines = [f"# {title}", ""]
    lines += [
        "Generated by `scripts/chart-history.sh` (`conformance history ... --format markdown`): the static and "
        "upgrade lanes on each released chart with its defaults and the values its README documents "
        "(fixtures/history, one set per era), and on every consecutive upgrade; each finding triaged true or "
        "false in fixtures/history/triage.yaml. Do not edit by hand.",
        "",
        "Counts are findings (one failing check of one rule on one resource or values key, per case); a rule "
        "is what checks, a finding is what it reports.",
        "",
        "| release | era | findings | errors | warnings | true | false | untriaged | introduced | removed |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for change in changes:
        c = change.counts(triage)
        lines.append(
            f"| {change.release.label} | {change.release.era} | {c['findings']} | {c['errors']} | "
            f"{c['warnings']} | {c['true']} | {c['false']} | {c['untriaged']} | {len(change.introduced)} | "
            f"{len(change.removed)} |"
        )
    for change in changes:
        release = change.release
        since = (
            f"since {change.previous.source.version}" if change.previous else "first release: every finding"
        )
        lines += ["", f"## {release.label} ({since})", ""]
        if not change.introduced and not change.removed:
            lines.append("No change.")
        else:
            lines += [
                "| change | case | rule | severity | subject | verdict | why |",
                "|---|---|---|---|---|---|---|",
            ]
            for sign, items, version in (
                ("introduced", change.introduced, release.source.version),
                ("removed", change.removed, change.previous.source.version if change.previous else ""),
            ):
                for key, _message in items:
                    verdict = verdict_of(triage, key, version)
                    word = "" if verdict is None else ("true" if verdict.true else "**false**")
                    reason = verdict.reason if verdict is not None and sign == "introduced" else ""
                    lines.append(
                        f"| {sign} | {key.case} | `{key.rule}` | {key.severity} | {_cell(key.subject)} | {word} | "
                        f"{_cell(reason)} |"
                    )
        lines.extend(f"\nCould not check: {_cell(error)}" for error in release.input_errors)
    return lines
