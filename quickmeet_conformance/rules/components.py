"""Rules on components: each one present or absent as mode and version require, images, replicas."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..chart_reads import read_child
from ..expectations import MICROSERVICE_KEYS
from ..findings import Finding
from ..topology import MONGODB, MONOLITH, STREAM_HUB, image_repository, image_tag
from ..values import lookup
from .context import RenderedContext
from .engine import Rule, rule

_COMPONENT_KEY = {MONOLITH: "microservices.enabled", STREAM_HUB: "microservices.streamHub.enabled"}


@rule(
    "components.present",
    title="every component the values call for runs, and none they rule out",
    contract="CONTRACT.md > Components; Version rules (stream-hub derived from app version and "
    "microservices.streamHub.enabled)",
    fix="check microservices.enabled, image.tag and microservices.streamHub.enabled against the version rules",
)
def rule_components_present(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    topo = ctx.topology
    for component, wanted in ctx.expectations.components.items():
        found = topo.components(component)
        refs = ", ".join(w.ref for w in found) or "none"
        why = (
            ctx.expectations.stream_hub.reason
            if component == STREAM_HUB
            else ("microservices are " + ("on" if ctx.expectations.microservices else "off"))
        )
        key = _COMPONENT_KEY.get(
            component, f"microservices.{MICROSERVICE_KEYS.get(component, '')}".rstrip(".")
        )
        if component in ("nats", "mongodb"):
            key, why = f"{component}.enabled", f"{component}.enabled is {str(wanted).lower()}"
        if wanted and not found:
            yield r.fail(
                ctx,
                f"component {component} is missing: no workload runs its image ({why})",
                expected=f"a workload running {component}",
                found="none",
                key_path=key,
            )
        elif wanted is False and found:
            yield r.fail(
                ctx,
                f"component {component} should not run ({why}) but {refs} runs it",
                expected="no workload",
                found=refs,
                workload=found[0],
            )


@dataclass(frozen=True)
class ExpectedImage:
    """The image a component's values configure, as the chart's templates compose it."""

    repository: str  # with the registry prefix the templates apply
    configured: str  # the values' repository, without a registry
    tag: str  # '' when the values do not fix one (or a digest pins the image)
    key: str  # the values key of the image
    registry_key: str  # the values key that gave the registry prefix ('' when none)
    # True: the chart's mechanism is modelled exactly (bitnami common.images.image); False: the chart reads the
    # registry key somewhere, so the image is right with the prefix or without it (whether a release-wide
    # registry reaches every workload is another rule's question)
    exact: bool = False

    def accepts(self, repository: str) -> bool:
        return repository == self.repository or (not self.exact and repository == self.configured)


def _chart_reads(ctx: RenderedContext, dotted: str) -> bool:
    """The chart's templates (subcharts included) read the values key ``dotted``."""
    tree = ctx.chart.reads
    for part in dotted.split("."):
        below = read_child(tree, part)
        if below is None:
            return False
        tree = below
    return True


def _first_set(ctx: RenderedContext, keys: tuple[str, ...]) -> tuple[str, str]:
    """(value, key) of the first of ``keys`` set to a non-empty string, else ('', '')."""
    for key in keys:
        value = lookup(ctx.merged, key)
        if isinstance(value, str) and value:
            return value.rstrip("/"), key
    return "", ""


