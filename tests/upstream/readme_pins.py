"""The chart defects that the values each released chart's README documents (fixtures/history, by era) run into:
on every one of the fifteen versions, the error-severity findings of those values are exactly these, each a
chart defect named with its template line, each with the reason it is true.

A values file written as the README says must pass or fail only on these; a values defect there would mean
either a false claim of the tool (fix the rule) or a README that leads to a broken release (pin it here with
the README's words). ``waiver_text`` writes the waiver file a customer would keep for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from upstream_charts import REPO, UPSTREAM_DIR

from quickmeet_conformance.history.eras import Era, load_eras, parse_version, values_for_version

HISTORY = REPO / "fixtures" / "history"
ERAS: list[Era] = load_eras(HISTORY)
VERSIONS: tuple[str, ...] = tuple(
    sorted(
        (
            p.name.removeprefix("rocketchat-")
            for p in UPSTREAM_DIR.glob("rocketchat-*")
            if (p / "Chart.yaml").is_file()
        ),
        key=parse_version,
    )
)
MICROSERVICES = ("microservices", "microservices-scaled")
EVERY = ("monolith", *MICROSERVICES)


def readme_values(version: str) -> tuple[Path, ...]:
    """The values files of the era that holds ``version`` (what its README documents)."""
    era = values_for_version(ERAS, version)
    return era.files if era is not None else ()


@dataclass(frozen=True)
class ChartDefect:
    rule: str
    first: str
    last: str
    stems: tuple[str, ...]
    template: str  # where the chart hard-codes it: what the finding's remedy must name
    resource: str  # the waiver target
    reason: str

    def holds(self, version: str, stem: str) -> bool:
        return (
            parse_version(self.first) <= parse_version(version) <= parse_version(self.last)
            and stem in self.stems
        )


DEFECTS: tuple[ChartDefect, ...] = (
    ChartDefect(
        "streamhub.rollout-never-two",
        "5.3.2",
        "6.27.1",
        MICROSERVICES,
        "templates/microservices-stream-hub-deployment.yaml:23",
        "Deployment/rocketchat-stream-hub",
        "the template writes 'maxSurge: 1' literally for the one stream-hub replica, so every upgrade runs two "
        "hubs for the length of the rollout; no values key reaches it (gone from 6.28.1: app 8 has no stream-hub)",
    ),
    ChartDefect(
        "services.single-component",
        "6.25.1",
        "6.25.1",
        ("monolith",),
        "templates/nats-monitor.yaml:1",
        "Service/rocketchat-nats-metrics",
        "the template's guard reads only nats.exporter.enabled (true by default), never microservices.enabled, "
        "so the README's monolith (microservices off, so no NATS subchart) gets a NATS metrics Service that "
        "selects no pods; workaround nats.exporter.enabled: false",
    ),
    ChartDefect(
        "manifests.kube-schema",
        "6.26.0",
        "6.26.0",
        EVERY,
        "values.yaml:194",
        "Deployment/rocketchat-rocketchat",
        "the chart's own default containerSecurityContext carries fsGroup: 999, which chat-deployment.yaml copies "
        "into the container securityContext, where Kubernetes has no fsGroup (pod level only); 6.27.1 drops it; "
        "workaround containerSecurityContext.fsGroup: null",
    ),
    ChartDefect(
        "helm.dependency-condition",
        "6.26.0",
        "6.31.0",
        ("monolith",),
        "Chart.yaml:13",
        "rocketchat-{version}/Chart.yaml",
        "Chart.yaml gives NATS the condition 'nats.enabled, microservices.enabled' and helm never reads "
        "' microservices.enabled' (the blank), while the README's table says nats.enabled is 'true for "
        "microservices (default), false for monolith' and values.yaml says 'Do not set nats.enabled here': a "
        "README monolith leaves it unset and gets NATS; workaround nats.enabled: false",
    ),
)


def expected(version: str, stem: str) -> dict[str, ChartDefect]:
    return {d.rule: d for d in DEFECTS if d.holds(version, stem)}


def waiver_text(version: str, expires: str) -> str:
    """The waiver file for every chart defect the README values meet on ``version``: rule, target, reason."""
    entries = {
        (d.rule, d.resource.format(version=version)): d
        for path in readme_values(version)
        for d in expected(version, path.stem).values()
    }
    return "".join(
        f"- rule: {rule}\n  target: {target}\n  reason: >-\n    chart {version} {d.template}: {d.reason}\n"
        f"  expires: {expires}\n"
        for (rule, target), d in sorted(entries.items())
    )
