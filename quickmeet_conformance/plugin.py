"""pytest plugin: declares options and fixtures and hands results to the reports; the work is elsewhere.

Every option exists as a flag and as an environment variable (flag wins). Suites ask for the
``conformance_case`` fixture and are parametrized over every (values file, helm binary) pair.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from . import hookspecs
from .assertions import check_rule
from .errors import UserError
from .options import OptionSpec, add_options, read_option
from .pipeline import CaseResult
from .reports.model import report_dict
from .reports.terminal import write_summary
from .rules.engine import Options
from .session import ConformanceSession, Settings
from .values import expand_values_args

SESSION_KEY = pytest.StashKey[ConformanceSession]()

_OPTIONS: list[OptionSpec] = [
    OptionSpec(
        "qmc_chart", "--chart", "QMC_CHART", "chart under test: a directory, a packaged .tgz, or repo/name"
    ),
    OptionSpec(
        "qmc_chart_version", "--chart-version", "QMC_CHART_VERSION", "chart version for repo/name charts"
    ),
    OptionSpec(
        "qmc_values",
        "--values",
        "QMC_VALUES",
        "values file to check (repeatable; a directory: each *.yaml in it; base.yaml+prod.yaml: one case of "
        "layers merged as helm -f merges them; env: paths separated by ':'); default: the project's fixtures",
        {"action": "append"},
    ),
    OptionSpec(
        "qmc_helm",
        "--helm",
        "HELM_BIN",
        "helm binary (repeatable to run each major; env: paths separated by ':')",
        {"action": "append"},
    ),
    OptionSpec(
        "qmc_kube_version",
        "--kube-version",
        "QMC_KUBE_VERSION",
        "Kubernetes version to render and validate for",
    ),
    OptionSpec("qmc_release", "--release", "QMC_RELEASE", "release name (default rocketchat)"),
    OptionSpec("qmc_namespace", "--namespace", "QMC_NAMESPACE", "namespace (default default)"),
    OptionSpec(
        "qmc_users",
        "--concurrent-users",
        "QMC_CONCURRENT_USERS",
        "expected concurrent users: ddp-streamer replicas must be >= ceil(N/500)",
        {"type": int},
    ),
    OptionSpec(
        "qmc_strict",
        "--conformance-strict",
        "QMC_STRICT",
        "warning-severity rules fail the run too (pytest's own --strict is pytest's, not this)",
        {"action": "store_true"},
    ),
    OptionSpec(
        "qmc_allow_ignored",
        "--allow-ignored-keys",
        "QMC_ALLOW_IGNORED_KEYS",
        "report ignored (unknown) values keys as warnings instead of errors",
        {"action": "store_true"},
    ),
    OptionSpec(
        "qmc_helm_timeout",
        "--helm-timeout",
        "QMC_HELM_TIMEOUT",
        "seconds any one helm call may take before it is killed (default 20 for 'helm version', "
        "120 to render)",
        {"type": float},
    ),
    OptionSpec(
        "qmc_component_image",
        "--component-image",
        "QMC_COMPONENT_IMAGE",
        "COMPONENT=GLOB: also recognise COMPONENT by an image repository glob (e.g. monolith=*/mychat)",
        {"action": "append"},
    ),
]

# Each lane wires its own options and fixtures in a module of its own (pytest_addoption is a historic
# hook, so these still get to declare options).
LANE_PLUGINS = (
    "quickmeet_conformance.plugin_upgrade",
    "quickmeet_conformance.plugin_live",
    "quickmeet_conformance.plugin_probes",
    "quickmeet_conformance.plugin_reports",
)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)
    for name in LANE_PLUGINS:
        pluginmanager.import_plugin(name)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser, _OPTIONS)


def _option(config: pytest.Config, dest: str) -> Any:
    return read_option(config, _OPTIONS, dest)


def _shown(path: str) -> str:
    """Paths below the working directory are shown (and reported) relative to it."""
    rel = os.path.relpath(path) if os.path.isabs(path) else path
    return path if rel.startswith("..") else rel


NO_VALUES_NAMED = (
    "no values file named: --upgrade-from/--upgrade-to check only the upgrade, not the project's "
    "values files (pass --values FILE to check a values file as well)"
)


def names_upgrade_pairs(config: pytest.Config) -> bool:
    """--upgrade-from/--upgrade-to (or their env) name the user's own upgrade pairs."""
    from .plugin_upgrade import pairs_from_defaults

    return not pairs_from_defaults(config)


