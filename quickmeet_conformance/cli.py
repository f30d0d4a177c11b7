"""The ``conformance`` command: check values files, explain rules, export the values schema.

    conformance check VALUES... [options]  check values files against the contract (the suites' engine and rules)
    conformance explain                 list every rule: id, severity, title
    conformance explain RULE            what RULE checks, where it is documented, how to fix it
    conformance explain RULE --verbose  ... and the CONTRACT.md section it enforces (the project's)
    conformance schema --export [-o F]  the values JSON Schema a chart can ship as values.schema.json
    conformance history DIR...          what each chart release introduced or removed (maintainers)
    conformance --version               the tool's version

Exit codes: 0 conformant (warnings allowed unless --strict), 1 findings, 2 a usage or input error (an unknown
rule, a missing or malformed values file, no helm, a chart that is not a chart, an unsupported
--kube-version): one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import json
import os
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from .charts import check_version_applies, is_local_chart, repo_chart_spec
from .errors import UserError
from .helm import helm_specs
from .reports.reporter import Reporter, ReportRun, reporter, reporters
from .resources import checkout_root, reference_chart
from .rules import load_all
from .rules.engine import RULES, Rule
from .session import ConformanceSession, Settings
from .values import LAYER_SEPARATOR, expand_values_args
from .waivers import load_waivers

EXIT_CONFORMANT = 0
EXIT_FINDINGS = 1
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


def explain_rule(rule_obj: Rule, width: int = 100, *, verbose: bool = False) -> str:
    """What a rule checks, the public document it follows, and its fix; ``verbose`` adds the CONTRACT.md
    section (the project's file, which a customer with the wheel does not have) and the basis."""

    def para(label: str, text: str) -> str:
        return textwrap.fill(text, width=width, initial_indent=f"{label:<10}", subsequent_indent=" " * 10)

    lines = [
        f"{rule_obj.id}  ({rule_obj.severity.value}, {rule_obj.lane} lane)",
        para("checks:", rule_obj.title),
        para("docs:", rule_obj.doc),
        para("fix:", rule_obj.fix),
    ]
    if verbose:
        lines.append(para("contract:", f"{rule_obj.contract} (basis: {rule_obj.basis})"))
    return "\n".join(lines)


def list_rules(rules: dict[str, Rule]) -> str:
    width = max((len(r) for r in rules), default=0)
    lines = [f"{rule_id:<{width}}  {r.severity.value:<7}  {r.title}" for rule_id, r in rules.items()]
    lines.append(f"\n{len(rules)} rules; 'conformance explain RULE' for one rule's documentation and fix")
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
    print(explain_rule(rule_obj, verbose=args.verbose), file=out)
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


CHECK_EPILOG = """\
VALUES: one values file per case; join layers with '+' (base.yaml+prod.yaml) to check them merged exactly as
'helm -f base.yaml -f prod.yaml' merges them; findings point at the layer, line and column that set the key.
-f FILE (repeatable) is one more case made of all -f files in order, as helm takes them.

exit codes: 0 conformant (warnings do not fail unless --strict), 1 findings, 2 usage or input error.
"""


def _missing_files(args: argparse.Namespace) -> None:
    """A values file that does not exist is named as the user passed it: the positional VALUES or -f/--values."""
    for given in args.values:
        if Path(given).exists():
            continue  # a file, or a directory of values files
        for layer in given.split(LAYER_SEPARATOR):
            if layer and not Path(layer).is_file():
                part = f" (a layer of {given})" if layer != given else ""
                raise UserError(
                    f"values file not found{part}",
                    where=layer,
                    fix="check the path given as VALUES (conformance check FILE)",
                )
    for layer in args.layers or ():
        if not Path(layer).is_file():
            raise UserError("values file not found", where=layer, fix="check the path given to -f/--values")


def _check_cases(args: argparse.Namespace) -> list[str]:
    _missing_files(args)
    cases = expand_values_args(list(args.values))
    if args.layers:
        cases.append(LAYER_SEPARATOR.join(args.layers))
    if not cases:
        raise UserError(
            "no values file to check", fix="conformance check my-values.yaml (or -f base.yaml -f prod.yaml)"
        )
    return cases


def _helm_specs(args: argparse.Namespace) -> tuple[str, ...]:
    """--helm, else HELM_BIN, else helm on PATH, else the checkout's .tools/bin/helm."""
    return helm_specs(args.helm or (), checkout_root())


def _component_images(args: argparse.Namespace) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in args.component_image or []:
        if "=" not in item:
            raise UserError(f"--component-image {item!r}: expected COMPONENT=GLOB")
        component, glob = item.split("=", 1)
        pairs.append((component, glob))
    return tuple(pairs)


def _chart_spec(args: argparse.Namespace) -> str:
    """The chart to check against: --chart (from --chart-repo when given), else the bundled reference chart;
    a --chart-version that would be ignored is a usage error."""
    if args.chart_repo and not args.chart:
        raise UserError(
            f"--chart-repo {args.chart_repo} needs --chart NAME",
            fix=f"conformance check VALUES --chart rocketchat --chart-repo {args.chart_repo}",
        )
    if args.chart_version and not args.chart:
        raise UserError(
            f"--chart-version {args.chart_version} applies only to a REPO/NAME chart; without --chart the "
            "bundled reference chart is checked, which has one version",
            fix=f"add --chart rocketchat/rocketchat, or drop --chart-version {args.chart_version}",
        )
    chart = repo_chart_spec(args.chart_repo, args.chart) if args.chart_repo else args.chart
    check_version_applies(chart, args.chart_version, "--chart-version")
    return chart or str(reference_chart())


def _from_chart(args: argparse.Namespace, settings: Settings) -> tuple[str, str | None]:
    """Chart and version of the installed release: --from-chart (a REPO/NAME one from --chart-repo when given)
    with --from-chart-version, else the chart checked (--from-chart-version, else --chart-version)."""
    if not args.from_chart:
        version = args.from_chart_version or settings.chart_version
        check_version_applies(settings.chart, args.from_chart_version, "--from-chart-version")
        return settings.chart, version
    chart = args.from_chart
    if args.chart_repo and "://" not in chart and not is_local_chart(chart):
        chart = repo_chart_spec(args.chart_repo, chart)
    check_version_applies(chart, args.from_chart_version, "--from-chart-version")
    return chart, args.from_chart_version


def check_settings(args: argparse.Namespace) -> Settings:
    from .rules.engine import Options

    if args.concurrent_users is not None and args.concurrent_users < 0:
        raise UserError(f"--concurrent-users {args.concurrent_users}: must be 0 or more")
    if args.reuse_values and not args.upgrade_from:
        raise UserError(
            "--reuse-values simulates 'helm upgrade --reuse-values' and needs --upgrade-from",
            fix="conformance check new.yaml --upgrade-from installed.yaml --reuse-values",
        )
    return Settings(
        chart=_chart_spec(args),
        chart_version=args.chart_version,
        values=tuple(_check_cases(args)),
        helm=_helm_specs(args),
        release=args.release,
        namespace=args.namespace,
        options=Options(
            kube_version=args.kube_version or Options().kube_version,
            concurrent_users=args.concurrent_users,
            allow_ignored_keys=args.allow_ignored_keys,
            strict=args.strict,
            waivers=load_waivers(args.waivers) if args.waivers else (),
        ),
        component_images=_component_images(args),
    )


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    settings = check_settings(args)
    from_chart, from_chart_version = _from_chart(args, settings) if args.upgrade_from else (None, None)
    session = ConformanceSession(settings)
    try:
        session.check_setup()
        upgrade_session = None
        if args.upgrade_from:
            from .upgrade import UpgradeSession, pairs_from_options

            froms = [old for old in args.upgrade_from for _ in settings.values]
            tos = [new for _ in args.upgrade_from for new in settings.values]
            pairs = pairs_from_options(
                froms,
                tos,
                from_chart=from_chart or settings.chart,
                from_chart_version=from_chart_version,
                to_chart=settings.chart,
                to_chart_version=settings.chart_version,
            )
            # as the pytest route's --reuse-values: also render each to-side as helm upgrade --reuse-values would
            upgrade_session = UpgradeSession(pairs, session, reuse_values=args.reuse_values)
            upgrade_session.check_setup()
        results = [session.result(key) for key in session.case_keys()]
        upgrades = [upgrade_session.result(k) for k in upgrade_session.keys()] if upgrade_session else []
        model = functools.cache(lambda: _report_model(session, results, upgrades))
        run = ReportRun(
            results,
            settings.strict,
            model,
            upgrades=upgrades,
            session=session,
            bundled=not args.chart,
            verbose=args.verbose,
            waivers=settings.options.waivers,
        )
        text = reporter(args.format).render(run)
    finally:
        session.close()
    _write(text, args.output, out)
    written = [(args.format, args.output)] if args.output else []
    also = replace(run, verbose=False)
    for (
        each
    ) in reporters():  # alongside any format (the GitHub Action shows text, uploads SARIF, appends Markdown)
        target = getattr(args, _also_dest(each), None) if each.cli_flag else None
        if target:
            _write(each.render(also), target, out)
            written.append((each.name, target))
    if written:  # the report went to files: say where, and end with the verdict as the text report does
        from .reports.text import verdict_line

        # with the main report on stdout (json | jq), the notes go to stderr and leave stdout parseable
        notes = out if args.output else getattr(args, "err_stream", None) or sys.stderr
        for name, path in written:
            print(f"wrote {name} report: {path}", file=notes)
        print(verdict_line(run), file=notes)
    return run.exit_code()


def _also_dest(each: Reporter) -> str:
    return f"also_{each.name}"


def _report_model(session: ConformanceSession, results: list, upgrades: list) -> dict[str, Any]:
    """The report model every file format is written from: the static cases and the upgrades."""
    from .reports.model import report_dict

    sections: dict[str, Any] = {}
    if upgrades:
        from .reports.upgrade import upgrade_result_dict

        sections["upgrades"] = [upgrade_result_dict(u, strict=session.settings.strict) for u in upgrades]
    return report_dict(
        results,
        extra_sections=sections,
        strict=session.settings.strict,
        waivers=session.settings.options.waivers,
    )


def _write(text: str, output: str | None, out: TextIO) -> None:
    if not output:
        out.write(text)
        return
    try:
        target = Path(output)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write the report: {exc.strerror}", where=output) from None


def _add_check(sub: argparse._SubParsersAction) -> None:
    check = sub.add_parser(
        "check",
        help="check values files against the contract (exit 0 conformant, 1 findings, 2 input error)",
        description="Check values files against the QuickMeet.Chat microservices contract: render with helm, "
        "then every static rule (the suites' engine).",
        epilog=CHECK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("values", nargs="*", metavar="VALUES", help="values file, or layers joined by '+'")
    check.add_argument(
        "-f",
        "--values",
        dest="layers",
        action="append",
        metavar="FILE",
        help="a layer of one more case (repeatable, merged in order as helm -f does)",
    )
    check.add_argument(
        "--chart",
        metavar="DIR|TGZ|REPO/NAME",
        help="chart to render with (default: the bundled reference chart)",
    )
    check.add_argument(
        "--chart-version", metavar="V", help="version of a REPO/NAME chart (not for a directory or .tgz)"
    )
    check.add_argument(
        "--chart-repo",
        metavar="URL",
        help="chart repository URL of --chart NAME: pulled with 'helm pull --repo URL NAME', no 'helm repo add' "
        "needed (e.g. https://rocketchat.github.io/helm-charts)",
    )
    check.add_argument(
        "--kube-version",
        metavar="V",
        help="Kubernetes version to render and validate for "
        "(default 1.35.0; 'conformance check --kube-version x' lists the supported ones)",
    )
    check.add_argument(
        "--concurrent-users",
        type=int,
        metavar="N",
        help="expected concurrent users: ddp-streamer replicas must be >= ceil(N/500)",
    )
    formats = reporters()
    check.add_argument(
        "--format",
        choices=tuple(each.name for each in formats),
        default="text",
        help="report format (default text)",
    )
    check.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout")
    for each in formats:
        if each.cli_flag:
            check.add_argument(each.cli_flag, dest=_also_dest(each), metavar="FILE", help=each.cli_help)
    check.add_argument(
        "--upgrade-from",
        action="append",
        metavar="FILE",
        help="values of the installed release: also check the upgrade to each VALUES case",
    )
    check.add_argument(
        "--from-chart", metavar="DIR|TGZ|REPO/NAME", help="chart of the installed release (default: --chart)"
    )
    check.add_argument("--from-chart-version", metavar="V", help="version of a REPO/NAME --from-chart")
    check.add_argument(
        "--reuse-values",
        action="store_true",
        help="with --upgrade-from: also simulate 'helm upgrade --reuse-values' (the old release's values in place "
        "of the new chart's defaults: new defaults missing, refusals)",
    )
    check.add_argument("--strict", action="store_true", help="warning-severity findings fail too")
    check.add_argument(
        "--waivers",
        metavar="FILE",
        help="YAML list of accepted findings (rule, target, reason, expires): a waived finding is shown as "
        "accepted and fails nothing until it expires",
    )
    check.add_argument(
        "--allow-ignored-keys",
        action="store_true",
        help="keys the chart never reads are warnings, not errors",
    )
    check.add_argument(
        "--component-image",
        action="append",
        metavar="COMPONENT=GLOB",
        help="also recognise COMPONENT by an image repository glob (e.g. monolith=*/mychat)",
    )
    check.add_argument(
        "--helm",
        action="append",
        metavar="PATH",
        help="helm binary (repeatable; default: HELM_BIN, else helm on PATH)",
    )
    check.add_argument(
        "--release", default="rocketchat", help="release name to render as (default rocketchat)"
    )
    check.add_argument("--namespace", default="default", help="namespace to render into (default default)")
    check.add_argument("-v", "--verbose", action="store_true", help="text: every rule, not only the findings")
    check.set_defaults(run=cmd_check)


HISTORY_EPILOG = """\
Each version is checked with its defaults and with the values of its era (--values-dir: eras.yaml and one
folder of values files per era, e.g. fixtures/history), and each consecutive pair as an upgrade of the
cases of the same name. Prints, per release, the findings it introduced (+) and removed (-).

exit codes: 0 the history was written, 2 usage or input error.
"""


def cmd_history(args: argparse.Namespace, out: TextIO) -> int:
    import tempfile

    from .helm import resolve_helm
    from .history import (
        changes_between,
        default_cache_dir,
        directory_sources,
        load_eras,
        load_triage,
        markdown_lines,
        repository_sources,
        run_history,
        text_lines,
    )
    from .rules.engine import Options

    if bool(args.dirs) == bool(args.chart):
        raise UserError(
            "give chart directories or --chart REPO/NAME --chart-version RANGE (one of the two)",
            fix="conformance history ../shared/upstream-charts/rocketchat-* --values-dir fixtures/history",
        )
    if args.chart and not args.chart_version:
        raise UserError(
            f"--chart {args.chart} needs --chart-version RANGE",
            fix=f"conformance history --chart {args.chart} --chart-version '6.25.0..6.31.0'",
        )
    helm = resolve_helm(_helm_specs(args)[0])
    sources = (
        directory_sources(args.dirs)
        if args.dirs
        else repository_sources(args.chart, args.chart_version, helm.path)
    )
    eras = load_eras(Path(args.values_dir)) if args.values_dir else []
    triage = load_triage(Path(args.triage)) if args.triage else []
    with tempfile.TemporaryDirectory(prefix="qmc-history-") as workdir:
        history = run_history(
            sources,
            eras,
            helm,
            Path(workdir),
            with_defaults=not args.no_defaults,
            options=Options(kube_version=args.kube_version or Options().kube_version),
            cache_dir=None if args.no_cache else Path(args.cache_dir or default_cache_dir()),
        )
    changes = changes_between(history)
    if args.format == "markdown":
        text = "\n".join(markdown_lines(changes, triage)) + "\n"
    else:
        text = "\n".join(text_lines(changes, triage)) + "\n"
    summary = (
        f"history: {len(history.releases)} releases, {history.cases} cases, {history.upgrades} upgrades, "
        f"{history.renders} renders by helm, {history.cached} from the cache, in {history.seconds:.1f}s"
    )
    if args.output:
        _write(text, args.output, out)
        print(f"{summary}; wrote {args.output}", file=out)
    else:
        # the timing line closes the text; in Markdown it is a comment, so the file can be committed as printed
        closing = summary if args.format == "text" else f"<!-- {summary} -->"
        out.write(f"{text}\n{closing}\n")
    return EXIT_CONFORMANT


def _add_history(sub: argparse._SubParsersAction) -> None:
    history = sub.add_parser(
        "history",
        help="what each chart release introduced or removed (the static and upgrade lanes over versions)",
        description="Run the static and upgrade lanes over a range of chart versions and print which findings "
        "each release introduced or removed.",
        epilog=HISTORY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    history.add_argument(
        "dirs", nargs="*", metavar="DIR", help="chart directories (any order; sorted by version)"
    )
    history.add_argument("--chart", metavar="REPO/NAME", help="a repository chart helm knows (helm repo add)")
    history.add_argument("--chart-version", metavar="RANGE", help="versions of --chart: 'A..B' or '>=A <B'")
    history.add_argument(
        "--values-dir",
        metavar="DIR",
        help="eras.yaml and one folder of values files per era (fixtures/history)",
    )
    history.add_argument(
        "--triage",
        metavar="FILE",
        help="label each finding true or false with its reason (fixtures/history/triage.yaml)",
    )
    history.add_argument(
        "--no-defaults", action="store_true", help="skip the case of the chart's own defaults"
    )
    history.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="renders kept across runs (default ~/.cache/quickmeet-conformance/renders)",
    )
    history.add_argument("--no-cache", action="store_true", help="render everything again, keep nothing")
    history.add_argument(
        "--format", choices=("text", "markdown"), default="text", help="output (default text)"
    )
    history.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    history.add_argument("--kube-version", metavar="V", help="Kubernetes version to render for")
    history.add_argument(
        "--helm", action="append", metavar="PATH", help="helm binary (default: HELM_BIN, helm on PATH)"
    )
    history.set_defaults(run=cmd_history)


def parser() -> argparse.ArgumentParser:
    from . import __version__

    top = argparse.ArgumentParser(
        prog="conformance",
        description=__doc__.splitlines()[0],
        epilog="exit codes: 0 conformant, 1 findings, 2 usage or input error",
    )
    top.add_argument(
        "--version", action="version", version=f"conformance (quickmeet-conformance) {__version__}"
    )
    sub = top.add_subparsers(dest="command", required=True)
    _add_check(sub)
    _add_history(sub)
    explain = sub.add_parser("explain", help="what a rule checks, why, and how to fix it")
    explain.add_argument("rule", nargs="?", help="rule id (omit to list every rule)")
    explain.add_argument(
        "-v", "--verbose", action="store_true", help="also the CONTRACT.md section the rule enforces"
    )
    explain.set_defaults(run=cmd_explain)
    schema = sub.add_parser("schema", help="the values JSON Schema")
    schema.add_argument(
        "--export",
        action="store_true",
        help="print the schema in the form a chart ships as values.schema.json",
    )
    schema.add_argument("-o", "--output", metavar="FILE", help="write it to FILE instead of stdout")
    schema.set_defaults(run=cmd_schema)
    return top


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = parser().parse_args(argv)
    args.err_stream = err
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
