"""What the rules on helm's own semantics and on release-wide settings find on the fifteen released charts
(../shared/upstream-charts), with values written the way each version's README says, and why each is true.

The values are built here per version (README_VALUES): the README's minimum (MongoDB passwords), the README's
registration token (``--set ...,registrationToken=<token>``), the monolith the values.yaml comments of 6.26.0+
describe ("microservices.enabled: false, nats.enabled: nil = Monolith RC without NATS"), and the README's
"common tolerations [, nodeSelector and affinity] to all deployments" under ``global`` (6.13.0+; nodeSelector and
affinity from 6.24.0). Consecutive versions are upgrades users made: the upgrade lane's rules run on each pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ALL_VERSIONS = (
    "5.3.2",
    "5.4.3",
    "6.3.4",
    "6.8.4",
    "6.13.0",
    "6.18.2",
    "6.22.2",
    "6.24.0",
    "6.25.1",
    "6.26.0",
    "6.27.1",
    "6.28.1",
    "6.29.0",
    "6.30.0",
    "6.31.0",
)
PAIRS = tuple(zip(ALL_VERSIONS, ALL_VERSIONS[1:], strict=False))
RULES = (
    "helm.install-only",
    "helm.dependency-condition",
    "helm.unused-subchart",
    "release.settings-reach-every-workload",
    "release.backend-settings-shared",
)
UPGRADE_RULES = ("upgrade.install-only", "upgrade.reuse-values-needed-keys")


def _v(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split("."))


MINIMUM = {"mongodb": {"auth": {"passwords": ["rocketchat"], "rootPassword": "rocketchatroot"}}}
TOLERATION = {"key": "dedicated", "operator": "Equal", "value": "rocketchat", "effect": "NoSchedule"}
AFFINITY = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}]}
            ]
        }
    }
}


def readme_values(version: str) -> dict[str, dict[str, Any]]:
    """values file stem -> values, as that version's README (and values.yaml comments) write them."""
    files: dict[str, dict[str, Any]] = {
        "readme": MINIMUM,
        "readme-registration": {**MINIMUM, "registrationToken": "0123456789abcdef0123"},
        # README "Configuring Additional Environment Variables", in microservices mode
        "readme-mongo-options": {
            **MINIMUM,
            "microservices": {"enabled": True},
            "extraEnv": '- name: MONGO_OPTIONS\n  value: \'{"ssl": "true"}\'\n',
        },
    }
    if _v(version) >= (6, 26, 0):
        files["readme-monolith"] = {**MINIMUM, "microservices": {"enabled": False}}
    if _v(version) >= (6, 13, 0):
        wide: dict[str, Any] = {"tolerations": [TOLERATION]}
        if _v(version) >= (6, 24, 0):
            wide |= {"nodeSelector": {"dedicated": "rocketchat"}, "affinity": AFFINITY}
        files["readme-global"] = {**MINIMUM, "microservices": {"enabled": True}, "global": wide}
    return files


@dataclass(frozen=True)
class Pin:
    """A failing finding (rule, severity) expected on the versions and values files named, and why it is true."""

    rule: str
    severity: str
    versions: tuple[str, ...]
    values: tuple[str, ...]
    reason: str
    says: str = ""  # a fragment its message must contain


FROM_6_13 = tuple(v for v in ALL_VERSIONS if _v(v) >= (6, 13, 0))
FROM_6_24 = tuple(v for v in ALL_VERSIONS if _v(v) >= (6, 24, 0))
FROM_6_26 = tuple(v for v in ALL_VERSIONS if _v(v) >= (6, 26, 0))
HOOK_ERA = tuple(v for v in FROM_6_13 if _v(v) < (6, 26, 0))  # templates/hook-verify-mongodb-version.yaml
BEFORE_6_26 = tuple(v for v in ALL_VERSIONS if _v(v) < (6, 26, 0))

