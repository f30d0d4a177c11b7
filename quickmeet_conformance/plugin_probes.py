"""pytest wiring of the protocol-probe lane: options, fixtures and the report hook only (the probes live in
quickmeet_conformance.probes, their rules in quickmeet_conformance.probes.rules).

Targets come from ``--nats-url`` / ``--ingress-url`` (or their environment variables). Without
``--bus-expect`` the expected node counts come from the topology the session built of the chart and the
first ``--values`` file: one bus node per ready pod of each component. A live-cluster lane may override
``nats_url``, ``ingress_url``, ``bus_expectations`` (adding pod names) or the observations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .assertions import check_probe as conclude_probe
from .options import OptionSpec, add_options, read_option
from .plugin_stash import PROBE_RESULTS_KEY
from .probes import ProbeResult
from .probes.context import BusContext, DdpContext, ProbeContext
from .probes.ddp import DdpObservation, DdpProbeOptions, observe_ddp_sync, parse_connect_to
from .probes.nats_bus import (
    COMPONENT_SERVICES,
    BusExpectations,
    BusObservation,
    BusProbeOptions,
    counts_from_topology,
    observe_bus_sync,
    parse_bus_expect,
    presence_only_counts,
)
from .rules.engine import Options

NO_TARGET = "no --{flag} given and no live cluster with running containers (KWOK runs no containers)"

OPTIONS = [
    OptionSpec(
        "qmc_nats_url",
        "--nats-url",
        "QMC_NATS_URL",
        "NATS URL of a running release (nats://[user:pass@]host:4222) for the bus probe",
    ),
    OptionSpec(
        "qmc_ingress_url",
        "--ingress-url",
        "QMC_INGRESS_URL",
        "base URL of the release's ingress (https://chat.example.com) for the WebSocket probe",
    ),
    OptionSpec(
        "qmc_bus_namespace",
        "--bus-namespace",
        "QMC_MS_NAMESPACE",
        "MS_NAMESPACE of the release (subjects MOL-<ns>.*)",
    ),
    OptionSpec(
        "qmc_bus_expect",
        "--bus-expect",
        "QMC_BUS_EXPECT",
        "expected bus nodes per component, e.g. monolith=2,ddp-streamer=2,stream-hub=1 "
        f"(components: {', '.join(COMPONENT_SERVICES)}); default: each microservice present, counts unchecked, "
        "stream-hub not required",
    ),
    OptionSpec(
        "qmc_bus_heartbeat_interval",
        "--bus-heartbeat-interval",
        "QMC_BUS_HEARTBEAT_INTERVAL",
        "the release's Moleculer heartbeat interval in seconds (default 10); the probe listens for two",
        {"type": float},
    ),
    OptionSpec(
        "qmc_ingress_ca_bundle",
        "--ingress-ca-bundle",
        "QMC_INGRESS_CA_BUNDLE",
        "PEM CA bundle to verify the ingress certificate",
    ),
    OptionSpec(
        "qmc_ingress_insecure",
        "--ingress-insecure",
        "QMC_INGRESS_INSECURE",
        "do not verify the ingress certificate",
        {"action": "store_true"},
    ),
    OptionSpec(
        "qmc_ingress_connect_to",
        "--ingress-connect-to",
        "QMC_INGRESS_CONNECT_TO",
        "HOST:PORT to dial instead of the ingress URL's host (keeps Host, SNI and certificate checks on the "
        "URL's name)",
    ),
]


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser, OPTIONS, "conformance-probes", "QuickMeet.Chat protocol probes")


@pytest.fixture(scope="session")
def nats_url(pytestconfig: pytest.Config) -> str:
    url = read_option(pytestconfig, "qmc_nats_url")
    if not url:
        pytest.skip(NO_TARGET.format(flag="nats-url"))
    return str(url)


@pytest.fixture(scope="session")
def ingress_url(pytestconfig: pytest.Config) -> str:
    url = read_option(pytestconfig, "qmc_ingress_url")
    if not url:
        pytest.skip(NO_TARGET.format(flag="ingress-url"))
    return str(url)


def rendered_bus_counts(config: pytest.Config) -> tuple[dict[str, int | None], str]:
    """Expected bus nodes per component from the topology the session built of the first case (the chart and
    the first values file), and where that came from; without one, presence only."""
    from .run_inputs import conformance_session

    session = conformance_session(config)
    keys = session.case_keys() if session.settings.chart else []
    if keys:
        result = session.result(keys[0])
        if result.topology is not None:
            source = f"rendered from {result.case.values_path} ({result.case.chart.label})"
            return counts_from_topology(result.topology), source
    return presence_only_counts(), "no chart rendered: presence only"


@pytest.fixture(scope="session")
def bus_expectations(pytestconfig: pytest.Config) -> BusExpectations:
    """From --bus-expect, else from the rendered chart and values (how many nodes of each service).
    Pod names are unknown here (--nats-url mode): a live-cluster lane overrides this fixture to add them."""
    namespace = read_option(pytestconfig, "qmc_bus_namespace") or ""
    given = read_option(pytestconfig, "qmc_bus_expect")
    if given:
        try:
            asked = parse_bus_expect(given)
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None
        return BusExpectations.from_counts(asked, namespace=namespace)
    counts, _source = rendered_bus_counts(pytestconfig)
    return BusExpectations.from_counts(counts, namespace=namespace)


@pytest.fixture(scope="session")
def bus_observation(
    nats_url: str, bus_expectations: BusExpectations, pytestconfig: pytest.Config
) -> BusObservation:
    """Discovery waits for the expected count of each component (or the heartbeat timeout, three intervals)."""
    interval = read_option(pytestconfig, "qmc_bus_heartbeat_interval") or 10.0
    return observe_bus_sync(
        nats_url,
        BusProbeOptions(
            namespace=bus_expectations.namespace, heartbeat_interval=interval, expect=bus_expectations
        ),
    )


@pytest.fixture(scope="session")
def ddp_observation(ingress_url: str, pytestconfig: pytest.Config) -> DdpObservation:
    connect_to = None
    if raw := read_option(pytestconfig, "qmc_ingress_connect_to"):
        try:
            connect_to = parse_connect_to(str(raw))
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None
    options = DdpProbeOptions(
        ca_bundle=read_option(pytestconfig, "qmc_ingress_ca_bundle") or "",
        insecure=bool(read_option(pytestconfig, "qmc_ingress_insecure")),
        connect_to=connect_to,
    )
    return observe_ddp_sync(ingress_url, options)


def _run_options(config: pytest.Config) -> Options:
    """The run's options (its --waivers / QMC_WAIVERS among them), as every lane's context carries them."""
    from .run_inputs import conformance_session

    return conformance_session(config).settings.options


@pytest.fixture(scope="session")
def bus_context(
    bus_observation: BusObservation, bus_expectations: BusExpectations, pytestconfig: pytest.Config
) -> BusContext:
    """What the bus rules judge: the bus observation and the expectations (and the run's waivers)."""
    return BusContext(bus_observation, bus_expectations, options=_run_options(pytestconfig))


@pytest.fixture(scope="session")
def ddp_context(ddp_observation: DdpObservation, pytestconfig: pytest.Config) -> DdpContext:
    """What the WebSocket rules judge: the DDP observation (and the run's waivers)."""
    return DdpContext(ddp_observation, options=_run_options(pytestconfig))


def probe_results(config: pytest.Config) -> list[ProbeResult]:
    """The probe rules judged in this run (for the JSON report and SARIF)."""
    return config.stash.setdefault(PROBE_RESULTS_KEY, [])


@pytest.fixture
def check_probe(request: pytest.FixtureRequest) -> Callable[[ProbeContext, str], None]:
    """``check_probe(ctx, rule_id)``: judge the probe's context by one probe rule (through the rule engine), then
    pass, skip, warn or fail the test from its findings."""
    from .run_inputs import conformance_session

    strict = conformance_session(request.config).settings.strict  # the flag or QMC_STRICT, as in every lane

    def check(ctx: ProbeContext, rule_id: str) -> None:
        from .probes.rules import evaluate_probe_rule  # the probe lane's rules load with their first use
        from .reports.junit import finding_properties

        findings = evaluate_probe_rule(ctx, rule_id)
        target = ctx.target
        probe_results(request.config).append(ProbeResult(target, tuple(findings)))
        for judged in sorted({f.rule_id for f in findings}):  # JUnit: the evidence of each failed finding
            request.node.user_properties += finding_properties(judged, list(findings))
        conclude_probe(findings, target=target, strict=strict, properties=request.node.user_properties)

    return check


def pytest_conformance_report_sections(config: pytest.Config) -> dict[str, Any]:
    """The ``probes`` section of ``--conformance-report``: each probe rule, its target and findings."""
    from .reports.probes import probe_results_dict
    from .run_inputs import conformance_session

    results = config.stash.get(PROBE_RESULTS_KEY, [])
    if not results:
        return {}
    return {"probes": probe_results_dict(results, strict=conformance_session(config).settings.strict)}
