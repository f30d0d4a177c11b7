"""pytest wiring of the reports lane: options and fixtures only; the work lives in plain modules.

- One flag and environment variable per report format, as the format declares them (``reports/reporter.py``
  finds every format): ``--conformance-report`` (``QMC_REPORT``, JSON), ``--sarif`` (``QMC_SARIF``),
  ``--conformance-html`` (``QMC_HTML``; ``--html`` too unless pytest-html, whose option that is, is
  installed), ``--markdown`` (``QMC_MARKDOWN``). Targets are checked at start, files written at the end.
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

from .options import OptionSpec, add_options, declare, read_option
from .pipeline import CaseResult
from .plugin_stash import PROBE_RESULTS_KEY
from .progress import DEFAULT_EVERY_S, Progress, waiting
from .reports.junit import evidence_properties
from .reports.junit import finding_properties as finding_properties  # where lane plugins import it from
from .reports.reporter import PytestOption, Reporter, ReportRun, reporters, write_report
from .run_inputs import SESSION_KEY, report_document

SETUP_ERROR_KEY = pytest.StashKey[str]()


def _options() -> list[tuple[Reporter, PytestOption, OptionSpec]]:
    """Each format the pytest route writes, with its option (flag, environment variable, help) as the format
    declares it and as the plugin's option reader takes it."""
    return [
        (each, o, OptionSpec(o.dest, o.flag, o.env, o.help, {"metavar": o.metavar} if o.metavar else {}))
        for each in reporters()
        if (o := each.pytest_option) is not None
    ]


def option_flags(option: PytestOption, alias_owner_installed: bool | None = None) -> tuple[str, ...]:
    """The flags of a format's option: its flag always, and its alias only when the plugin that owns that
    flag (pytest-html owns ``--html``) cannot be imported: two plugins adding one option stop pytest before it
    starts. ``alias_owner_installed`` defaults to whether that plugin is importable."""
    if option.alias is None:
        return (option.flag,)
    if alias_owner_installed is None:
        owner = option.alias_owner
        alias_owner_installed = owner is not None and importlib.util.find_spec(owner) is not None
    return (option.flag,) if alias_owner_installed else (option.flag, option.alias)


def pytest_addoption(parser: pytest.Parser) -> None:
    for _, option, spec in _options():
        flags = option_flags(option)
        if flags == (spec.flag,):
            add_options(parser, [spec])
            continue
        declare([spec])  # added by hand (two flags): read_option knows it from here
        group = parser.getgroup("conformance", "QuickMeet.Chat conformance")
        group.addoption(*flags, dest=spec.dest, help=f"{spec.help} [env {spec.env}]", **spec.extra)


def _target(config: pytest.Config, spec: OptionSpec) -> str | None:
    return read_option(config, spec.dest) or None


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
    for _, _, spec in _options():
        target = _target(config, spec)
        reason = unwritable_reason(target) if target else None
        if reason:
            raise pytest.UsageError(f"{spec.flag} {target}: cannot write the report there ({reason})")


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
    """Write every report asked for, each format through the registry."""
    config = session.config
    conf = config.stash.get(SESSION_KEY, None)
    if conf is None:
        return
    probes = config.stash.get(PROBE_RESULTS_KEY, [])
    run = ReportRun(
        conf.results(),
        conf.settings.strict,
        lambda: report_document(config),
        probes=probes,
        setup_error=config.stash.get(SETUP_ERROR_KEY, None),
    )
    for each, _, spec in _options():
        target = _target(config, spec)
        if not target or not each.wanted(
            run
        ):  # e.g. no conformance test ran: only the self-tests were selected
            continue
        try:
            write_report(each.render(run), target)
        except OSError as exc:
            _write_failed(session, spec.flag, target, exc)


# -- JUnit ------------------------------------------------------------------------------------------
def _rule_ids(properties: list[tuple[str, Any]]) -> list[str]:
    ids: list[str] = []
    for name, value in properties:
        if name == "rule_id" and value not in ids:
            ids.append(str(value))
    return ids


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
