"""pytest wiring of the live lane: options and fixtures only; the work lives in ``quickmeet_conformance.live``.

One cluster per session (``live_cluster``), stopped at session end and on SIGINT/SIGTERM. Each case gets a
namespace of its own, created by the case fixture and deleted by it once the last test of the case ran.
Under pytest-xdist every worker starts its own kwok/kind cluster (on free ports): the kwok control-plane
processes die with the process that started them (PR_SET_PDEATHSIG), so a cluster shared across workers
would have to outlive its starter; separate clusters cost ~10 s of parallel start-up and share nothing.
With ``--cluster existing`` the workers share the user's cluster; namespaces are unique and the chart
creates no cluster-scoped objects. Tests of one case are grouped on one worker (xdist ``loadgroup``).

``--cluster existing --release NAME`` is the read-only audit of a deployed release: the live tests read it
instead of installing, and tests that would change the cluster are refused.
"""

from __future__ import annotations

import importlib.util
import secrets
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .clusters.image_source import IMAGE_SOURCES
from .clusters.registry import provider_class, provider_names
from .errors import UserError
from .findings import Status, Verdict, status_of
from .live.checks import conclude_live_probe, conclude_live_rule
from .live.cluster import start_cluster
from .live.run import LiveConfig, LiveRun, TempDirGuard
from .options import OptionSpec, add_options, read_option
from .plugin_reports import finding_properties
from .reports.live import live_case_dict
from .rules.engine import rules_for_lane
from .run_inputs import (
    NO_PAIR_NAMED,
    NO_VALUES_NAMED,
    conformance_requested,
    conformance_session,
    names_own_inputs,
    parametrize_nothing,
)

if TYPE_CHECKING:  # the lane (the kubernetes client, pyhelm3) is imported when a live case runs
    from .live.case import LiveCaseResult
    from .live.scenario import LiveLane

AUDIT_REFUSAL = (
    "refused in audit mode (--cluster existing --release): this test installs or upgrades releases; "
    "the audit only reads the deployed release (run it with --cluster kwok or without --release)"
)
_HAS_PYTEST_KIND = importlib.util.find_spec("pytest_kind") is not None

OPTIONS = [
    OptionSpec(
        "qmc_cluster",
        "--cluster",
        "QMC_CLUSTER",
        "cluster for the live lane: kwok (local control plane, fake nodes), kind, existing (--kubeconfig), none",
        {"choices": provider_names()},
    ),
    OptionSpec(
        "qmc_kube_context",
        "--kube-context",
        "QMC_KUBE_CONTEXT",
        "context of --kubeconfig for --cluster existing",
    ),
    OptionSpec(
        "qmc_kind_images",
        "--kind-images",
        "QMC_KIND_IMAGES",
        "--cluster kind: where the node/app images come from: local (built here by scripts/build-kind-node-image.sh"
        " and scripts/build-app-images.sh, no registry), upstream (kindest/node + ingress-nginx from their "
        "registries), airgap (local, but only images under the registry the values name: global.imageRegistry, else "
        "image.repository's), auto (default: local when the local node image exists)",
        {"choices": IMAGE_SOURCES},
    ),
    OptionSpec(
        "qmc_live_timeout",
        "--live-timeout",
        "QMC_LIVE_TIMEOUT",
        "seconds a rollout may take before a live case fails (default 120)",
        {"type": float},
    ),
]
DEFAULT_CLUSTER_NAME = "qmc-conformance"
PYTEST_KIND_DEFAULT_NAME = "pytest-kind"  # pytest-kind-ng's own default for --cluster-name
# options pytest-kind-ng registers itself (read by dest either way)
_KIND_OPTIONS: list[tuple[str, str, dict[str, Any], str]] = [
    ("kubeconfig", "--kubeconfig", {"default": None}, "kubeconfig of an existing cluster [env KUBECONFIG]"),
    ("keep_cluster", "--keep-cluster", {"action": "store_true"}, "keep the cluster after the run"),
    ("cluster_name", "--cluster-name", {"default": DEFAULT_CLUSTER_NAME}, "name of the kind cluster"),
]


