"""``docs/rules.md``: every rule of the registry with an anchor per rule id, what SARIF's helpUri points at.

Generated, never edited by hand: ``python -m quickmeet_conformance.reports.rules_doc docs/rules.md``
(``tests/reports/test_rules_doc.py`` fails when the file is out of date or a rule has no anchor). The package
ships the same file as ``quickmeet_conformance/docs/rules.md`` (setup.py), so the URI resolves both in a
checkout and in an installed package (``resources.bundled``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..resources import bundled
from ..rules.engine import RULES, Rule, rules_for_lane

LANES = (
    ("static", "Static rules (render time)"),
    ("upgrade", "Upgrade rules (render time)"),
    ("live", "Live rules (a cluster)"),
    ("probes", "Probe rules (the bus and the WebSocket of a running release)"),
)


def all_rules() -> list[Rule]:
    for lane, _ in LANES:
        rules_for_lane(lane)  # loads every rule module
    return list(RULES.values())


def rule_anchor(rule_id: str) -> str:
    """The HTML id of a rule's entry: the rule id itself (ids are lowercase, dots and dashes only)."""
    return rule_id


def rules_doc_uri(rule_id: str) -> str:
    """``file:///.../quickmeet_conformance/docs/rules.md#<rule id>`` (the link resolves to docs/rules.md)."""
    return f"{(bundled('docs') / 'rules.md').resolve().as_uri()}#{rule_anchor(rule_id)}"


def _md(text: str) -> str:
    """Prose from the registry as Markdown text: ``<svc>`` is not a tag, ``|`` does not split a table cell."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def rules_markdown() -> str:
    rules = all_rules()
    out = [
        "# Conformance rules",
        "",
        "Generated from the rule registry by `python -m quickmeet_conformance.reports.rules_doc docs/rules.md`;",
        "do not edit by hand. `conformance explain RULE` prints the same in a terminal. SARIF results link",
        "here (`helpUri`).",
        "",
    ]
    for lane, title in LANES:
        members = sorted((r for r in rules if r.lane == lane), key=lambda r: r.id)  # not import order
        if not members:
            continue
        out += [f"## {title}", "", "| rule | severity | checks |", "|---|---|---|"]
        out += [
            f"| [`{r.id}`](#{rule_anchor(r.id)}) | {r.severity.value} | {_md(r.title)} |" for r in members
        ]
        out.append("")
        for r in members:
            out += [
                f'<a id="{rule_anchor(r.id)}"></a>',
                "",
                f"### `{r.id}`",
                "",
                f"**Checks:** {_md(r.title)}",
                "",
                f"**Severity:** {r.severity.value} · **lane:** {r.lane} · **basis:** {_md(r.basis)}",
                "",
                f"**Docs:** <{r.doc}>",
                "",
                f"**Contract:** {_md(r.contract)}",
                "",
                f"**Fix:** {_md(r.fix)}",
                "",
            ]
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m quickmeet_conformance.reports.rules_doc docs/rules.md", file=sys.stderr)
        return 2
    Path(argv[0]).write_text(rules_markdown(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
