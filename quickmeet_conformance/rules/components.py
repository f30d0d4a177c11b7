"""Rules on components: each one present or absent as mode and version require, images, replicas."""

from __future__ import annotations

from collections.abc import Iterable

from ..expectations import MICROSERVICE_KEYS
from ..findings import Finding
from ..topology import MONOLITH, STREAM_HUB, image_repository, image_tag
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
                key_path=key if ctx.values_file.position(key) else "",
            )
        elif wanted is False and found:
            yield r.fail(
                ctx,
                f"component {component} should not run ({why}) but {refs} runs it",
                expected="no workload",
                found=refs,
                workload=found[0],
            )


def _expected_image(ctx: RenderedContext, component: str) -> tuple[str | None, str, str]:
    """(repository or None when the values do not say, tag, values key of the image)."""
    app_version = ctx.expectations.app_version
    if component == MONOLITH:
        return (
            lookup(ctx.merged, "image.repository"),
            str(lookup(ctx.merged, "image.tag") or app_version),
            "image",
        )
    key = MICROSERVICE_KEYS.get(component)
    if key is None:
        return None, "", ""
    image = lookup(ctx.merged, f"microservices.{key}.image") or {}
    if not isinstance(image, dict):
        return None, "", ""
    return image.get("repository"), str(image.get("tag") or app_version), f"microservices.{key}.image"


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
        repository, tag, key = _expected_image(ctx, component)
        if repository is None:
            continue
        container = workload.container_of(component, ctx.matcher)
        actual_repo, actual_tag = image_repository(container.image), image_tag(container.image)
        if actual_repo != repository or (tag and actual_tag != tag):
            yield r.fail(
                ctx,
                f"{component} runs {container.image}, not the configured {repository}:{tag}",
                expected=f"{repository}:{tag}",
                found=container.image,
                workload=workload,
                field_path=f"spec.template.spec.containers[{container.name}].image",
                key_path=key if ctx.values_file.position(key) else "",
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
                    key_path=key if ctx.values_file.position(key) else "",
                )
