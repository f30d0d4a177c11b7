"""The public rocketchat chart as released (../shared/upstream-charts beside the repository), the values
files written for it (fixtures/upstream/<version>/), and the defects the tool finds in it on purpose.

A correct release of the public chart gives no error-severity finding except the defects listed here:
each one names its rule, the values files it shows on, why it is a real defect and the contract line.
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
        "maxSurge 1 (maxUnavailable 1) on one replica: the new hub starts before the old one stops, so two "
        "hubs read the change stream during every upgrade (6.29.0 removes stream-hub on app 8)",
        contract="CONTRACT.md > Upgrades: stream-hub must never run two pods at once, not even during a "
        "rollout: a RollingUpdate with maxSurge >= 1 on a one-replica Deployment briefly runs two",
    ),
)


def expected_defects(version: str, values_stem: str) -> dict[str, Defect]:
    return {d.rule: d for d in DEFECTS if d.version == version and values_stem in d.values}
