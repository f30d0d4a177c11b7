"""Waiver files: loaded strictly (one clear line naming the file and the entry), matched by rule and target,
and judged in one place: an accepted finding blocks nothing and shows as ACCEPTED, an expired one fails
whatever its severity, and a waiver that matches nothing is listed."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from quickmeet_conformance.errors import UserError
from quickmeet_conformance.findings import (
    Finding,
    Location,
    Severity,
    Status,
    Verdict,
    blocks_run,
    status_of,
)
from quickmeet_conformance.rules.engine import Options, Rule, evaluate_rule
from quickmeet_conformance.waivers import apply, counts, load_waivers, matches, unmatched

TODAY = datetime.date(2026, 6, 1)
GOOD = """\
# accepted chart defects
- rule: streamhub.rollout-never-two
  target: Deployment/rocketchat-stream-hub
  reason: chart 6.27.1 hard-codes maxSurge 1 (OPS-1)
  expires: 2026-12-31
- rule: env.*
  target: "Deployment/*"
  reason: |
    RETRY_ENABLED is hard-coded
  expires: "2026-01-31"
- rule: values.ignored-keys
  target: microservices.ddpStreamers
  reason: typo kept on purpose
  expires: 2026-12-31
"""


def _write(tmp_path: Path, text: str, name: str = "waivers.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _fail(rule: str, resource: str = "", key: str = "", severity: Severity = Severity.ERROR) -> Finding:
    loc = Location("values.yaml", key, 3, 1) if key else None
    return Finding(rule, Verdict.FAIL, "m", severity, resource=resource, location=loc)


def test_a_waiver_file_loads_with_its_entries_dated_against_the_run_day(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    hub, env, key = load_waivers(path, today=TODAY)
    assert (hub.rule, hub.target, hub.expires, hub.expired) == (
        "streamhub.rollout-never-two",
        "Deployment/rocketchat-stream-hub",
        datetime.date(2026, 12, 31),
        False,
    )
    assert env.expired and env.reason == "RETRY_ENABLED is hard-coded", env
    assert hub.source == f"{path} entry 1 (line 2)" and env.source == f"{path} entry 2 (line 6)"
    assert key.target == "microservices.ddpStreamers"
    nested = _write(tmp_path, "waivers:\n" + "".join(f"  {line}\n" for line in GOOD.splitlines()), "n.yaml")
    assert [w.rule for w in load_waivers(nested, today=TODAY)] == [hub.rule, env.rule, key.rule]
    assert load_waivers(_write(tmp_path, "# nothing yet\n", "empty.yaml"), today=TODAY) == ()


@pytest.mark.parametrize(
    "text,expected",
    [
        ("- rule: [unclosed\n", r"w\.yaml:\d+: the waiver file is not valid YAML"),
        ("rule: x\n", "w.yaml: the waiver file has no 'waivers:' list"),
        ("just text\n", "w.yaml: the waiver file must be a list of waivers"),
        ("- rule: a\n  target: b\n  reason: c\n", r"w\.yaml entry 1 \(line 1\): missing expires"),
        (
            "- {rule: a, target: b, reason: c, expires: 2026-01-01}\n- {rule: a, reason: '', expires: soon}\n",
            r"w\.yaml entry 2 \(line 2\): missing target, reason",
        ),
        (
            "- {rule: a, target: b, reason: c, expires: 31.12.2026}\n",
            r"entry 1 \(line 1\): expires '31\.12\.2026' is not a date",
        ),
        (
            "- {rule: a, target: b, reason: c, expires: 2026-01-01, owner: me}\n",
            "entry 1 .*unknown field owner",
        ),
        ("- just a string\n", r"entry 1 \(line 1\): a waiver must be a mapping"),
    ],
)
def test_a_bad_waiver_file_is_one_line_naming_the_file_and_the_entry(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = _write(tmp_path, text, "w.yaml")
    with pytest.raises(UserError, match=expected) as caught:
        load_waivers(path, today=TODAY)
    assert "\n" not in caught.value.line() and str(path) in caught.value.line()


def test_a_missing_waiver_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="nope.yaml: cannot read the waiver file"):
        load_waivers(tmp_path / "nope.yaml")


def test_waivers_match_by_rule_and_resource_or_key_path_with_globs(tmp_path: Path) -> None:
    hub, env, key = load_waivers(_write(tmp_path, GOOD), today=TODAY)
    assert matches(hub, _fail("streamhub.rollout-never-two", "Deployment/rocketchat-stream-hub"))
    assert not matches(hub, _fail("streamhub.rollout-never-two", "Deployment/other"))
    assert not matches(hub, _fail("streamhub.single-replica", "Deployment/rocketchat-stream-hub"))
    assert matches(env, _fail("env.retry-enabled", "Deployment/rocketchat-account"))
    assert matches(key, _fail("values.ignored-keys", key="microservices.ddpStreamers"))
    assert not matches(key, _fail("values.ignored-keys", key="microservices.other"))


def test_accepted_blocks_nothing_and_expired_fails_whatever_its_severity(tmp_path: Path) -> None:
    hub, env, _ = load_waivers(_write(tmp_path, GOOD), today=TODAY)
    accepted, expired_warning, plain = apply(
        [
            _fail("streamhub.rollout-never-two", "Deployment/rocketchat-stream-hub"),
            _fail("env.retry-enabled", "Deployment/x", severity=Severity.WARNING),
            _fail("streamhub.single-replica", "Deployment/rocketchat-stream-hub"),
        ],
        [hub, env],
    )
    assert accepted.waiver == hub and accepted.accepted and not blocks_run(accepted, strict=True)
    assert status_of([accepted], strict=True) == Status.ACCEPTED
    assert expired_warning.waiver == env and blocks_run(expired_warning, strict=False)
    assert status_of([expired_warning], strict=False) == Status.FAIL
    assert "expired on 2026-01-31" in expired_warning.detail() and "RETRY_ENABLED" in expired_warning.detail()
    assert plain.waiver is None and blocks_run(plain, strict=False)
    assert counts([accepted, expired_warning, plain]) == {"accepted": 1, "expired": 1}
    # an accepted error beside an unwaived warning: the rule warns (something is still to be looked at)
    warned = _fail("streamhub.rollout-never-two", "Deployment/other", severity=Severity.WARNING)
    assert status_of([accepted, warned], strict=False) == Status.WARN


def test_a_check_that_could_not_run_is_never_waived(tmp_path: Path) -> None:
    everything = load_waivers(
        _write(tmp_path, "- {rule: '*', target: '*', reason: all, expires: 2099-01-01}\n"), today=TODAY
    )
    (errored,) = apply([Finding("render.succeeds", Verdict.ERROR, "helm failed")], everything)
    assert errored.waiver is None and blocks_run(errored, strict=False)


def test_unmatched_waivers_are_listed(tmp_path: Path) -> None:
    waivers = load_waivers(_write(tmp_path, GOOD), today=TODAY)
    found = apply([_fail("streamhub.rollout-never-two", "Deployment/rocketchat-stream-hub")], waivers)
    assert [w.rule for w in unmatched(waivers, found)] == ["env.*", "values.ignored-keys"]


def test_the_engine_attaches_the_run_waivers_to_every_rule(tmp_path: Path) -> None:
    """evaluate_rule is where every lane's findings pass: a context whose options carry waivers gets them."""
    waivers = load_waivers(_write(tmp_path, GOOD), today=TODAY)

    class Ctx:
        values_file = None
        options = Options(waivers=waivers)

    def check(ctx: Ctx, r: Rule) -> list[Finding]:
        return [_fail(r.id, "Deployment/rocketchat-stream-hub")]

    toy = Rule("streamhub.rollout-never-two", "t", Severity.ERROR, "c", "doc", "f", check, False, "toy")
    (finding,) = evaluate_rule(Ctx(), toy)
    assert finding.accepted and finding.waiver == waivers[0]

    class NoOptions:
        values_file = None

    (finding,) = evaluate_rule(NoOptions(), toy)
    assert finding.waiver is None


