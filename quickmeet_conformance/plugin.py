"""pytest plugin: declares options and fixtures and hands results to the reports; the work is elsewhere.

Every option exists as a flag and as an environment variable (flag wins). Suites ask for the
``conformance_case`` fixture and are parametrized over every (values file, helm binary) pair.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

import pytest

from . import hookspecs
from .assertions import check_rule
from .errors import UserError
from .options import OptionSpec, add_options, read_option
from .pipeline import CaseResult
from .plugin_stash import PROBE_RESULTS_KEY
from .reports.terminal import write_summary
from .run_inputs import (
    NO_VALUES_NAMED,
    SESSION_KEY,
    conformance_requested,
    conformance_session,
    names_upgrade_pairs,
    parametrize_nothing,
    settings_from_options,
)
from .session import ConformanceSession

_OPTIONS: list[OptionSpec] = [
    OptionSpec(
        "qmc_chart",
        "--chart",
        "QMC_CHART",
        "chart under test: a directory, a packaged .tgz, or repo/name",
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
        "qmc_waivers",
        "--waivers",
        "QMC_WAIVERS",
        "YAML list of accepted findings (rule, target, reason, expires): a waived finding passes as accepted "
        "until it expires; an expired one fails with its reason",
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


# the signals received: the run ends even if their KeyboardInterrupt was swallowed
_TERMINATED: list[int] = []


def _terminated(signum: int, frame: object) -> None:
    _TERMINATED.append(signum)
    raise KeyboardInterrupt(f"terminated by signal {signum}")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A SIGTERM whose KeyboardInterrupt landed where Python only prints it (a ``__del__``, a callback, a
    helper thread's handoff) must still end the run: no test starts after one, teardown and cleanup run."""
    if _TERMINATED:
        pytest.exit(f"terminated by signal {_TERMINATED[0]}", returncode=pytest.ExitCode.INTERRUPTED)


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
    config.stash[SESSION_KEY] = ConformanceSession(settings_from_options(config))


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
    metafunc.parametrize("conformance_case", keys, ids=[k.id for k in keys], indirect=True, scope="function")


def pytest_collection_finish(session: pytest.Session) -> None:
    if not any("conformance_case" in getattr(item, "fixturenames", ()) for item in session.items):
        return
    config = session.config
    # an audit (--cluster existing --release) judges the deployed release: the session's values are not rendered
    audit = read_option(config, "qmc_cluster") == "existing" and bool(read_option(config, "qmc_release"))
    try:
        conformance_session(config).check_setup(render_early=not audit)
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
        waivers=session.settings.options.waivers,
        others=[f for probe in config.stash.get(PROBE_RESULTS_KEY, []) for f in probe.findings],
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session is not None:
        session.close()
    if signal.getsignal(signal.SIGTERM) is _terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
