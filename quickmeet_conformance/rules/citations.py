"""The public document each rule cites for a customer: the chart's README and values, the Rocket.Chat docs,
the Kubernetes, Helm, MongoDB, NATS and ingress controllers' docs.

A rule's ``contract`` names the section of CONTRACT.md it enforces, a file the project keeps and a customer
does not have: user-facing output cites the rule's ``doc`` instead (text, JSON, SARIF ``helpUri``, HTML,
Markdown, JUnit), and ``conformance explain --verbose`` shows both. A rule declared without ``doc=`` gets
the document of its id here: the most specific entry wins (the whole id, else its topic, the part before
the first dot), so a new rule of a known topic is cited without a change here.
"""

from __future__ import annotations

# the chart (github.com/RocketChat/helm-charts: the chart's README and its values.yaml)
CHART_README = "https://github.com/RocketChat/helm-charts/tree/master/rocketchat"
CHART_VALUES = "https://github.com/RocketChat/helm-charts/blob/master/rocketchat/values.yaml"
# Rocket.Chat's own documentation
RC_MICROSERVICES = "https://docs.rocket.chat/docs/microservices"
RC_KUBERNETES = "https://docs.rocket.chat/docs/deploy-with-kubernetes"
RC_MONGO_URL = "https://docs.rocket.chat/v1/docs/mongodb-uri-authentication"
# Kubernetes, Helm and the servers the release talks to
K8S_SERVICE = "https://kubernetes.io/docs/concepts/services-networking/service/"
K8S_INGRESS = "https://kubernetes.io/docs/concepts/services-networking/ingress/"
K8S_INGRESS_CONTROLLERS = "https://kubernetes.io/docs/concepts/services-networking/ingress-controllers/"
K8S_DEPLOYMENT = "https://kubernetes.io/docs/concepts/workloads/controllers/deployment/"
K8S_RESOURCES = "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/"
K8S_SECRET = "https://kubernetes.io/docs/concepts/configuration/secret/"
K8S_HPA = "https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/"
K8S_DEPRECATIONS = "https://kubernetes.io/docs/reference/using-api/deprecation-guide/"
K8S_STATEFULSET = "https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/"
HELM_VALUES = "https://helm.sh/docs/chart_template_guide/values_files/"
HELM_BUILTINS = "https://helm.sh/docs/chart_template_guide/builtin_objects/"  # .Release.IsInstall / IsUpgrade
HELM_DEPENDENCIES = "https://helm.sh/docs/topics/charts/#tags-and-condition-fields-in-dependencies"
K8S_SCHEDULING = "https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/"
HELM_UPGRADE = "https://helm.sh/docs/helm/helm_upgrade/"
MONGO_URI = "https://www.mongodb.com/docs/manual/reference/connection-string/"
NATS_AUTH = "https://docs.nats.io/running-a-nats-service/configuration/securing_nats/auth_intro"
NATS_CLIENT_URL = "https://docs.nats.io/using-nats/developer/connecting"
MOLECULER_PROTOCOL = "https://github.com/moleculerjs/moleculer/blob/master/docs/PROTOCOL.md"
DDP_SPEC = "https://github.com/meteor/meteor/blob/devel/packages/ddp/DDP.md"
SOCKJS_PROTOCOL = "https://github.com/sockjs/sockjs-protocol"

# rule id (or its topic) -> the public document a customer reads for it
DOCS: dict[str, str] = {
    # static lane, by topic
    "components": RC_MICROSERVICES,
    "components.images": CHART_VALUES,
    "components.replicas": CHART_VALUES,
    "capacity": RC_MICROSERVICES,
    "connections": RC_MONGO_URL,
    "connections.mongo-url-parses": MONGO_URI,
    "connections.nats-url-parses": NATS_CLIENT_URL,
    "connections.nats-credentials": NATS_AUTH,
    "hygiene": CHART_README,
    "hygiene.resources": K8S_RESOURCES,
    "hygiene.plain-env-credentials": K8S_SECRET,
    "hygiene.embedded-mongodb": RC_KUBERNETES,
    "services": K8S_SERVICE,
    "ingress": RC_MICROSERVICES,
    "ingress.required": RC_KUBERNETES,
    "ingress.class": K8S_INGRESS + "#default-ingress-class",
    "ingress.tls-covers-host": K8S_INGRESS + "#tls",
    "ingress.controller-known": K8S_INGRESS_CONTROLLERS,
    "ingress.websocket-controller-needs": K8S_INGRESS_CONTROLLERS,
    "manifests": K8S_DEPRECATIONS,
    "rollout": K8S_DEPLOYMENT + "#rolling-update-deployment",
    "streamhub": RC_MICROSERVICES,
    "streamhub.no-autoscaler": K8S_HPA,
    "streamhub.rollout-never-two": K8S_DEPLOYMENT + "#strategy",
    "values": CHART_VALUES,
    "values.ignored-keys": HELM_VALUES,
    "helm": HELM_BUILTINS,
    "helm.dependency-condition": HELM_DEPENDENCIES,
    "helm.unused-subchart": HELM_DEPENDENCIES,
    "release": K8S_SCHEDULING,
    "release.backend-settings-shared": RC_MONGO_URL,
    "render": CHART_README,
    "wiring": RC_MICROSERVICES,
    "wiring.mongo-url": RC_MONGO_URL,
    "env": RC_MICROSERVICES,
    # upgrade lane
    "upgrade": HELM_UPGRADE,
    "upgrade.immutable-fields": K8S_DEPLOYMENT + "#label-selector-updates",
    "upgrade.kind-change": HELM_UPGRADE,
    "upgrade.data-survives": K8S_STATEFULSET,
    "upgrade.pod-identity-with-volume": K8S_STATEFULSET,
    "upgrade.stream-hub-handover": K8S_DEPLOYMENT + "#strategy",
    "upgrade.monolith-survives": RC_MICROSERVICES,
    "upgrade.mode-changed-by-default": RC_MICROSERVICES,
    "upgrade.renamed-values-keys": HELM_VALUES,
    "upgrade.target-passes-static": RC_MICROSERVICES,
    # live lane
    "live": RC_MICROSERVICES,
    "live.service-endpoints": K8S_SERVICE,
    "live.ingress-websocket-endpoints": K8S_INGRESS,
    "live.streamhub-peak-one": K8S_DEPLOYMENT + "#strategy",
    "live.upgrade-accepted": HELM_UPGRADE,
    "live.upgrade-keeps-data": K8S_STATEFULSET,
    "live.upgrade-no-restart": HELM_UPGRADE,
    "live.drift": HELM_UPGRADE,
    # probes: the wire protocols
    "bus": MOLECULER_PROTOCOL,
    "bus.reachable": NATS_CLIENT_URL,
    "bus.hub-single": RC_MICROSERVICES,
    "bus.monolith-not-duplicating": RC_MICROSERVICES,
    "ws": DDP_SPEC,
    "ws.sockjs-handshake": SOCKJS_PROTOCOL,
    "ws.reaches-ddp-streamer": RC_MICROSERVICES,
}

DEFAULT_DOC = CHART_README  # a topic not listed: the chart's README, where its values are explained


def public_doc(rule_id: str) -> str:
    """The public document for ``rule_id``: its own entry, else its topic's, else the chart's README."""
    return DOCS.get(rule_id) or DOCS.get(rule_id.split(".", 1)[0]) or DEFAULT_DOC