def _expected_image(ctx: RenderedContext, component: str) -> ExpectedImage | None:
    """What the values configure for ``component``'s image, the registry prefixed as the chart does: the
    rocketchat templates compose ``repository:tag`` and prefix a registry only from a registry key they read
    (``global.imageRegistry``, ``<image>.registry``); the bitnami MongoDB subchart's ``common.images.image``
    prefixes ``global.imageRegistry`` (the parent's global, then its own), else ``mongodb.image.registry``."""
    app_version = ctx.expectations.app_version
    repository: Any
    tag: Any
    bitnami_globals = lookup(ctx.chart.defaults, "mongodb.global")
    if component == MONGODB and isinstance(bitnami_globals, dict) and "imageRegistry" in bitnami_globals:
        # the bitnami subchart (its defaults carry global.imageRegistry): common.images.image decides exactly
        image = lookup(ctx.merged, "mongodb.image")
        if not isinstance(image, dict) or not isinstance(image.get("repository"), str):
            return None
        registry, registry_key = _first_set(
            ctx, ("global.imageRegistry", "mongodb.global.imageRegistry", "mongodb.image.registry")
        )
        repository = image["repository"]
        tag = "" if image.get("digest") else str(image.get("tag") or "")
        prefixed = f"{registry}/{repository}" if registry else repository
        return ExpectedImage(prefixed, repository, tag, "mongodb.image", registry_key, exact=True)
    if component == MONOLITH:
        key, repository, tag = (
            "image",
            lookup(ctx.merged, "image.repository"),
            lookup(ctx.merged, "image.tag"),
        )
    elif component == MONGODB:
        image = lookup(ctx.merged, "mongodb.image")
        if not isinstance(image, dict):
            return None
        key, repository, tag = "mongodb.image", image.get("repository"), image.get("tag")
    else:
        service = MICROSERVICE_KEYS.get(component)
        image = lookup(ctx.merged, f"microservices.{service}.image") if service else None
        if not isinstance(image, dict):
            return None
        key, repository, tag = f"microservices.{service}.image", image.get("repository"), image.get("tag")
    if not isinstance(repository, str) or not repository:
        return None
    read = tuple(k for k in ("global.imageRegistry", f"{key}.registry") if _chart_reads(ctx, k))
    registry, registry_key = _first_set(ctx, read)
    prefixed = (
        f"{registry}/{repository}" if registry and not repository.startswith(registry + "/") else repository
    )
    return ExpectedImage(prefixed, repository, str(tag or app_version), key, registry_key)


@rule(
    "components.images",
    title="each component runs the image its values configure",
    contract="CONTRACT.md > Components (image repository per component); Values contract image.{repository,tag}",
    fix="set image.repository/image.tag (or microservices.<svc>.image) to the image you mean to run",
)
def rule_images_as_configured(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    for workload in ctx.topology.workloads:
        component = workload.component
        if component is None:
            continue
        expected = _expected_image(ctx, component)
        if expected is None:
            continue
        container = workload.container_of(component, ctx.matcher)
        actual_repo, actual_tag = image_repository(container.image), image_tag(container.image)
        tag_ok = not expected.tag or actual_tag == expected.tag
        if expected.accepts(actual_repo) and tag_ok:
            continue
        key = expected.key if ctx.values_file.position(expected.key) else ""
        unexplained_prefix = not expected.registry_key and actual_repo.endswith("/" + expected.configured)
        if unexplained_prefix and tag_ok:
            # a registry prefix no values key explains: a helper or a registry key the tool does not model
            yield r.skip(
                f"not judged: {component} runs {container.image}, {expected.configured} under a registry that no "
                f"registry key the chart reads explains ({workload.ref})"
            )
            continue
        via = f" ({expected.registry_key} applied)" if expected.registry_key else ""
        shown = f"{expected.repository}:{expected.tag}" if expected.tag else expected.repository
        yield r.fail(
            ctx,
            f"{component} runs {container.image}, not the configured {shown}{via}",
            expected=shown,
            found=container.image,
            workload=workload,
            field_path=f"spec.template.spec.containers[{container.name}].image",
            key_path=key,
        )


@rule(
    "components.replicas",
    title="replicas are honoured: replicaCount for the monolith, microservices.<svc>.replicas",
    contract="CONTRACT.md > Values contract: replicaCount (monolith replicas), microservices.*.replicas",
    fix="the chart must render spec.replicas from the values key named",
)
def rule_replicas_honoured(ctx: RenderedContext, r: Rule) -> Iterable[Finding]:
    for component, (want, key) in ctx.expectations.replicas.items():
        for workload in ctx.topology.components(component):
            if ctx.topology.autoscalers_for(workload):
                continue  # an HPA owns the count
            if workload.effective_replicas != want:
                yield r.fail(
                    ctx,
                    f"{component} has {workload.effective_replicas} replicas, but {key} is {want}",
                    expected=str(want),
                    found=str(workload.effective_replicas),
                    workload=workload,
                    field_path="spec.replicas",
                    key_path=key,
                )
