"""The live rule of the audit: the live objects still match the release's manifest (no hand edits)."""

from __future__ import annotations

from collections.abc import Iterable

from ...findings import Finding
from ...live.state import LiveState, LiveView
from ...rules.engine import Rule, rule
from .context import LiveContext, note, with_state

# -- drift (audit) ---------------------------------------------------------------------------------


def _images(body: dict) -> dict[str, str]:
    spec = ((body.get("spec") or {}).get("template") or {}).get("spec") or {}
    return {str(c.get("name")): str(c.get("image")) for c in spec.get("containers") or []}


def _ports(body: dict) -> list[tuple]:
    return sorted(
        (str(p.get("name", "")), p.get("port"), str(p.get("targetPort", p.get("port"))))
        for p in (body.get("spec") or {}).get("ports") or []
    )


@rule(
    "live.drift",
    title="the live objects match the release's manifest (no replicas, images, selectors or ports changed by hand)",
    contract="CONTRACT.md > Values contract (the values decide replicas and images; a hand edit is undone by the "
    "next helm upgrade and hides what the release really runs)",
    fix="put the change into the values and helm upgrade, or undo the hand edit (kubectl rollout undo / scale back)",
    basis="chart behaviour",
    needs_render=False,
    lane="live",
)
@with_state
def rule_live_drift(ctx: LiveContext, r: Rule, view: LiveView, state: LiveState) -> Iterable[Finding]:
    if view.release_topology is None:
        yield note(r, "not evaluated: the release's manifest could not be read")
        return
    autoscaled = {(a.target_kind, a.target_name) for a in state.topology.autoscalers}
    for manifest in view.release_topology.manifests:
        if manifest.kind not in ("Deployment", "StatefulSet", "Service", "Ingress", "Secret"):
            continue
        live = state.get(manifest.kind, manifest.name)
        if live is None:
            yield r.fail(
                ctx,
                f"{manifest.ref} is in the release but not in the cluster (deleted by hand?)",
                expected="present",
                found="absent",
                resource=manifest.ref,
                manifest=manifest,
            )
            continue
        want, have = manifest.body, live
        if manifest.kind in ("Deployment", "StatefulSet"):
            declared = (want.get("spec") or {}).get("replicas", 1)
            actual = (have.get("spec") or {}).get("replicas", 1)
            if declared != actual and (manifest.kind, manifest.name) not in autoscaled:
                yield r.fail(
                    ctx,
                    f"{manifest.ref} runs {actual} replicas; the release says {declared}",
                    expected=str(declared),
                    found=str(actual),
                    resource=manifest.ref,
                    field_path="spec.replicas",
                    manifest=manifest,
                )
            want_images, have_images = _images(want), _images(have)
            for container, image in sorted(want_images.items()):
                if have_images.get(container) != image:
                    yield r.fail(
                        ctx,
                        f"{manifest.ref} container {container} runs {have_images.get(container)}; the "
                        f"release says {image}",
                        expected=image,
                        found=str(have_images.get(container)),
                        resource=manifest.ref,
                        field_path=f"spec.template.spec.containers[{container}].image",
                        manifest=manifest,
                    )
        elif manifest.kind == "Service":
            want_sel, have_sel = (
                (want.get("spec") or {}).get("selector"),
                (have.get("spec") or {}).get("selector"),
            )
            if (want_sel or None) != (have_sel or None):
                yield r.fail(
                    ctx,
                    f"{manifest.ref} selector is {have_sel}; the release says {want_sel}",
                    expected=str(want_sel),
                    found=str(have_sel),
                    resource=manifest.ref,
                    field_path="spec.selector",
                    manifest=manifest,
                )
            if _ports(want) != _ports(have):
                yield r.fail(
                    ctx,
                    f"{manifest.ref} ports differ from the release",
                    expected=str(_ports(want)),
                    found=str(_ports(have)),
                    resource=manifest.ref,
                    field_path="spec.ports",
                    manifest=manifest,
                )
        elif manifest.kind == "Secret":
            want_keys = set(want.get("data") or {}) | set(want.get("stringData") or {})
            have_keys = set(have.get("data") or {})
            if want_keys != have_keys:
                yield r.fail(
                    ctx,
                    f"{manifest.ref} keys are {sorted(have_keys)}; the release says {sorted(want_keys)}",
                    expected=str(sorted(want_keys)),
                    found=str(sorted(have_keys)),
                    resource=manifest.ref,
                    field_path="data",
                    manifest=manifest,
                )
