"""The controller-aware Ingress rules and the registry-aware image rule on all fifteen released charts.

Every version is checked with its defaults (the bundled bitnami MongoDB on, no Ingress) and with README-style
values (host, ``ingress.enabled`` with TLS, monolith and microservices) under each modelled controller class
and one unknown class. Each (rule, severity) that fails is pinned in :data:`PINS` with the reason it is true;
anything else failing in these rules is a false claim or a new defect to name.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from upstream_charts import UPSTREAM_DIR

from quickmeet_conformance.charts import load_chart
from quickmeet_conformance.pipeline import Case, evaluate_case

ALL_VERSIONS = tuple(
    sorted(
        (
            p.name.removeprefix("rocketchat-")
            for p in UPSTREAM_DIR.glob("rocketchat-*")
            if (p / "Chart.yaml").is_file()
        ),
        key=lambda v: tuple(int(x) for x in v.split(".")),
    )
)
RULES = (
    "ingress.websocket-to-ddp-streamer",
    "ingress.root-to-monolith",
    "ingress.controller-known",
    "ingress.websocket-controller-needs",
    "components.images",
)
CLASSES = ("nginx", "traefik", "alb", "gce", "haproxy", "contour", "acme-edge")


def readme_values(mode: str, ingress_class: str | None) -> dict:
    """Values as each version's README writes them: host, the Ingress with TLS for it, the mode; external
    MongoDB for microservices (the README's production advice), the bundled one for the monolith."""
    values: dict = {
        "host": "chat.example.com",
        # every version's secret.yaml fails without a root password, even with an external MongoDB
        "mongodb": {"auth": {"passwords": ["rcpass"], "rootPassword": "rootpass"}},
        "microservices": {"enabled": mode == "microservices"},  # 6.26.0 and later default it to true
    }
    if ingress_class is not None:
        values["ingress"] = {
            "enabled": True,
            "ingressClassName": ingress_class,
            "tls": [{"secretName": "chat-tls", "hosts": ["chat.example.com"]}],
        }
    if mode == "microservices":
        values["mongodb"]["enabled"] = False
        values["externalMongodbUrl"] = (
            "mongodb://rocketchat:rcpass@mongo-0.mongo:27017/rocketchat?replicaSet=rs0"
        )
        # the oplog URL the 5.x-6.2x READMEs ask for (later versions do not read it)
        values["externalMongodbOplogUrl"] = (
            "mongodb://oplog:oplogpass@mongo-0.mongo:27017/local?replicaSet=rs0&authSource=admin"
        )
    return values


CASES = [("defaults", None)] + [
    (f"{mode}-{cls}", cls) for mode in ("monolith", "microservices") for cls in CLASSES
]

# (rule, severity) -> (values stems it shows on, why it is true); the same on every version unless listed
WHY_GKE = (
    "GKE's backend service timeout (30 s without a BackendConfig) is the longest a WebSocket stays open; the chart "
    "attaches no BackendConfig to the Service behind /websocket, so a gce user's DDP sessions are cut every 30 s"
)
WHY_CONTOUR = (
    "Contour upgrades connections only on the paths listed in projectcontour.io/websocket-routes; the chart sets "
    "no such annotation (ingress.annotations is empty by default), so /websocket is served as plain HTTP"
)
WHY_ALB_ORDER = (
    "the chart's templates/ingress.yaml lists ingress.path (/) before /sockjs and /websocket; the AWS Load "
    "Balancer Controller before v2.4.3 keeps the listed order, so / takes the WebSocket paths there (v2.4.3 and "
    "later order the longest Prefix first: no routing error)"
)
WHY_UNKNOWN = (
    "class acme-edge names no modelled controller: the tool says so and judges routing by the Kubernetes API's "
    "precedence instead of assuming nginx"
)
PINS: dict[tuple[str, str], tuple[tuple[str, ...], str]] = {
    ("ingress.websocket-controller-needs", "warning"): (
        (
            "monolith-gce",
            "microservices-gce",
            "monolith-contour",
            "microservices-contour",
            "microservices-alb",
        ),
        f"gce: {WHY_GKE}; contour: {WHY_CONTOUR}; alb (microservices only): {WHY_ALB_ORDER}",
    ),
    ("ingress.controller-known", "warning"): (("monolith-acme-edge", "microservices-acme-edge"), WHY_UNKNOWN),
}


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_ingress_and_image_findings_are_the_pinned_ones(version, renderer, tmp_path: Path):
    chart = load_chart(
        str(UPSTREAM_DIR / f"rocketchat-{version}"),
        version=None,
        helm_path=renderer.helm.path,
        workdir=tmp_path,
    )
    unexplained, missing = [], []
    for stem, ingress_class in CASES:
        mode = stem.split("-", 1)[0]
        path = tmp_path / f"{stem}.yaml"
        path.write_text(yaml.safe_dump({} if stem == "defaults" else readme_values(mode, ingress_class)))
        result = evaluate_case(Case(chart, str(path), renderer))
        assert result.input_error is None, f"{version} {stem}: {result.input_error}"
        if stem != "defaults":
            assert result.topology is not None, (
                f"{version} {stem}: the chart did not render these README values"
            )
        found = {
            (rule_id, f.severity.value): f.one_line()
            for rule_id in RULES
            for f in result.findings.get(rule_id, [])
            if f.failed
        }
        for key, line in found.items():
            stems, _ = PINS.get(key, ((), ""))
            if stem not in stems:
                unexplained.append(f"{stem}: {key[0]} ({key[1]}): {line}")
        for key, (stems, why) in PINS.items():
            if stem in stems and key not in found:
                missing.append(f"{stem}: {key[0]} ({key[1]}) no longer found ({why})")
    assert not unexplained and not missing, f"rocketchat-{version} ({renderer.helm.label}):\n" + "\n".join(
        unexplained + missing
    )
