"""pytest wiring of the protocol-probe lane: options and fixtures only (the probes live in
quickmeet_conformance.probes).

Targets come from ``--nats-url`` / ``--ingress-url`` (or their environment variables). Without
``--bus-expect`` the expected node counts come from the rendered chart and values (the first
``--values`` file): one bus node per ready pod of each component. A live-cluster lane may override
``nats_url``, ``ingress_url`` and ``bus_expectations`` (adding pod names).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .assertions import check_probe as conclude_probe
from .findings import Finding
from .options import OptionSpec, add_options, read_option
from .plugin_stash import PROBE_RESULTS_KEY
from .probes import ProbeResult
from .probes.ddp import DdpObservation, DdpProbeOptions, observe_ddp_sync
from .probes.nats_bus import (
    COMPONENT_SERVICES,
    STREAM_HUB,
    BusExpectations,
    BusObservation,
    BusProbeOptions,
    observe_bus_sync,
)

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


def _option(config: pytest.Config, flag: str) -> Any:
    """Flag, else environment variable; None when neither."""
    return read_option(config, OPTIONS, next(spec.dest for spec in OPTIONS if spec.flag == flag)) or None


def parse_bus_expect(text: str) -> dict[str, int]:
    """``monolith=2,ddp-streamer=3`` -> {"monolith": 2, "ddp-streamer": 3}; a bad item is a usage error."""
    counts: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, number = item.partition("=")
        if not sep or name not in COMPONENT_SERVICES or not number.isdigit():
            raise pytest.UsageError(
                f"--bus-expect item {item!r} is not COMPONENT=COUNT (components: {', '.join(COMPONENT_SERVICES)})"
            )
        counts[name] = int(number)
    return counts


@pytest.fixture(scope="session")
def nats_url(pytestconfig: pytest.Config) -> str:
    url = _option(pytestconfig, "--nats-url")
    if not url:
        pytest.skip(NO_TARGET.format(flag="nats-url"))
    return str(url)


@pytest.fixture(scope="session")
def ingress_url(pytestconfig: pytest.Config) -> str:
    url = _option(pytestconfig, "--ingress-url")
    if not url:
        pytest.skip(NO_TARGET.format(flag="ingress-url"))
    return str(url)


def rendered_bus_counts(config: pytest.Config) -> tuple[dict[str, int | None], str]:
    """Expected bus nodes per component from the rendered chart and the first values file, and where
    that came from; without a renderable chart, every component but stream-hub, counts unchecked."""
    from .plugin import conformance_session
    from .topology import BUS_CLIENTS

    session = conformance_session(config)
    keys = session.case_keys() if session.settings.chart else []
    if keys:
        result = session.result(keys[0])
        if result.rendered is not None:
            from .topology import build_topology

            topology = build_topology(result.rendered.manifests, session.matcher)
            counts: dict[str, int | None] = {}
            for component in BUS_CLIENTS:
                workloads = topology.components(component)
                if workloads:
                    counts[component] = sum(w.effective_replicas for w in workloads)
            return counts, f"rendered from {result.case.values_path} ({result.case.chart.label})"
    # stream-hub depends on the app version (CONTRACT.md > Components): only required when asked for.
    return {c: None for c in COMPONENT_SERVICES if c != STREAM_HUB}, "no chart rendered: presence only"


@pytest.fixture(scope="session")
def bus_expectations(pytestconfig: pytest.Config) -> BusExpectations:
    """From --bus-expect, else from the rendered chart and values (how many nodes of each service).
    Pod names are unknown here (--nats-url mode): a live-cluster lane overrides this fixture to add them."""
    namespace = _option(pytestconfig, "--bus-namespace") or ""
    given = _option(pytestconfig, "--bus-expect")
    if given:
        return BusExpectations.from_counts(parse_bus_expect(given), namespace=namespace)
    counts, _source = rendered_bus_counts(pytestconfig)
    return BusExpectations.from_counts(counts, namespace=namespace)


@pytest.fixture(scope="session")
def bus_observation(
    nats_url: str, bus_expectations: BusExpectations, pytestconfig: pytest.Config
) -> BusObservation:
    interval = _option(pytestconfig, "--bus-heartbeat-interval") or 10.0
    return observe_bus_sync(
        nats_url, BusProbeOptions(namespace=bus_expectations.namespace, heartbeat_interval=interval)
    )


@pytest.fixture(scope="session")
def ddp_observation(ingress_url: str, pytestconfig: pytest.Config) -> DdpObservation:
    connect_to = None
    if raw := _option(pytestconfig, "--ingress-connect-to"):
        host, _, port = str(raw).rpartition(":")
        if not host or not port.isdigit():
            raise pytest.UsageError(f"--ingress-connect-to {raw!r} is not HOST:PORT")
        connect_to = (host, int(port))
    options = DdpProbeOptions(
        ca_bundle=_option(pytestconfig, "--ingress-ca-bundle") or "",
        insecure=bool(_option(pytestconfig, "--ingress-insecure")),
        connect_to=connect_to,
    )
    return observe_ddp_sync(ingress_url, options)


def probe_results(config: pytest.Config) -> list[ProbeResult]:
    """The probe rules judged in this run (for the JSON report and SARIF)."""
    return config.stash.setdefault(PROBE_RESULTS_KEY, [])


@pytest.fixture
def check_probe(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``check_probe(findings, target=...)``: pass, skip, warn or fail the test from one probe rule's findings."""
    from .plugin import conformance_session

    strict = conformance_session(request.config).settings.strict  # the flag or QMC_STRICT, as in every lane

    def check(findings: list[Finding], *, target: str) -> None:
        from .reports.junit import finding_properties

        probe_results(request.config).append(ProbeResult(target, tuple(findings)))
        for rule_id in sorted({f.rule_id for f in findings}):  # JUnit: the evidence of each failed finding
            request.node.user_properties += finding_properties(rule_id, list(findings))
        conclude_probe(findings, target=target, strict=strict, properties=request.node.user_properties)

    return check


def pytest_conformance_report_sections(config: pytest.Config) -> dict[str, Any]:
    """The ``probes`` section of ``--conformance-report``: each probe rule, its target and findings."""
    from .plugin import conformance_session
    from .reports.probes import probe_results_dict

    results = config.stash.get(PROBE_RESULTS_KEY, [])
    if not results:
        return {}
    return {"probes": probe_results_dict(results, strict=conformance_session(config).settings.strict)}
