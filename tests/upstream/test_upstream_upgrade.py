"""The public chart's real upgrade, 6.27.1 (app 7.11.0) -> 6.29.0 (app 8.0.1), in the upgrade matrix
(fixtures/upgrades/public-6.27.1-to-6.29.0*.yaml) on both helm majors: its plan names every change (the oplog
settings removed, stream-hub removed, the images moved to 8.0.1, nothing else but the chart label), and each
verdict is explained here."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from upstream_charts import REPO, require_upstream

from quickmeet_conformance.charts import load_chart
from quickmeet_conformance.findings import Severity, Verdict
from quickmeet_conformance.upgrade import (
    SIDES,
    UpgradeCase,
    evaluate_upgrade,
    load_matrix,
    write_inline_values,
)
from quickmeet_conformance.upgrade.reuse import reuse_chart

PAIRS = {p.name: p for p in load_matrix(REPO / "fixtures" / "upgrades") if p.name.startswith("public-")}
IMAGES = ("rocketchat-account", "rocketchat-authorization", "rocketchat-ddp-streamer", "rocketchat-presence")

# Every change the plan must name (helm.sh/chart labels aside): (kind/name, field path) -> (old, new) substrings
MICROSERVICES_CHANGES = {
    **{(f"Deployment/{name}", "image"): ("7.11.0", "8.0.1") for name in IMAGES},
    ("Deployment/rocketchat-rocketchat", "image"): ("rocket.chat:7.11.0", "rocket.chat:8.0.1"),
    ("Deployment/rocketchat-rocketchat", "env[name=MONGO_OPLOG_URL]"): ("mongo-oplog-uri", "(absent)"),
    ("Deployment/rocketchat-rocketchat", 'annotations["checksum/secret"]'): ("", ""),
    ("Secret/rocketchat-rocketchat", "data.mongo-oplog-uri"): ("***", "(absent)"),
}
MONOLITH_CHANGES = {
    k: v
    for k, v in MICROSERVICES_CHANGES.items()
    if not k[0].startswith(tuple(f"Deployment/{n}" for n in IMAGES))
}


def _case(name: str, renderer, tmp_path: Path, *, reuse: bool = False) -> UpgradeCase:
    pair = PAIRS[name]
    for which in SIDES:
        require_upstream(Path(pair.side(which).chart).name.removeprefix("rocketchat-"))
    pair = write_inline_values(pair, tmp_path)
    charts = {
        w: load_chart(pair.side(w).chart, version=None, helm_path=renderer.helm.path, workdir=tmp_path)
        for w in SIDES
    }
    reused = None
    if reuse:
        old = yaml.safe_load(Path(pair.from_side.values_path).read_text(encoding="utf-8"))
        reused = reuse_chart(charts["to"], charts["from"], old, tmp_path, name, renderer.helm.path)
    return UpgradeCase(pair, charts["from"], charts["to"], renderer, reuse_chart=reused)


def _changes(plan) -> dict[tuple[str, str], tuple[str, str]]:
    found = {}
    for resource in plan.resources:
        _, kind, _, name = resource.key
        for change in resource.changes:
            if change.path.endswith('labels["helm.sh/chart"]'):
                continue
            found[(f"{kind}/{name}", change.path)] = (change.old, change.new)
    return found


def _expected_match(found: dict, expected: dict) -> list[str]:
    problems = []
    for (ref, fragment), (old, new) in expected.items():
        hits = [(k, v) for k, v in found.items() if k[0] == ref and fragment in k[1]]
        if not hits or not any(old in v[0] and new in v[1] for _, v in hits):
            problems.append(f"missing: {ref} {fragment} {old!r} -> {new!r}")
    for (ref, path), (old, new) in found.items():
        if not any(ref == e_ref and fragment in path for e_ref, fragment in expected):
            problems.append(f"unexplained change: {ref} {path}: {old} -> {new}")
    return problems


@pytest.mark.parametrize(
    "name,expected",
    [
        ("public-6.27.1-to-6.29.0", MICROSERVICES_CHANGES),
        ("public-6.27.1-to-6.29.0-monolith", MONOLITH_CHANGES),
    ],
)
def test_public_upgrade_plan_names_every_change(name, expected, renderer, tmp_path):
    result = evaluate_upgrade(_case(name, renderer, tmp_path))
    assert result.input_error is None, result.input_error
    plan = result.plan
    problems = _expected_match(_changes(plan), expected)
    assert not problems, (
        f"{name} ({renderer.helm.label}): the plan is not the real 6.27.1 -> 6.29.0 upgrade:\n"
        + "\n".join(problems)
    )
    created = [r.key[3] for r in plan.resources if r.action == "created"]
    deleted = sorted(f"{r.key[1]}/{r.key[3]}" for r in plan.resources if r.action == "deleted")
    assert not created, f"{name}: 6.29.0 creates nothing new, the plan says {created}"
    if name.endswith("monolith"):
        assert deleted == [], f"{name}: a monolith upgrade deletes nothing, the plan says {deleted}"
    else:
        # app 8.0.1 has no stream-hub (CONTRACT.md > Version rules): the plan says so explicitly
        assert deleted == ["Deployment/rocketchat-stream-hub", "Service/rocketchat-stream-hub"], deleted
        assert any(n.startswith("stream-hub removed") for n in plan.notes), plan.notes


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_public_upgrade_verdicts_explained(name, renderer, tmp_path):
    """Every upgrade rule passes, except upgrade.renamed-values-keys, a true WARNING: externalMongodbOplogUrl
    (set in the 6.27.1 values, as that README asks) is removed in 6.29.0; the 6.29.0 values drop it, so the
    upgrade is right, but helm upgrade --reuse-values would carry it over doing nothing. upgrade.reuse-values
    skips: the simulation was not requested. The target passes the static lane, except on the monolith pair:
    6.29.0's NATS condition 'nats.enabled, microservices.enabled' is unreadable after the comma, so the monolith
    gets NATS (static helm.dependency-condition, a chart defect pinned in upstream_charts.DEFECTS)."""
    result = evaluate_upgrade(_case(name, renderer, tmp_path))
    failed = {rule: fs for rule, fs in result.findings.items() if any(f.failed for f in fs)}
    monolith = name.endswith("monolith")
    expected = {"upgrade.renamed-values-keys"} | ({"upgrade.target-passes-static"} if monolith else set())
    assert set(failed) == expected, {r: [f.one_line() for f in fs] for r, fs in failed.items()}
    if monolith:
        assert all(
            "helm.dependency-condition" in f.message for f in failed["upgrade.target-passes-static"]
        ), [f.one_line() for f in failed["upgrade.target-passes-static"]]
    (warning,) = [f for f in failed["upgrade.renamed-values-keys"] if f.failed]
    assert warning.severity == Severity.WARNING and "externalMongodbOplogUrl" in warning.message, (
        warning.one_line()
    )
    assert "oplogpass" not in warning.message, "the oplog password is shown"
    assert result.findings["upgrade.reuse-values"][0].verdict == Verdict.SKIP
    if not monolith:
        assert result.findings["upgrade.target-passes-static"][0].verdict == Verdict.PASS


def test_public_upgrade_with_reuse_values_is_refused(renderer, tmp_path):
    """helm upgrade --reuse-values 6.27.1 -> 6.29.0 fails: the reused values lack microservices.streamHub.enabled
    (new in 6.29.0, default false); the chart's rocketchat.streamHub.enabled helper then returns true (both of its
    fallbacks say true, despite its comment about --reuse-values), and the stream-hub template refuses app 8.0.1."""
    result = evaluate_upgrade(_case("public-6.27.1-to-6.29.0", renderer, tmp_path, reuse=True))
    findings = [f for f in result.findings["upgrade.reuse-values"] if f.failed]
    errors = [f for f in findings if f.severity == Severity.ERROR]
    assert len(errors) == 1 and "microservices.streamHub.enabled" in errors[0].message, [
        f.one_line() for f in findings
    ]
    assert "Stream Hub microservice is only supported" in errors[0].message
    lost = {f.location.key_path for f in findings if f.severity == Severity.WARNING}
    assert lost == {"microservices.streamHub.enabled", "service.loadBalancerClass"}, lost


def test_matrix_pair_without_the_public_chart_is_unavailable_with_the_reason(tmp_path):
    """Where ../shared/upstream-charts is absent (a fork's CI), the public pairs load and say why they skip;
    the rest of the matrix is unaffected."""
    from quickmeet_conformance.upgrade.pairs import load_pair_file

    repo = tmp_path / "elsewhere" / "repo"
    (repo / "fixtures" / "charts").mkdir(parents=True)
    (repo / "fixtures" / "values").mkdir()
    source = REPO / "fixtures" / "upgrades" / "public-6.27.1-to-6.29.0.yaml"
    pair = load_pair_file(source, repo / "fixtures" / "charts", repo / "fixtures" / "values")
    assert (
        pair.unavailable.startswith("public chart not found at ") and "upstream-charts" in pair.unavailable
    ), pair.unavailable
    assert not PAIRS["public-6.27.1-to-6.29.0"].unavailable or not (REPO.parent / "shared").exists()