PINS: tuple[Pin, ...] = (
    Pin(
        "release.backend-settings-shared",
        "warning",
        ALL_VERSIONS,
        ("readme-mongo-options",),
        reason="the README's extraEnv (MONGO_OPTIONS) reaches only templates/chat-deployment.yaml; the "
        "microservices-*-deployment.yaml templates connect to the same MongoDB (MONGO_URL) and read no extraEnv "
        "(no values key adds env to them), so options such as TLS the monolith uses are missing there",
        says="no values key of this chart reaches them",
    ),
    Pin(
        "helm.install-only",
        "warning",
        ALL_VERSIONS,
        ("readme-registration",),
        reason="templates/chat-deployment.yaml: '{{- if and .Values.registrationToken .Release.IsInstall }}' "
        "emits env REG_TOKEN on install only; the first helm upgrade with the README's values removes it and "
        "restarts the pods without it (the token registers the workspace once, so a warning: the release keeps "
        "working, but its pod template changes on an upgrade that changed nothing)",
        says="REG_TOKEN",
    ),
    Pin(
        "helm.dependency-condition",
        "warning",
        FROM_6_26,
        ("readme", "readme-registration", "readme-global", "readme-mongo-options"),
        reason="Chart.yaml: nats has condition 'nats.enabled, microservices.enabled'; helm splits on ',' without "
        "trimming, so the second path is the key ' microservices.enabled' that no values set. With "
        "microservices on, NATS is enabled anyway (no path resolves, so enabled): harmless here, a maintainer bug",
        says="' microservices.enabled'",
    ),
    Pin(
        "helm.dependency-condition",
        "error",
        FROM_6_26,
        ("readme-monolith",),
        reason="the same condition with microservices.enabled: false: values.yaml promises 'microservices.enabled: "
        "false, nats.enabled: nil/false = Monolith RC without NATS', but helm never reads microservices.enabled "
        "here, so NATS (StatefulSet + nats-box) is deployed with the monolith (helm template shows "
        "charts/nats/templates/*)",
        says="here it matters",
    ),
    Pin(
        "helm.unused-subchart",
        "warning",
        FROM_6_26,
        ("readme-monolith",),
        reason="the NATS subchart renders in the monolith (condition above) and no template of the release names "
        "its Service rocketchat-nats (the monolith gets no TRANSPORTER): it runs for nothing",
        says="subchart nats",
    ),
    Pin(
        "release.settings-reach-every-workload",
        "warning",
        FROM_6_13,
        ("readme-global",),
        reason="global.tolerations (README: 'common tolerations to all deployments') reaches the chart's own "
        "workloads through rocketchat.tolerations, but the NATS 0.15.1 subchart reads only nats.tolerations / "
        "nats.natsbox.tolerations and bitnami MongoDB only mongodb.tolerations (neither reads a global "
        "toleration); 6.31.0's values.yaml anchors (&tolerations) are resolved when the chart's own values.yaml "
        "is parsed, so a user's values file does not reach nats through them. Keys exist: a warning naming them",
        says="values keys that reach them",
    ),
    Pin(
        "release.settings-reach-every-workload",
        "error",
        HOOK_ERA,
        ("readme-global",),
        reason="templates/hook-verify-mongodb-version.yaml (until 6.25.1) is a pre-upgrade hook Job whose pod reads "
        "only $.Values.tolerations (and no nodeSelector/affinity), never global.*: on nodes tainted as the README "
        "describes, its pod cannot schedule and every helm upgrade waits for it until it times out",
        says="Job/rocketchat-rocketchat-pre-upgrade",
    ),
    Pin(
        "release.settings-reach-every-workload",
        "error",
        FROM_6_24,
        ("readme-global",),
        reason="global.affinity (README 6.24.0+: 'common ... affinity to all deployments') never reaches the "
        "monolith: templates/chat-deployment.yaml writes 'affinity:' only '{{- if or .Values.podAntiAffinity "
        ".Values.affinity }}' and includes rocketchat.nodeAffinity only under 'if .Values.affinity', so the "
        "helper's global fallback is dead code for Deployment/rocketchat-rocketchat (the microservices get it)",
        says="Deployment/rocketchat-rocketchat",
    ),
)


@dataclass(frozen=True)
class UpgradePin:
    rule: str
    severity: str
    pairs: tuple[tuple[str, str], ...]
    values: tuple[str, ...]
    reason: str
    says: str = ""


UPGRADE_PINS: tuple[UpgradePin, ...] = (
    UpgradePin(
        "upgrade.install-only",
        "warning",
        PAIRS,
        ("readme-registration",),
        reason="the old version installed env REG_TOKEN; the new version's chat-deployment.yaml emits it only "
        "when .Release.IsInstall, so this upgrade with the same README values removes it",
        says="REG_TOKEN",
    ),
)


def expected(version: str, stem: str) -> dict[tuple[str, str], list[Pin]]:
    found: dict[tuple[str, str], list[Pin]] = {}
    for p in PINS:
        if version in p.versions and stem in p.values:
            found.setdefault((p.rule, p.severity), []).append(p)
    return found


def expected_upgrade(pair: tuple[str, str], stem: str) -> dict[tuple[str, str], list[UpgradePin]]:
    found: dict[tuple[str, str], list[UpgradePin]] = {}
    for p in UPGRADE_PINS:
        if pair in p.pairs and stem in p.values:
            found.setdefault((p.rule, p.severity), []).append(p)
    return found
