"""The public rocketchat chart as released (../shared/upstream-charts beside the repository), the values
files written for it (fixtures/upstream/<version>/), and the defects the tool finds in it on purpose.

A correct release of the public chart gives no error-severity finding except the defects listed here:
each one names its rule, the values files it shows on, why it is a real defect and the contract line. The
warnings it gives are pinned too (WARNINGS), each with the reason it shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UPSTREAM_DIR = REPO.parent / "shared" / "upstream-charts"
VALUES_DIR = REPO / "fixtures" / "upstream"
VERSIONS = ("6.27.1", "6.29.0")
MICROSERVICES = ("microservices", "microservices-scaled")


def chart_dir(version: str) -> Path:
    return UPSTREAM_DIR / f"rocketchat-{version}"


def values_files(version: str) -> list[Path]:
    return sorted((VALUES_DIR / version).glob("*.yaml"))


def require_upstream(version: str) -> Path:
    """The chart directory, or skip with the reason (the directory ships beside the repository in CI)."""
    path = chart_dir(version)
    if not (path / "Chart.yaml").is_file():
        pytest.skip(
            f"public chart {version} not found at {path} (expected ../shared/upstream-charts beside "
            "the repository)"
        )
    return path


@dataclass(frozen=True)
class Defect:
    version: str
    rule: str
    values: tuple[str, ...]  # values file stems it shows on
    reason: str
    contract: str


DEFECTS: tuple[Defect, ...] = (
    Defect(
        "6.27.1",
        "streamhub.rollout-never-two",
        MICROSERVICES,
        reason="templates/microservices-stream-hub-deployment.yaml rolls stream-hub out with RollingUpdate "
        "maxSurge 1, maxUnavailable 0 on one replica: the new hub starts before the old one stops, so two "
        "hubs read the change stream during every upgrade (6.29.0 removes stream-hub on app 8)",
        contract="CONTRACT.md > Upgrades: stream-hub must never run two pods at once, not even during a "
        "rollout: a RollingUpdate with maxSurge >= 1 on a one-replica Deployment briefly runs two",
    ),
)


DEFECTS += tuple(
    Defect(
        version,
        "helm.dependency-condition",
        ("monolith",),
        reason="Chart.yaml gives nats the condition 'nats.enabled, microservices.enabled'; helm splits it on ',' "
        "without trimming, so it looks up ' microservices.enabled' (never set) and, with nats.enabled unset, "
        "enables NATS: the monolith (microservices.enabled: false) gets a NATS StatefulSet and nats-box that "
        "values.yaml's own comment says it should not (see tests/upstream/helm_semantics_pins.py)",
        contract="CONTRACT.md > Helm's semantics that a check must reproduce: helm splits the list on ',' "
        "without trimming, so 'a, b' never reads 'b'",
    )
    for version in VERSIONS
)


def expected_defects(version: str, values_stem: str) -> dict[str, Defect]:
    return {d.rule: d for d in DEFECTS if d.version == version and values_stem in d.values}


@dataclass(frozen=True)
class Warned:
    """A warning-severity finding the public chart gives with a values file: true, and why it shows."""

    versions: tuple[str, ...]
    rule: str
    values: tuple[str, ...]  # values file stems it shows on
    reason: str


EVERY_VALUES_FILE = ("monolith", *MICROSERVICES)

WARNINGS: tuple[Warned, ...] = (
    Warned(
        VERSIONS,
        "hygiene.resources",
        EVERY_VALUES_FILE,
        reason="the chart's defaults set no resources: 'resources: {}' for every microservice (values.yaml "
        "~353-396 in 6.27.1, ~351-399 in 6.29.0) and the monolith's '# resources:' is commented out; the "
        "values files set none either. A values choice (production sizing), not a chart defect",
    ),
    Warned(
        VERSIONS,
        "services.target-port",
        EVERY_VALUES_FILE,
        reason="the NATS subchart's Service (charts/nats/templates/service.yaml) always exposes leafnodes 7422 "
        "and gateways 7522, while its values keep leafnodes.enabled and gateway.enabled false, so no NATS "
        "server listens there; harmless for QuickMeet.Chat, which uses only 4222",
    ),
    Warned(
        VERSIONS,
        "env.retry-enabled",
        MICROSERVICES,
        reason="templates/chat-deployment.yaml (in microservices mode) and every microservices-*-deployment.yaml "
        "hard-code RETRY_ENABLED: 'yes'; the server honours only the exact string 'true' (CONTRACT.md > "
        "Wiring: known env-value traps)",
    ),
    Warned(
        VERSIONS,
        "rollout.ddp-streamer-keeps-one",
        ("microservices",),
        reason="templates/microservices-ddp-streamer-deployment.yaml rolls out with maxUnavailable 1, and "
        "microservices.yaml keeps the chart's one ddp-streamer replica: every WebSocket server may be down at "
        "once during an upgrade (microservices-scaled runs 4 replicas, so it keeps some)",
    ),
)


WARNINGS += (
    Warned(
        VERSIONS,
        "helm.dependency-condition",
        MICROSERVICES,
        reason="the same unreadable condition ('nats.enabled, microservices.enabled'); with microservices on, NATS "
        "is enabled either way, so only a warning for the chart's maintainers",
    ),
    Warned(
        VERSIONS,
        "helm.unused-subchart",
        ("monolith",),
        reason="the NATS subchart that the unreadable condition enables in the monolith is named by no template "
        "of the release (the monolith gets no TRANSPORTER): it runs for nothing",
    ),
)


def expected_findings(version: str, values_stem: str) -> dict[tuple[str, str], str]:
    """(rule id, severity) of every failing finding the values file gives, with the reason it is expected."""
    expected = {(d.rule, "error"): d.reason for d in expected_defects(version, values_stem).values()}
    expected.update(
        {(w.rule, "warning"): w.reason for w in WARNINGS if version in w.versions and values_stem in w.values}
    )
    return expected
