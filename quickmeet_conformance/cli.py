"""The ``conformance`` command: explain rules and export the values schema (the checks run under pytest).

    conformance explain                 list every rule: id, severity, title
    conformance explain RULE            what RULE checks, why (contract, basis), how to fix it
    conformance schema --export [-o F]  the values JSON Schema a chart can ship as values.schema.json

Mistakes (an unknown rule, an unwritable file) are one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Sequence, TextIO

from .errors import UserError
from .rules import load_all
from .rules.engine import RULES, Rule

EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a tool killed by the pipe


def all_rules() -> dict[str, Rule]:
    load_all()
    return dict(sorted(RULES.items()))


def closest_rule(name: str, rules: dict[str, Rule]) -> str | None:
    """The rule id nearest to ``name``: a unique id containing it, else the most similar id."""
    containing = [rule_id for rule_id in rules if name.lower() in rule_id.lower()]
    if len(containing) == 1:
        return containing[0]
    matches = difflib.get_close_matches(name.lower(), list(rules), n=1, cutoff=0.3)
    return matches[0] if matches else (containing[0] if containing else None)


def explain_rule(rule_obj: Rule, width: int = 100) -> str:
    def para(label: str, text: str) -> str:
        return textwrap.fill(text, width=width, initial_indent=f"{label:<10}", subsequent_indent=" " * 10)

    return "\n".join([
        f"{rule_obj.id}  ({rule_obj.severity.value}, {rule_obj.lane} lane)",
        para("checks:", rule_obj.title),
        para("why:", f"{rule_obj.contract} (basis: {rule_obj.basis})"),
        para("fix:", rule_obj.fix),
    ])


def list_rules(rules: dict[str, Rule]) -> str:
    width = max((len(r) for r in rules), default=0)
    lines = [f"{rule_id:<{width}}  {r.severity.value:<7}  {r.title}" for rule_id, r in rules.items()]
    lines.append(f"\n{len(rules)} rules; 'conformance explain RULE' for one rule's contract and fix")
    return "\n".join(lines)


def cmd_explain(args: argparse.Namespace, out: TextIO) -> int:
    rules = all_rules()
    if not args.rule:
        print(list_rules(rules), file=out)
        return 0
    rule_obj = rules.get(args.rule)
    if rule_obj is None:
        guess = closest_rule(args.rule, rules)
        hint = f"did you mean {guess}?" if guess else "'conformance explain' lists them"
        raise UserError(f"unknown rule {args.rule!r}", fix=hint)
    print(explain_rule(rule_obj), file=out)
    return 0


def cmd_schema(args: argparse.Namespace, out: TextIO) -> int:
    from .schema import export_chart_schema

    if not args.export:
        raise UserError("nothing to do", fix="use 'conformance schema --export [-o values.schema.json]'")
    text = json.dumps(export_chart_schema(), indent=2) + "\n"
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UserError(f"cannot write: {exc.strerror}", where=args.output) from None
    else:
        out.write(text)
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="conformance", description=__doc__.splitlines()[0])
    sub = top.add_subparsers(dest="command", required=True)
    explain = sub.add_parser("explain", help="what a rule checks, why, and how to fix it")
    explain.add_argument("rule", nargs="?", help="rule id (omit to list every rule)")
    explain.set_defaults(run=cmd_explain)
    schema = sub.add_parser("schema", help="the values JSON Schema")
    schema.add_argument("--export", action="store_true",
                        help="print the schema in the form a chart ships as values.schema.json")
    schema.add_argument("-o", "--output", metavar="FILE", help="write it to FILE instead of stdout")
    schema.set_defaults(run=cmd_schema)
    return top


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = parser().parse_args(argv)
    try:
        return args.run(args, out)
    except UserError as exc:
        print(f"conformance: {exc.line()}", file=err)
        return EXIT_USAGE
    except BrokenPipeError:  # `conformance explain | head`: the reader has what it wanted
        if out is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