def _kind_cluster_name(config: pytest.Config) -> str:
    """--cluster-name as given, else ours: pytest-kind-ng registers the option with its default
    ``pytest-kind``, which would share a name with the user's own pytest-kind clusters and escape the
    ``qmc-`` prefix by which a later run deletes clusters left by a killed one."""
    name = read_option(config, "cluster_name")
    return DEFAULT_CLUSTER_NAME if not name or name == PYTEST_KIND_DEFAULT_NAME else str(name)


AUDIT_PROJECT_CASES = (
    "not run in audit mode (--cluster existing --release): the project's own values files and "
    "upgrade matrix say nothing about the deployed release, whose values and manifest get the "
    "static rules in suites/live/test_audit.py; pass --values or --upgrade-from/--upgrade-to to "
    "check files of yours as well"
)
MUTATES = "live_mutates"  # marker: the test installs or upgrades (refused in audit mode)


LIVE_KEY = pytest.StashKey[LiveRun]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser, OPTIONS)
    group = parser.getgroup("conformance", "QuickMeet.Chat conformance")
    if not _HAS_PYTEST_KIND:
        for dest, flag, extra, help_text in _KIND_OPTIONS:
            group.addoption(flag, dest=dest, help=help_text, **extra)


def _live_config(config: pytest.Config) -> LiveConfig:
    defaults = config.hook.pytest_conformance_defaults(config=config) or {}
    # a user checking files of their own gets the live lane only by asking for a cluster
    default_cluster = None if names_own_inputs(config) else defaults.get("cluster")
    provider = read_option(config, "qmc_cluster") or default_cluster or "none"
    release = read_option(config, "qmc_release")  # explicitly given (flag or env): audit it
    audit_release = release if provider == "existing" and release else None
    worker = getattr(config, "workerinput", {}).get("workerid", "")
    run_id = getattr(config, "workerinput", {}).get("testrunuid", "") or secrets.token_hex(6)
    timeout = read_option(config, "qmc_live_timeout") or 120.0
    if timeout <= 0:
        raise pytest.UsageError(f"--live-timeout {timeout}: must be a positive number of seconds")
    return LiveConfig(
        provider=provider,
        kubeconfig=read_option(config, "kubeconfig") or None,
        context=read_option(config, "qmc_kube_context") or "",
        keep=bool(read_option(config, "keep_cluster")),
        cluster_name=_kind_cluster_name(config),
        rollout_timeout_s=timeout,
        audit_release=audit_release,
        audit_namespace=read_option(config, "qmc_namespace") or "default",
        worker=worker,
        run_id=run_id[:40],
        kind_images=read_option(config, "qmc_kind_images") or "auto",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MUTATES}: installs or upgrades releases (refused in audit mode)")
    live = _live_config(config)
    if live.provider != "none":  # a cluster was asked for: its Python dependencies are the 'live' extra
        from .extras import require_live

        try:
            require_live(
                "kubernetes",
                "pyhelm3",
                *provider_class(live.provider).requires,
                what=f"the live lane (--cluster {live.provider})",
            )
        except UserError as exc:
            raise pytest.UsageError(exc.line()) from None
    config.stash[LIVE_KEY] = LiveRun(live)


def live_run(config: pytest.Config) -> LiveRun:
    return config.stash[LIVE_KEY]


# -- parametrization -----------------------------------------------------------------------------------


def _case_keys(config: pytest.Config) -> tuple[list[Any], list[str]]:
    run = live_run(config)
    if run.config.audit:
        key = ("release", run.config.audit_release, run.config.audit_namespace)
        return [key], [f"{run.config.audit_namespace}/{run.config.audit_release}"]
    session = conformance_session(config)
    keys = session.case_keys()
    return [("values", k) for k in keys], [k.id for k in keys]


