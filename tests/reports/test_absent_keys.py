"""A finding about a key the values file does not contain (issue 22): it names the nearest parent the file
sets and that parent's line ("add it under <parent> (file:line)"), or the top level of the file when no
parent is there; it never shows the key at a line that holds another key."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from quickmeet_conformance.cli import main
from quickmeet_conformance.findings import Finding, Location, Verdict
from quickmeet_conformance.values import load_values, parent_key_path

REPO = Path(__file__).resolve().parents[2]
HELM3 = str(REPO / ".tools" / "bin" / "helm3")

VALUES = """\
microservices:
  enabled: true
ingress:
  enabled: true
mongodb:
  auth:
    usernames: [rocketchat]
"""


@pytest.mark.parametrize(
    ("key", "parent"),
    [
        ("a.b.c", "a.b"),
        ("a", ""),
        ("a[0]", "a"),
        ("a[0].b", "a[0]"),
        ('ingress.annotations["nginx.org/websocket-services"]', "ingress.annotations"),
        ('a["x.y"].z', 'a["x.y"]'),
    ],
)
def test_parent_key_path_ignores_dots_inside_quoted_keys(key: str, parent: str) -> None:
    assert parent_key_path(key) == parent


def test_locate_places_an_absent_key_under_its_nearest_parent(tmp_path: Path) -> None:
    path = tmp_path / "my.yaml"
    path.write_text(VALUES, encoding="utf-8")
    values = load_values(str(path))
    present = values.locate("ingress.enabled")
    assert (present.line, present.parent, present.absent) == (4, None, False)
    assert present.placement() == f"{path}:4"

    under = values.locate("mongodb.auth.passwords")
    assert under.absent and under.parent == "mongodb.auth" and under.line == 6
    assert under.placement() == f"add it under mongodb.auth ({path}:6)"
    assert str(under) == f"{path}: mongodb.auth.passwords is not set; add it under mongodb.auth ({path}:6)"

    top = values.locate("image.tag")
    assert top.absent and top.parent == "" and top.line is None
    assert top.placement() == f"add it at the top level of {path}"

    quoted = values.locate('ingress.annotations["nginx.org/x"]')
    assert quoted.parent == "ingress" and quoted.line == 3, quoted


def test_the_derived_remedy_says_where_to_add_the_key() -> None:
    absent = Location("my.yaml", "mongodb.auth.passwords", 6, 3, parent="mongodb.auth")
    remedy = Finding("r.x", Verdict.FAIL, "m", location=absent).fixed_by
    assert remedy.absent and remedy.line() == (
        "values: set mongodb.auth.passwords: add it under mongodb.auth (my.yaml:6)"
    )
    top = Location("my.yaml", "mongodb.enabled", parent="")
    assert Finding("r.x", Verdict.FAIL, "m", location=top).fixed_by.line() == (
        "values: set mongodb.enabled: add it at the top level of my.yaml"
    )


def test_check_output_names_the_parent_and_its_line(tmp_path: Path) -> None:
    """Through ``conformance check``: text and JSON say where each absent key goes; no absent key is shown
    at another key's line (the old output printed ``my.yaml:5:1 (mongodb.auth.passwords)``: line 5 holds
    ``mongodb:``)."""
    path = tmp_path / "my.yaml"
    path.write_text(VALUES, encoding="utf-8")
    out = io.StringIO()
    main(["check", str(path), "--helm", HELM3], out=out, err=io.StringIO())
    text = out.getvalue()
    assert f"values: set mongodb.auth.passwords: add it under mongodb.auth ({path}:6)" in text, text
    assert f"values: set mongodb.enabled: add it under mongodb ({path}:5)" in text, text
    assert f"values: set ingress.ingressClassName: add it under ingress ({path}:3)" in text, text
    assert "(mongodb.auth.passwords)" not in text and "(mongodb.enabled)" not in text, text

    report = tmp_path / "r.json"
    main(["check", str(path), "--helm", HELM3, "--format", "json", "-o", str(report)], out=io.StringIO())
    findings = [
        f
        for case in json.loads(report.read_text(encoding="utf-8"))["cases"]
        for rule in case["rules"]
        for f in rule["findings"]
        if f["location"] and f["location"]["key_path"] == "mongodb.auth.passwords"
    ]
    assert findings, "no finding about mongodb.auth.passwords"
    loc, fixed = findings[0]["location"], findings[0]["fixed_by"]
    assert loc["parent"] == "mongodb.auth" and loc["line"] == 6, loc
    assert fixed["absent"] and fixed["where"] == f"add it under mongodb.auth ({path}:6)", fixed


def test_an_absent_key_with_no_parent_goes_at_the_top_level(tmp_path: Path) -> None:
    path = tmp_path / "bare.yaml"
    path.write_text("microservices:\n  enabled: true\n", encoding="utf-8")
    out = io.StringIO()
    main(["check", str(path), "--helm", HELM3], out=out, err=io.StringIO())
    text = out.getvalue()
    assert f"values: set ingress.enabled: add it at the top level of {path}" in text, text
    assert f"values: set mongodb.enabled: add it at the top level of {path}" in text, text
