"""pytest wiring of the upgrade lane: options and fixtures only; the work lives in plain modules.

Suites ask for ``upgrade_case`` (parametrized over every upgrade pair x helm binary) and ``check_upgrade``.
Pairs come from ``--upgrade-from``/``--upgrade-to`` (matched by order) or, without them, from the
project's matrix (``upgrades_dir`` in ``pytest_conformance_defaults``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .assertions import check_upgrade_rule
from .errors import UserError
from .options import OptionSpec, add_options
from .reports.upgrade import summary_lines, upgrade_result_dict
from .run_inputs import (
    NO_PAIR_NAMED,
    UPGRADE_KEY,
    built_upgrade_session,
    conformance_session,
    parametrize_nothing,
    upgrade_session,
)
from .upgrade import UpgradeResult, UpgradeSession

__all__ = ["NO_PAIR_NAMED", "check_upgrade_rule", "upgrade_session"]  # what other modules read from here

_OPTIONS: list[OptionSpec] = [
    OptionSpec(
        "qmc_upgrade_from",
        "--upgrade-from",
        "QMC_UPGRADE_FROM",
        "values file of the installed release (repeatable, paired with --upgrade-to by order; env: paths "
        "separated by ':'); default: the project's upgrade matrix",
        {"action": "append"},
    ),
    OptionSpec(
        "qmc_upgrade_to",
        "--upgrade-to",
        "QMC_UPGRADE_TO",
        "values file the release is upgraded with (repeatable, paired with --upgrade-from by order)",
        {"action": "append"},
    ),
    OptionSpec(
        "qmc_from_chart",
        "--from-chart",
        "QMC_FROM_CHART",
        "chart of the installed release: a directory, a .tgz or repo/name (default: --chart)",
    ),
    OptionSpec(
        "qmc_reuse_values",
        "--reuse-values",
        "QMC_REUSE_VALUES",
        "also simulate helm upgrade --reuse-values: the new chart with the old release's values in place of "
        "its defaults (new defaults missing, refusals)",
        {"action": "store_true"},
    ),
    OptionSpec(
        "qmc_from_chart_version",
        "--from-chart-version",
        "QMC_FROM_CHART_VERSION",
        "version of a repo/name --from-chart (default: --chart-version when --from-chart is not given)",
    ),
]


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser, _OPTIONS)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "upgrade_case" not in metafunc.fixturenames:
        return
    built = built_upgrade_session(metafunc.config)
    if isinstance(built, UserError):
        # reported once, as a usage error, when collection finishes (raising here would print a traceback)
        metafunc.parametrize("upgrade_case", [None], ids=["invalid-upgrade-input"], indirect=True)
        return
    keys = built.keys()
    if not keys:
        parametrize_nothing(metafunc, "upgrade_case", "no-upgrade-pair", NO_PAIR_NAMED)
        return
    metafunc.parametrize("upgrade_case", keys, ids=[k.id for k in keys], indirect=True, scope="function")


def pytest_collection_finish(session: pytest.Session) -> None:
    if not any("upgrade_case" in getattr(item, "fixturenames", ()) for item in session.items):
        return
    try:
        upgrade_session(session.config).check_setup()
    except UserError as exc:
        raise pytest.UsageError(exc.line()) from None


@pytest.fixture
def upgrade_case(request: pytest.FixtureRequest) -> UpgradeResult:
    """The evaluated upgrade pair (from-side, to-side, helm binary) this test is parametrized with."""
    session = upgrade_session(request.config)
    if session.unavailable(request.param):
        pytest.skip(session.unavailable(request.param))
    try:
        return session.result(request.param)
    except UserError as exc:
        pytest.fail(exc.line(), pytrace=False)


@pytest.fixture
def check_upgrade(request: pytest.FixtureRequest, upgrade_case: UpgradeResult) -> Callable[[str], None]:
    """``check_upgrade("upgrade.rule-id")`` passes, skips, warns or fails the test from that rule's findings."""
    strict = conformance_session(request.config).settings.strict

    def check_one(rule_id: str) -> None:
        check_upgrade_rule(upgrade_case, rule_id, strict=strict, properties=request.node.user_properties)

    return check_one


def _evaluated(config: pytest.Config) -> list[UpgradeResult]:
    session = config.stash.get(UPGRADE_KEY, None)
    return session.results() if isinstance(session, UpgradeSession) else []


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    results = _evaluated(config)
    if not results:
        return
    terminalreporter.section("upgrade plans")
    strict = conformance_session(config).settings.strict
    for text, colour in summary_lines(results, strict=strict, failures_only=config.get_verbosity() < 0):
        terminalreporter.write_line(text, **({colour: True} if colour else {"bold": True}))


def pytest_conformance_report_sections(config: pytest.Config) -> dict[str, Any]:
    """The ``upgrades`` section of ``--conformance-report`` (empty when no upgrade pair was evaluated)."""
    results = _evaluated(config)
    strict = conformance_session(config).settings.strict
    return {"upgrades": [upgrade_result_dict(r, strict=strict) for r in results]} if results else {}