def _upgrade_keys(config: pytest.Config) -> tuple[list[Any], list[str]]:
    if live_run(config).config.audit:
        return [("refused",)], ["audit"]
    from .run_inputs import upgrade_session

    session = upgrade_session(config)
    keys = session.keys()
    return [("upgrade", k) for k in keys], [k.id for k in keys]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "live_case" in metafunc.fixturenames:
        keys, ids = _case_keys(metafunc.config)
        if keys:
            metafunc.parametrize("live_case", keys, ids=ids, indirect=True)
        else:
            parametrize_nothing(metafunc, "live_case", "no-values", NO_VALUES_NAMED)
    if "live_upgrade" in metafunc.fixturenames:
        keys, ids = _upgrade_keys(metafunc.config)
        if keys:
            metafunc.parametrize("live_upgrade", keys, ids=ids, indirect=True)
        else:
            parametrize_nothing(metafunc, "live_upgrade", "no-upgrade-pair", NO_PAIR_NAMED)
    if "audit_static_rule" in metafunc.fixturenames:
        run = live_run(metafunc.config)
        ids = sorted(r.id for r in rules_for_lane("static")) if run.config.audit else []
        metafunc.parametrize("audit_static_rule", ids, ids=ids)


def _live_key(item: pytest.Item) -> Any:
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    return callspec.params.get("live_case") or callspec.params.get("live_upgrade")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Group each case's tests for xdist (``loadgroup``): they share one install. Only with xdist loaded: it
    declares the ``xdist_group`` marker, and a run with ``--strict-markers`` but without xdist (``-p no:xdist``,
    or not installed) would stop on an undeclared marker."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        key = _live_key(item)
        if key is not None:
            item.add_marker(pytest.mark.xdist_group(name="live-" + "-".join(str(k) for k in key)))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Count each case's selected tests: its namespace goes when the last one has run."""
    run = live_run(session.config)
    for item in session.items:
        key = _live_key(item)
        if key is not None:
            run.remaining[key] = run.remaining.get(key, 0) + 1


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``-n N`` alone means ``--dist load``; the live lane asks for ``loadgroup`` so a case's tests share one
    install (tests without a group are distributed exactly as by ``load``). Only in runs that asked for the
    conformance work: another project's ``-n`` run keeps xdist's own scheduler."""
    if config.getvalue("dist") != "load" or not conformance_requested(config):
        return None
    from xdist.scheduler import LoadGroupScheduling

    return LoadGroupScheduling(config, log)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if not live_run(item.config).config.audit:
        return
    if item.get_closest_marker(MUTATES) is not None:
        pytest.skip(AUDIT_REFUSAL)
    from .run_inputs import pairs_from_defaults

    names = getattr(item, "fixturenames", ())
    if ("conformance_case" in names and conformance_session(item.config).settings.values_from_defaults) or (
        "upgrade_case" in names and pairs_from_defaults(item.config)
    ):
        pytest.skip(AUDIT_PROJECT_CASES)


def pytest_report_header(config: pytest.Config) -> list[str]:
    run = live_run(config)
    if run.config.audit:
        return [
            f"live lane: AUDIT of release {run.config.audit_namespace}/{run.config.audit_release} "
            "(read-only; tests that install or upgrade are refused)"
        ]
    return [f"live lane: --cluster {run.config.provider}"]


# -- fixtures ------------------------------------------------------------------------------------------


def _writer(config: pytest.Config) -> Callable[[str], None]:
    """Progress lines to the terminal while a test runs (not from xdist workers, not with -q)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or hasattr(config, "workerinput") or config.get_verbosity() < 0:
        return lambda line: None

    def write(line: str) -> None:
        if capture is not None:
            with capture.global_and_fixture_disabled():
                reporter.write_line(line)
        else:
            reporter.write_line(line)

    return write


