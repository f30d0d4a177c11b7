"""Who fixes a finding: the rule's remedy when it knows, else one derived from the location; and a chart
defect never reads "set ...", because no values key exists for it."""

from __future__ import annotations

from quickmeet_conformance.findings import Finding, FixKind, Location, Remedy, Verdict, fix_kinds
from quickmeet_conformance.reports.remedies import remedy_lines, summary_lines, values_fixable


def _fail(location: Location | None = None, remedy: Remedy | None = None) -> Finding:
    return Finding("r.x", Verdict.FAIL, "m", location=location, remedy=remedy)


def test_a_values_key_location_is_fixed_in_the_values() -> None:
    remedy = _fail(Location("my.yaml", "microservices.ddpStreamer.replicas", 8, 3)).fixed_by
    assert remedy.kind == FixKind.VALUES
    assert remedy.line() == "values: set microservices.ddpStreamer.replicas (my.yaml:8)"


def test_a_template_location_is_the_chart_and_says_only_what_is_known() -> None:
    remedy = _fail(Location("rocketchat/templates/x.yaml")).fixed_by
    assert remedy.kind == FixKind.CHART and not remedy.hard_coded
    assert (
        remedy.line() == "chart: rendered by rocketchat/templates/x.yaml; no values key is known to change it"
    )
    assert _fail().fixed_by.kind == FixKind.VALUES  # nothing to place: the values are what the user controls


def test_a_hard_coded_chart_defect_names_the_line_the_fix_version_and_no_key() -> None:
    remedy = Remedy(
        FixKind.CHART,
        template="templates/hub.yaml:23",
        fixed_in="6.28.1",
        workaround="helm --post-renderer ...\nresources: [all.yaml]\npatches:\n  - target: {kind: Deployment}",
        hard_coded=True,
    )
    finding = _fail(Location("rocketchat/templates/hub.yaml"), remedy)
    assert finding.fixed_by is remedy
    text = remedy.line()
    assert (
        text
        == "chart: templates/hub.yaml:23 hard-codes this; no values key changes it; fixed in chart 6.28.1"
    )
    assert "set " not in text
    lines = remedy_lines(finding)
    assert lines[0] == f"fixed by: {text}" and lines[1] == "workaround: helm --post-renderer ..."
    assert remedy_lines(finding, brief=True)[1:] == [
        "workaround: as above, with the patch:",
        "    - target: {kind: Deployment}",
    ]
    assert not values_fixable([finding]) and "fixed by:" in finding.detail()


def test_the_summary_counts_values_and_chart_fixes_apart() -> None:
    found = [
        _fail(Location("v.yaml", "a.b", 1, 1)),
        _fail(Location("rocketchat/templates/x.yaml")),
        _fail(Location("rocketchat/templates/y.yaml")),
        Finding("r.y", Verdict.PASS, "ok"),
    ]
    assert fix_kinds(found) == {"values": 1, "chart": 2}
    assert summary_lines(found, ()) == [
        "fixed by: 1 failed finding(s) in the values, 2 only in the chart (no values key changes them)"
    ]
