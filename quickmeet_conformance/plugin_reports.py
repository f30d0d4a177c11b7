"""pytest wiring of the reports lane: options and fixtures only; the work lives in plain modules.

- ``--sarif FILE`` (env ``QMC_SARIF``): the findings as SARIF 2.1.0 (``reports/sarif.py``).
- ``--conformance-html FILE`` / ``--markdown FILE`` (env ``QMC_HTML`` / ``QMC_MARKDOWN``): the report model
  drawn (``reports/html.py``, ``reports/markdown.py``); ``--html`` is an alias of the first unless pytest-html,
  whose option that is, is installed.
- ``--junitxml``: each conformance test case is named ``<rule id>[<values>@<helm>]`` and carries the
  failed findings' evidence (expected, found, resource, field path, location) as properties.
- ``conformance_progress``: ``waiting for X: 12s ...`` lines that get past pytest's capture.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Generator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from .findings import Finding
from .options import OptionSpec, add_options, declare, read_option
from .pipeline import CaseResult
from .plugin_probes import PROBE_RESULTS_KEY
from .progress import DEFAULT_EVERY_S, Progress, waiting
from .reports.html import html_report
from .reports.markdown import markdown_report
from .reports.sarif import sarif_log, write_sarif
from .reports.text_file import write_text_report
from .run_inputs import SESSION_KEY

SETUP_ERROR_KEY = pytest.StashKey[str]()


_OPTIONS: list[OptionSpec] = [
    OptionSpec(
        "qmc_sarif",
        "--sarif",
        "QMC_SARIF",
        "write the findings as a SARIF 2.1.0 log (code scanning)",
        {"metavar": "FILE"},
    ),
    OptionSpec(
        "qmc_html",
        "--conformance-html",
        "QMC_HTML",
        "write a self-contained HTML report: each release drawn, the verdict matrix, upgrade plans, "
        "stream-hub pods over live rollouts",
        {"metavar": "FILE"},
    ),
    OptionSpec(
        "qmc_markdown",
        "--markdown",
        "QMC_MARKDOWN",
        "write the same report as GitHub-flavoured Markdown with Mermaid diagrams (for $GITHUB_STEP_SUMMARY)",
        {"metavar": "FILE"},
    ),
]


def html_flags(pytest_html_installed: bool | None = None) -> tuple[str, ...]:
    """The flags of the HTML report: ``--conformance-html`` always, and ``--html`` as its alias only when
    pytest-html (whose option ``--html`` is) cannot be imported: two plugins adding one option stop pytest
    before it starts. ``pytest_html_installed`` defaults to whether it is importable."""
    if pytest_html_installed is None:
        pytest_html_installed = importlib.util.find_spec("pytest_html") is not None
    return ("--conformance-html",) if pytest_html_installed else ("--conformance-html", "--html")


def pytest_addoption(parser: pytest.Parser) -> None:
    declare(_OPTIONS)  # --conformance-html is added by hand below: read_option knows it from here
    for spec in _OPTIONS:
        if spec.dest != "qmc_html":
            add_options(parser, [spec])
            continue
        group = parser.getgroup("conformance", "QuickMeet.Chat conformance")
        group.addoption(*html_flags(), dest=spec.dest, help=f"{spec.help} [env {spec.env}]", **spec.extra)


def _target(config: pytest.Config, dest: str) -> str | None:
    return read_option(config, dest) or None


def _sarif_target(config: pytest.Config) -> str | None:
    return _target(config, "qmc_sarif")


def unwritable_reason(target: str) -> str | None:
    """Why a report could not be written to ``target`` (checked at start, not after a long run)."""
    path = Path(target)
    if path.is_dir():
        return "is a directory"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)  # the writer would create it too
    except OSError as exc:
        return exc.strerror or str(exc)
    if not os.access(path if path.exists() else path.parent, os.W_OK):
        return "permission denied"
    return None


def _check_report_targets(config: pytest.Config) -> None:
    targets = [(spec.flag, _target(config, spec.dest)) for spec in _OPTIONS]
    for flag, target in targets + [("--conformance-report", read_option(config, "qmc_report"))]:
        reason = unwritable_reason(target) if target else None
        if reason:
            raise pytest.UsageError(f"{flag} {target}: cannot write the report there ({reason})")


@pytest.hookimpl(wrapper=True)
def pytest_collection_finish(session: pytest.Session) -> Generator[None, None, None]:
    """Remember why setup stopped the run (a bad chart, helm or values file) for the SARIF log."""
    try:
        return (yield)
    except pytest.UsageError as exc:
        session.config.stash[SETUP_ERROR_KEY] = str(exc)
        raise


def _write_failed(session: pytest.Session, flag: str, target: str, exc: OSError) -> None:
    """Targets are checked at start; this is the disk filling up or a race."""
    line = f"{flag} {target}: cannot write the report: {exc.strerror or exc}"
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    reporter.write_line(f"ERROR: {line}", red=True) if reporter else print(f"ERROR: {line}", file=sys.stderr)
    session.exitstatus = pytest.ExitCode.USAGE_ERROR


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from .plugin import report_document

    conf = session.config.stash.get(SESSION_KEY, None)
    if conf is None:
        return
    target = _sarif_target(session.config)
    setup_error = session.config.stash.get(SETUP_ERROR_KEY, None)
    probes = session.config.stash.get(PROBE_RESULTS_KEY, [])
    report = None
    if _target(session.config, "qmc_html") or _target(session.config, "qmc_markdown") or target:
        report = report_document(session.config)
    if target and (report is not None or probes or setup_error is not None):
        try:
            write_sarif(
                sarif_log(
                    conf.results(),
                    setup_error=setup_error,
                    sections=report,
                    strict=conf.settings.strict,
                    probes=probes,
                ),
                target,
            )
        except OSError as exc:
            _write_failed(session, "--sarif", target, exc)
    if report is None:
        return  # no conformance test ran (e.g. only the framework's self-tests were selected)
    for dest, flag, render in (
        ("qmc_html", "--conformance-html", html_report),
        ("qmc_markdown", "--markdown", markdown_report),
    ):
        path = _target(session.config, dest)
        if path:
            try:
                write_text_report(render(report), path)
            except OSError as exc:
                _write_failed(session, flag, path, exc)


# -- JUnit ------------------------------------------------------------------------------------------
def _rule_ids(properties: list[tuple[str, Any]]) -> list[str]:
    ids: list[str] = []
    for name, value in properties:
        if name == "rule_id" and value not in ids:
            ids.append(str(value))
    return ids


def finding_properties(rule_id: str, findings: list[Finding]) -> list[tuple[str, str]]:
    """(name, value) pairs for each failed finding (findings are already redacted)."""
    props: list[tuple[str, str]] = []
    for finding in findings:
        if not finding.failed:
            continue
        props.append(("finding", f"{rule_id}: {finding.message}"))
        for name, value in (
            ("expected", finding.expected),
            ("found", finding.found),
            ("resource", finding.resource),
            ("field_path", finding.field_path),
            ("location", str(finding.location) if finding.location else ""),
        ):
            if value:
                props.append((name, value))
        props.extend((f"evidence.{k}", v) for k, v in finding.evidence)
    return props


def evidence_properties(result: CaseResult, rule_id: str) -> list[tuple[str, str]]:
    """The JUnit properties of a failed static case: its findings' evidence, and a bad input's one line."""
    props = finding_properties(rule_id, result.findings.get(rule_id, []))
    if result.input_error is not None:
        props.append(("input_error", result.input_error))
    return props


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    if call.when == "call":
        result = getattr(item, "funcargs", {}).get("conformance_case")
        if isinstance(result, CaseResult):
            for rule_id in _rule_ids(item.user_properties):
                item.user_properties.extend(evidence_properties(result, rule_id))
    return (yield)


class JUnitNames:
    """Names each JUnit test case ``<rule id>[<values>@<helm>]`` before junitxml records it (a plugin
    object holding the config, since a report does not carry it; runs in the xdist controller too)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        from _pytest.junitxml import xml_key  # junitxml has no public way to set a test case's name

        xml = self.config.stash.get(xml_key, None)
        rule_ids = _rule_ids(report.user_properties)
        if xml is None or not rule_ids or report.when == "teardown":
            return
        params = report.nodeid.rsplit("[", 1)[1][:-1] if report.nodeid.endswith("]") else ""
        name = "+".join(rule_ids) + (f"[{params}]" if params else "")
        xml.node_reporter(report).add_attribute("name", name)


def pytest_configure(config: pytest.Config) -> None:
    _check_report_targets(config)
    config.pluginmanager.register(JUnitNames(config), "quickmeet-conformance-junit-names")


# -- progress ---------------------------------------------------------------------------------------
@pytest.fixture
def conformance_progress(request: pytest.FixtureRequest) -> Callable[..., AbstractContextManager[Progress]]:
    """``with conformance_progress("pods ready", every_s=10) as wait: ... wait.update("2/3")``: lines
    go to the terminal even while pytest captures the test's output."""
    config = request.config
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")

    def write(line: str) -> None:
        if reporter is None:
            print(line, flush=True)
        elif capture is not None:
            with capture.global_and_fixture_disabled():
                reporter.write_line(line)
        else:
            reporter.write_line(line)

    def factory(
        what: str, *, every_s: float = DEFAULT_EVERY_S, ticker: bool = False
    ) -> AbstractContextManager[Progress]:
        return waiting(what, write=write, every_s=every_s, ticker=ticker)

    return factory