def names_own_inputs(config: pytest.Config) -> bool:
    """The user named files of their own (--values, --upgrade-from/--upgrade-to): the project's defaults
    (its values files, upgrade matrix and live cluster) stay out of the run; only the user's files are checked."""
    return bool(_option(config, "qmc_values")) or names_upgrade_pairs(config)


def parametrize_nothing(metafunc: pytest.Metafunc, fixture: str, case_id: str, reason: str) -> None:
    """One skipped case saying why this lane has nothing to check (pytest's empty-parameter skip names no reason)."""
    metafunc.parametrize(
        fixture, [pytest.param(None, marks=pytest.mark.skip(reason=reason))], ids=[case_id], indirect=True
    )


def _settings(config: pytest.Config) -> Settings:
    defaults = config.hook.pytest_conformance_defaults(config=config) or {}
    root = config.rootpath

    def rooted(p: str) -> str:
        return str(root / p) if not os.path.isabs(p) else p

    chart = _option(config, "qmc_chart") or (rooted(defaults["chart"]) if "chart" in defaults else None)
    if chart is None:  # an installed package checks against the reference chart it bundles, as the CLI does
        from .resources import reference_chart

        chart = str(reference_chart())
    try:
        values = expand_values_args(_option(config, "qmc_values") or [])
    except UserError as exc:
        raise pytest.UsageError(exc.line()) from None
    values_from_defaults = not values and "values_dir" in defaults and not names_upgrade_pairs(config)
    if values_from_defaults:
        values = sorted(str(p) for p in Path(rooted(defaults["values_dir"])).glob("*.yaml"))
    helm = (
        _option(config, "qmc_helm")
        or [rooted(h) if "/" in h else h for h in defaults.get("helm", [])]
        or ["helm"]
    )
    overrides = []
    for item in _option(config, "qmc_component_image") or []:
        if "=" not in item:
            raise pytest.UsageError(f"--component-image {item!r}: expected COMPONENT=GLOB")
        overrides.append(tuple(item.split("=", 1)))
    return Settings(
        chart=_shown(chart) if chart else "",
        chart_version=_option(config, "qmc_chart_version"),
        values=tuple(_shown(v) for v in values or ()),
        helm=tuple(helm),
        release=_option(config, "qmc_release") or "rocketchat",
        namespace=_option(config, "qmc_namespace") or "default",
        options=Options(
            kube_version=_kube_version(config),
            concurrent_users=_option(config, "qmc_users"),
            allow_ignored_keys=bool(_option(config, "qmc_allow_ignored")),
            strict=bool(_option(config, "qmc_strict")),
        ),
        component_images=tuple(overrides),
        helm_timeout_s=_helm_timeout(config),
        values_from_defaults=values_from_defaults,
    )


def _kube_version(config: pytest.Config) -> str:
    """--kube-version, checked against the bundled offline schemas now (one line, never a silent fallback)."""
    from .rules.kube_schema import supported_kube_version

    version = _option(config, "qmc_kube_version") or Options().kube_version
    try:
        supported_kube_version(version)
    except UserError as exc:
        raise pytest.UsageError(exc.line()) from None
    return version


def _helm_timeout(config: pytest.Config) -> float | None:
    value = _option(config, "qmc_helm_timeout")
    if value is not None and not value > 0:
        raise pytest.UsageError(f"--helm-timeout {value}: must be a positive number of seconds")
    return value


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"terminated by signal {signum}")


# the markers of the suites (one per lane, and ``conformance`` on every contract rule), declared where the
# suites run: with --strict-markers a typo in one is an error
MARKERS = (
    "conformance: a contract rule (every test in suites/)",
    "static: render-time conformance rules (no cluster)",
    "upgrade: render-time upgrade-path rules",
    "live: needs a cluster (--cluster)",
    "probes: protocol probes against a running release",
    "kind: needs Docker and the kind images (scripts/setup-docker.sh, scripts/build-kind-node-image.sh)",
)