@pytest.fixture(scope="session")
def live_cluster(request: pytest.FixtureRequest):
    """The session's cluster (a ClusterHandle); skips the live tests with --cluster none."""
    run = live_run(request.config)
    cfg = run.config
    if cfg.provider == "none":
        pytest.skip(
            "live lane not run: --cluster none (pass --cluster kwok|kind|existing, or set QMC_CLUSTER)"
        )
    if run.cluster_error:
        pytest.fail(run.cluster_error, pytrace=False)
    if run.cluster is None:
        from .clusters.processes import shutdown_guard

        request.addfinalizer(run.stop)
        # SIGINT/SIGTERM/atexit: the kwok provider registers itself; the temp dir goes too. No API call from a
        # signal handler: on SIGINT the finalizer above still deletes the namespaces (KeyboardInterrupt unwinds).
        guard = TempDirGuard(run)
        shutdown_guard.register(guard)
        request.addfinalizer(lambda: shutdown_guard.unregister(guard))
        write = _writer(request.config)
        write(f"[live] starting the {cfg.provider} cluster ...")
        try:
            run.cluster = start_cluster(cfg.provider, run_id=cfg.run_id, settings=cfg.settings)
        except UserError as exc:
            run.cluster_error = f"cannot start the {cfg.provider} cluster: {exc.line()}"
            pytest.fail(run.cluster_error, pytrace=False)
        write(
            f"[live] {cfg.provider} cluster {run.cluster.handle.name} ({run.cluster.handle.kube_version}) ready "
            f"in {run.cluster.start_seconds:.1f}s"
        )
    return run.cluster.handle


@pytest.fixture(scope="session")
def live_lane(request: pytest.FixtureRequest, live_cluster) -> LiveLane:
    """Runs the live scenarios on the session's cluster."""
    run = live_run(request.config)
    if run.lane is None:
        assert run.cluster is not None
        session = conformance_session(request.config)
        defaults = request.config.hook.pytest_conformance_defaults(config=request.config) or {}
        prereq = defaults.get("live_prerequisites_dir")
        run.workdir = Path(tempfile.mkdtemp(prefix="qmc-live-"))
        from .live.scenario import LiveLane

        run.lane = LiveLane(
            run.cluster,
            release=session.settings.release,
            options=session.settings.options,
            matcher=session.matcher,
            workdir=run.workdir,
            write=_writer(request.config),
            rollout_timeout_s=run.config.rollout_timeout_s,
            prerequisites_dir=(request.config.rootpath / prereq) if prereq else None,
        )
    return run.lane


def _cached(
    request: pytest.FixtureRequest, key: Any, make: Callable[[], LiveCaseResult]
) -> Iterator[LiveCaseResult]:
    run = live_run(request.config)
    if key in run.errors:
        pytest.fail(run.errors[key], pytrace=False)
    if key not in run.results:
        try:
            run.results[key] = make()
        except UserError as exc:
            run.errors[key] = exc.line()
            pytest.fail(exc.line(), pytrace=False)
    result = run.results[key]
    try:
        yield result
    finally:
        run.remaining[key] = run.remaining.get(key, 1) - 1
        if run.remaining[key] <= 0 and run.lane is not None:
            run.lane.release_case(result)


@pytest.fixture
def live_case(request: pytest.FixtureRequest) -> Iterator[LiveCaseResult]:
    """A values file installed in a namespace of its own (or, in audit mode, the deployed release)."""
    key = request.param
    lane = request.getfixturevalue("live_lane")
    session = conformance_session(request.config)

    def make() -> LiveCaseResult:
        if key[0] == "release":
            from .live.audit import audit_release

            return audit_release(
                lane,
                session.helm(session.settings.helm[0]),
                key[1],
                key[2],
                ingress_url=read_option(request.config, "qmc_ingress_url") or None,
            )
        _, case_key = key
        values = case_key.values
        case = session.case(case_key)
        from .values import load_values

        return lane.install_scenario(
            case_key.id,
            case.chart,
            load_values(values),
            case.renderer.helm,
            prerequisites=(Path(values).stem,),
        )

    yield from _cached(request, key, make)