PROBE_WAIVER = (
    "- rule: bus.service-announced\n"
    "  target: component/presence\n"
    "  reason: presence runs outside the cluster during the migration (OPS-77)\n"
    "  expires: 2026-12-31\n"
)


def test_a_probe_finding_is_waived_through_the_engine_like_every_lane_s(tmp_path: Path) -> None:
    """The probe lane's findings meet the run's waivers in ``engine.evaluate_rule`` too: the probe context carries
    the run's Options. A bus observation where no node announces presence (built directly, no NATS needed)."""
    from quickmeet_conformance.probes import nats_bus as nb
    from quickmeet_conformance.probes.context import BusContext
    from quickmeet_conformance.probes.rules import evaluate_bus, evaluate_probe_rule

    obs = nb.BusObservation(url="nats://x", prefix="MOL", probe_id="qmc-probe-1", connected=True)
    exp = nb.BusExpectations.from_counts({"presence": 1})
    (plain,) = evaluate_probe_rule(BusContext(obs, exp), nb.RULE_SERVICE_ANNOUNCED)
    assert plain.failed and plain.resource == "component/presence" and blocks_run(plain, strict=False)

    waivers = load_waivers(_write(tmp_path, PROBE_WAIVER), today=TODAY)
    ctx = BusContext(obs, exp, options=Options(waivers=waivers))
    (waived,) = evaluate_probe_rule(ctx, nb.RULE_SERVICE_ANNOUNCED)
    assert waived.accepted and waived.waiver == waivers[0] and not blocks_run(waived, strict=False)
    assert status_of([waived], strict=False) == Status.ACCEPTED and "OPS-77" in waived.detail()
    assert unmatched(waivers, [waived]) == []
    # the lane's one-call helper passes the run's options on as well
    found = evaluate_bus(obs, exp, Options(waivers=waivers))
    assert [f.rule_id for f in found if f.accepted] == [nb.RULE_SERVICE_ANNOUNCED], [
        f.detail() for f in found
    ]

    expired = load_waivers(_write(tmp_path, PROBE_WAIVER, "old.yaml"), today=datetime.date(2027, 1, 1))
    (late,) = evaluate_probe_rule(
        BusContext(obs, exp, options=Options(waivers=expired)), nb.RULE_SERVICE_ANNOUNCED
    )
    assert (
        blocks_run(late, strict=False)
        and "expired on 2026-12-31" in late.detail()
        and "OPS-77" in late.detail()
    )