def conformance_requested(config: pytest.Config) -> bool:
    """The run asked for this plugin's work: the project gives its defaults (pytest_conformance_defaults), or a
    conformance option or QMC_* variable is set. A project that merely has the plugin installed is left as is."""
    if config.hook.pytest_conformance_defaults(config=config):
        return True
    if any(v not in (None, False, []) for k, v in vars(config.option).items() if k.startswith("qmc_")):
        return True
    return any(k.startswith("QMC_") and v for k, v in os.environ.items())


def pytest_configure(config: pytest.Config) -> None:
    # SIGTERM (a CI cancel, a timeout) ends the run like Ctrl-C: fixtures tear down, clusters stop, temp dirs go
    if (
        conformance_requested(config)
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    ):
        signal.signal(signal.SIGTERM, _terminated)
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    # warning-severity rules are listed in the conformance summary (and JUnit properties) instead
    config.addinivalue_line("filterwarnings", "ignore::quickmeet_conformance.assertions.ConformanceWarning")
    config.stash[SESSION_KEY] = ConformanceSession(_settings(config))


def conformance_session(config: pytest.Config) -> ConformanceSession:
    return config.stash[SESSION_KEY]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "conformance_case" not in metafunc.fixturenames:
        return
    session = conformance_session(metafunc.config)
    if not session.settings.chart:
        raise pytest.UsageError("no chart to test: pass --chart DIR|TGZ|repo/name (or set QMC_CHART)")
    if not session.settings.values and names_upgrade_pairs(metafunc.config):
        parametrize_nothing(metafunc, "conformance_case", "no-values", NO_VALUES_NAMED)
        return
    if not session.settings.values:
        raise pytest.UsageError("no values file to test: pass --values FILE (or set QMC_VALUES)")
    keys = session.case_keys()
    metafunc.parametrize(
        "conformance_case", keys, ids=[session.case_id(k) for k in keys], indirect=True, scope="function"
    )


def pytest_collection_finish(session: pytest.Session) -> None:
    if not any("conformance_case" in getattr(item, "fixturenames", ()) for item in session.items):
        return
    try:
        conformance_session(session.config).check_setup()
    except UserError as exc:
        raise pytest.UsageError(exc.line()) from None


@pytest.fixture(scope="session")
def conformance(request: pytest.FixtureRequest) -> ConformanceSession:
    """The run's ConformanceSession (chart, helm binaries, options, evaluated cases)."""
    return conformance_session(request.config)


@pytest.fixture
def conformance_case(request: pytest.FixtureRequest) -> CaseResult:
    """The evaluated static case (values file x helm binary) this test is parametrized with."""
    session = conformance_session(request.config)
    return session.result(request.param)


@pytest.fixture
def check(request: pytest.FixtureRequest, conformance_case: CaseResult) -> Callable[[str], None]:
    """``check("rule.id")`` passes, skips, warns or fails the test from that rule's findings."""
    strict = conformance_session(request.config).settings.strict

    def check_one(rule_id: str) -> None:
        check_rule(conformance_case, rule_id, strict=strict, properties=request.node.user_properties)

    return check_one


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session is None or not session.results():
        return
    terminalreporter.section("conformance summary")
    write_summary(
        terminalreporter.write_line,
        session.results(),
        strict=session.settings.strict,
        failures_only=config.get_verbosity() < 0,
    )


REPORT_KEY = pytest.StashKey[dict[str, Any]]()


def report_document(config: pytest.Config) -> dict[str, Any] | None:
    """The run's report model (static cases plus every lane's sections), built once for every format;
    None when no conformance case or lane evaluated anything."""
    if REPORT_KEY in config.stash:
        return config.stash[REPORT_KEY]
    conf = config.stash.get(SESSION_KEY, None)
    if conf is None:
        return None
    sections: dict[str, Any] = {}
    for lane_sections in config.hook.pytest_conformance_report_sections(config=config):
        sections.update(lane_sections or {})
    if not (conf.results() or sections):
        return None
    config.stash[REPORT_KEY] = report_dict(
        conf.results(), extra_sections=sections, strict=conf.settings.strict
    )
    return config.stash[REPORT_KEY]


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session is not None:
        session.close()
    if signal.getsignal(signal.SIGTERM) is _terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