@pytest.fixture
def live_upgrade(request: pytest.FixtureRequest) -> Iterator[LiveCaseResult]:
    """An upgrade pair really run: the from-side installed, then ``helm upgrade`` to the to-side."""
    key = request.param
    if key[0] == "refused":
        pytest.skip(AUDIT_REFUSAL)
    from .live.evaluation import IMMUTABLE_RULE
    from .run_inputs import upgrade_session

    session = upgrade_session(request.config)
    if session.unavailable(key[1]):  # before the cluster starts: nothing to install
        pytest.skip(session.unavailable(key[1]))
    lane = request.getfixturevalue("live_lane")

    def make() -> LiveCaseResult:
        case = session.case(key[1])
        predicted = session.result(key[1]).findings.get(IMMUTABLE_RULE, [])
        prediction = tuple(f.one_line() for f in predicted if f.verdict == Verdict.FAIL)
        stems = tuple(
            Path(s.values_path).stem for s in (case.pair.from_side, case.pair.to_side) if s.values_path
        )
        return lane.upgrade_scenario(key[1].id, case, prerequisites=stems, prediction=prediction)

    yield from _cached(request, key, make)


def check_live_rule(result: LiveCaseResult, rule_id: str, node: pytest.Item, *, static: bool = False) -> None:
    """Judge the current test by ``rule_id`` on a live case (``live/checks.py``) under the run's strictness."""
    conclude_live_rule(
        result,
        rule_id,
        node,
        strict=conformance_session(node.config).settings.strict,
        finding_properties=finding_properties,
        static=static,
    )


@pytest.fixture
def live_check(request: pytest.FixtureRequest, live_case: LiveCaseResult) -> Callable[[str], None]:
    """``live_check("live.rule-id")`` judges the current live case by that rule."""
    return lambda rule_id: check_live_rule(live_case, rule_id, request.node)


@pytest.fixture
def live_probe_check(request: pytest.FixtureRequest, live_case: LiveCaseResult) -> Callable[[str], None]:
    """``live_probe_check("bus.rule-id")`` judges the current live case by a protocol probe's findings (the bus
    probe through the release's NATS Service, the DDP probe through the ingress); contract and fix come from
    the rule registry, as for the probe suites."""

    def check(rule_id: str) -> None:
        strict = conformance_session(request.config).settings.strict
        conclude_live_probe(live_case, rule_id, request.node, strict=strict)

    return check


@pytest.fixture
def live_upgrade_check(request: pytest.FixtureRequest, live_upgrade: LiveCaseResult) -> Callable[[str], None]:
    return lambda rule_id: check_live_rule(live_upgrade, rule_id, request.node)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    run = config.stash.get(LIVE_KEY, None)
    if run is None or run.cluster is None:
        return
    terminalreporter.section("live lane")
    terminalreporter.write_line(
        f"cluster {run.cluster.handle.name} ({run.config.provider}, "
        f"{run.cluster.handle.kube_version}) started in {run.cluster.start_seconds:.1f}s; "
        f"{len(run.results)} case(s), {len(run.cluster.created)} namespace(s) created"
    )
    strict = conformance_session(config).settings.strict
    for result in run.results.values():
        statuses = {r: status_of(fs, strict=strict) for r, fs in result.findings.items()}
        bad = sorted(r for r, s in statuses.items() if s.blocks)
        warned = sorted(r for r, s in statuses.items() if s == Status.WARN)
        mark = "FAIL" if bad else "WARN" if warned else "ok  "
        terminalreporter.write_line(
            f"  {mark} {result.label}" + (f": {', '.join(bad or warned)}" if bad or warned else "")
        )


def pytest_conformance_report_sections(config: pytest.Config) -> dict[str, Any]:
    """The ``live`` section of ``--conformance-report``: the cluster and each live case's verdicts (redacted)."""
    run = config.stash.get(LIVE_KEY, None)
    if run is None or run.cluster is None or not (run.results or run.errors):
        return {}
    handle = run.cluster.handle
    return {
        "live": {
            "cluster": {
                "name": handle.name,
                "provider": run.config.provider,
                "kube_version": handle.kube_version,
            },
            "audit": run.config.audit,
            "cases": [
                live_case_dict(result, strict=conformance_session(config).settings.strict)
                for result in run.results.values()
            ],
            "errors": [{"case": str(key), "error": error} for key, error in run.errors.items()],
        }
    }
