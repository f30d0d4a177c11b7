"""pytest wiring of the upgrade lane: options and fixtures only; the work lives in plain modules.

Suites ask for ``upgrade_case`` (parametrized over every upgrade pair x helm binary) and ``check_upgrade``.
Pairs come from ``--upgrade-from``/``--upgrade-to`` (matched by order) or, without them, from the
project's matrix (``upgrades_dir`` in ``pytest_conformance_defaults``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .assertions import conclude
from .errors import UserError
from .options import OptionSpec, add_options, read_option
from .plugin import conformance_session, names_own_inputs, parametrize_nothing
from .reports.upgrade import summary_lines, upgrade_result_dict
from .rules.engine import RULES
from .upgrade import UpgradePair, UpgradeResult, UpgradeSession, load_matrix, pairs_from_options

UPGRADE_KEY = pytest.StashKey["UpgradeSession | UserError"]()
NO_PAIR_NAMED = (
    "no upgrade pair named (pass --upgrade-from OLD.yaml --upgrade-to NEW.yaml to check an upgrade; "
    "a checkout's own upgrade matrix runs only when no --values is given)"
)

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


def _option(config: pytest.Config, dest: str) -> Any:
    return read_option(config, _OPTIONS, dest)


def pairs_from_defaults(config: pytest.Config) -> bool:
    """True when the run's upgrade pairs are the project's matrix (no --upgrade-from/--upgrade-to given)."""
    return not (_option(config, "qmc_upgrade_from") or _option(config, "qmc_upgrade_to"))


def _pairs(config: pytest.Config) -> list[UpgradePair]:
    """The run's upgrade pairs: the flags, else the project's matrix (UserError with one line)."""
    conformance = conformance_session(config)
    froms, tos = _option(config, "qmc_upgrade_from") or [], _option(config, "qmc_upgrade_to") or []
    if froms or tos:
        settings = conformance.settings
        if not settings.chart:
            raise UserError("no chart to upgrade to", fix="pass --chart DIR|TGZ|repo/name (or set QMC_CHART)")
        from_chart = _option(config, "qmc_from_chart")
        from_version = _option(config, "qmc_from_chart_version")
        return pairs_from_options(
            froms,
            tos,
            from_chart=from_chart or settings.chart,
            from_chart_version=from_version if from_chart else (from_version or settings.chart_version),
            to_chart=settings.chart,
            to_chart_version=settings.chart_version,
        )
    defaults = config.hook.pytest_conformance_defaults(config=config) or {}
    if "upgrades_dir" not in defaults or names_own_inputs(config):
        return []  # the project's matrix says nothing about a user's own values files
    directory = Path(defaults["upgrades_dir"])
    return load_matrix(directory if directory.is_absolute() else config.rootpath / directory)


def _built(config: pytest.Config) -> UpgradeSession | UserError:
    """The run's UpgradeSession, built on first use, or the one-line reason it cannot be."""
    if UPGRADE_KEY not in config.stash:
        try:
            config.stash[UPGRADE_KEY] = UpgradeSession(
                _pairs(config),
                conformance_session(config),
                reuse_values=bool(_option(config, "qmc_reuse_values")),
            )
        except UserError as exc:
            config.stash[UPGRADE_KEY] = exc
    return config.stash[UPGRADE_KEY]


def upgrade_session(config: pytest.Config) -> UpgradeSession:
    """The run's UpgradeSession; a bad flag or matrix file stops the run with one line."""
    built = _built(config)
    if isinstance(built, UserError):
        raise pytest.UsageError(built.line())
    return built


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "upgrade_case" not in metafunc.fixturenames:
        return
    built = _built(metafunc.config)
    if isinstance(built, UserError):
        # reported once, as a usage error, when collection finishes (raising here would print a traceback)
        metafunc.parametrize("upgrade_case", [None], ids=["invalid-upgrade-input"], indirect=True)
        return
    keys = built.keys()
    if not keys:
        parametrize_nothing(metafunc, "upgrade_case", "no-upgrade-pair", NO_PAIR_NAMED)
        return
    metafunc.parametrize(
        "upgrade_case", keys, ids=[built.case_id(k) for k in keys], indirect=True, scope="function"
    )


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


def check_upgrade_rule(
    result: UpgradeResult, rule_id: str, *, strict: bool = False, properties: list | None = None
) -> None:
    """Pass, skip, warn or fail the current test from ``rule_id``'s findings for one upgrade pair."""
    case = result.case
    props = properties if properties is not None else []
    props += [("rule_id", rule_id), ("upgrade_pair", case.pair.name), ("helm", case.renderer.helm.version)]
    if result.input_error is not None:
        pytest.fail(f"{result.input_error}\n(no upgrade rule was evaluated for this pair)", pytrace=False)
    findings = result.findings.get(rule_id)
    if findings is None:
        pytest.fail(f"rule {rule_id} was not evaluated for upgrade {case.pair.name}", pytrace=False)
    rule_obj = RULES[rule_id]
    header = (
        f"{rule_id} on upgrade {case.pair.name}: {case.pair.from_side.values_label} ({case.from_chart.label}) -> "
        f"{case.pair.to_side.values_label} ({case.to_chart.label}), {case.renderer.helm.label} "
        f"{case.renderer.helm.version}"
    )
    conclude(
        findings, header=header, contract=rule_obj.contract, fix=rule_obj.fix, strict=strict, properties=props
    )


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
