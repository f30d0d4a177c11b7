"""The report model's finding records: every field of a Finding, as asdict would give it (they are built by
hand for speed, so a field added to Finding must show up here)."""

from __future__ import annotations

from dataclasses import asdict, fields

from quickmeet_conformance.findings import Finding, Location, Severity, Verdict
from quickmeet_conformance.reports.model import finding_dict


def test_finding_dict_matches_asdict_for_every_field() -> None:
    finding = Finding(
        "ingress.class",
        Verdict.FAIL,
        "m",
        Severity.WARNING,
        "e",
        "f",
        "Ingress/x",
        "spec.a",
        Location("values.yaml", "ingress.x", 3, 5),
        (("k", "v"),),
    )
    expected = {**asdict(finding), "verdict": "fail", "severity": "warning", "evidence": [["k", "v"]]}
    # ``remedy`` (set by a rule that knows) is shown as ``fixed_by``: the remedy in effect, derived when unset
    expected.pop("remedy")
    expected["fixed_by"] = {
        "kind": "values",
        "key_path": "ingress.x",
        "where": "values.yaml:3",
        "template": "",
        "fixed_in": "",
        "workaround": "",
        "hard_coded": False,
        "absent": False,  # issue 22: a key the file lacks says where to add it
        "text": "values: set ingress.x (values.yaml:3)",
    }
    assert finding_dict(finding) == expected
    assert set(finding_dict(finding)) == {f.name for f in fields(Finding)} - {"remedy"} | {"fixed_by"}
    assert finding_dict(Finding("r", Verdict.PASS, "ok"))["location"] is None
