"""CaseKey: a case has one id, the same in pytest's test ids and in every report."""

from __future__ import annotations

from pathlib import Path

from quickmeet_conformance.case_key import CaseKey, case_id
from quickmeet_conformance.session import ConformanceSession, Settings


def test_values_and_upgrade_keys_name_their_case() -> None:
    assert CaseKey.for_values("fixtures/values/seed-docs.yaml", ".tools/bin/helm3").id == "seed-docs@helm3"
    assert CaseKey.for_values("a/base.yaml+b/prod.yaml", "helm").id == "base+prod@helm"
    assert (
        CaseKey.for_upgrade(0, "monolith-to-microservices", "/opt/helm4").id
        == "monolith-to-microservices@helm4"
    )
    assert case_id("seed-docs", "/usr/local/bin/helm") == "seed-docs@helm"


def test_keys_are_hashable_and_equal_by_value() -> None:
    first = CaseKey.for_values("v.yaml", "helm")
    assert (
        first == CaseKey.for_values("v.yaml", "helm")
        and len({first, CaseKey.for_values("v.yaml", "helm")}) == 1
    )
    assert first != CaseKey.for_values("v.yaml", "helm3")


def test_the_session_keys_its_cases_before_helm_runs() -> None:
    """The test id is made at collection, before any helm is asked its version: the key needs no helm."""
    settings = Settings(
        chart="c", chart_version=None, values=("x/a.yaml", "b.yaml"), helm=("h/helm3", "helm")
    )
    session = ConformanceSession(settings)
    try:
        assert [k.id for k in session.case_keys()] == ["a@helm3", "a@helm", "b@helm3", "b@helm"]
        assert [k.values for k in session.case_keys()][:2] == ["x/a.yaml", "x/a.yaml"]
    finally:
        session.close()


def test_a_resolved_helm_keeps_the_name_the_key_gave(tmp_path: Path) -> None:
    """A report's id comes from the resolved helm's path: its file name is the one the test id used."""
    from quickmeet_conformance.helm import HelmBinary

    resolved = HelmBinary(path=str(tmp_path / "bin" / "helm"), version="v3.17.3")
    assert case_id("seed-docs", resolved.path) == CaseKey.for_values("seed-docs.yaml", "helm").id
