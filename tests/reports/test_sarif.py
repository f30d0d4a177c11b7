"""SARIF: valid against the official 2.1.0 schema (vendored, see data/SOURCE.md), one result per failed
finding, located at the values key (line, column) or at the chart template, with rule metadata."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import jsonschema
import pytest

from quickmeet_conformance.charts import load_chart
from quickmeet_conformance.helm import resolve_helm
from quickmeet_conformance.pipeline import Case, evaluate_case
from quickmeet_conformance.render import Renderer
from quickmeet_conformance.reports.sarif import artifact_location, sarif_log, template_path
from quickmeet_conformance.rules.engine import RULES

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
HELM3 = str(REPO / ".tools/bin/helm3")
HELM4 = str(REPO / ".tools/bin/helm4")


def validate(log: dict) -> None:
    jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER).validate(log)


def test_the_vendored_schema_is_the_official_one_and_strict() -> None:
    assert SCHEMA["id"].endswith("/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json")
    jsonschema.Draft4Validator.check_schema(SCHEMA)
    broken = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "x"}},
                "results": [{"ruleId": "r", "level": "fatal", "message": {"text": "m"}}],
            }
        ],
    }
    with pytest.raises(jsonschema.ValidationError):
        validate(broken)


@pytest.fixture
def sarif_of_bad_values(
    bad_values: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict, Path]:
    """The SARIF log of bad.yaml evaluated in process, with the working directory at its folder."""
    monkeypatch.chdir(tmp_path)
    helm = resolve_helm(HELM3)
    chart_dir = tmp_path / "charts" / "rocketchat"
    shutil.copytree(REPO / "fixtures/charts/rocketchat", chart_dir)
    chart = load_chart("charts/rocketchat", version=None, helm_path=helm.path, workdir=tmp_path)
    result = evaluate_case(Case(chart, "bad.yaml", Renderer(helm)))
    return sarif_log([result]), tmp_path


def _results(log: dict, rule_id: str) -> list[dict]:
    return [r for r in log["runs"][0]["results"] if r["ruleId"] == rule_id]


def test_sarif_validates_and_has_one_result_per_failed_finding(
    sarif_of_bad_values: tuple[dict, Path],
) -> None:
    log, _ = sarif_of_bad_values
    validate(log)
    run = log["runs"][0]
    assert log["version"] == "2.1.0" and run["tool"]["driver"]["name"] == "quickmeet-conformance"
    by_rule = {
        rid: len(_results(log, rid))
        for rid in ("values.schema", "values.ignored-keys", "streamhub.single-replica", "hygiene.resources")
    }
    assert by_rule["values.schema"] == 1 and by_rule["values.ignored-keys"] == 1, by_rule
    assert by_rule["streamhub.single-replica"] >= 1 and by_rule["hygiene.resources"] == 6, by_rule
    assert not [r for r in run["results"] if r["ruleId"] == "render.succeeds"], (
        "a passing rule became a result"
    )
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels["values.schema"] == "error" and levels["hygiene.resources"] == "warning"


def test_values_faults_point_at_the_key_line_and_column(sarif_of_bad_values: tuple[dict, Path]) -> None:
    log, base = sarif_of_bad_values
    (schema_result,) = _results(log, "values.schema")
    physical = schema_result["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": "bad.yaml", "uriBaseId": "%SRCROOT%"}
    assert physical["region"] == {"startLine": 8, "startColumn": 5}  # microservices.streamHub.replicas
    (typo,) = _results(log, "values.ignored-keys")
    assert typo["locations"][0]["physicalLocation"]["region"] == {"startLine": 4, "startColumn": 3}
    assert (
        "ddpStreamers" in typo["message"]["text"]
        and typo["properties"]["keyPath"] == "microservices.ddpStreamers"
    )
    assert log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == base.resolve().as_uri() + "/"


def test_chart_faults_point_at_the_template_in_the_chart_directory(
    sarif_of_bad_values: tuple[dict, Path],
) -> None:
    log, base = sarif_of_bad_values
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in _results(log, "hygiene.resources")
    }
    assert "charts/rocketchat/templates/deployment.yaml" in uris
    for uri in uris:
        assert (base / uri).is_file(), f"{uri} is not a file below the working directory"
    result = next(
        r
        for r in _results(log, "hygiene.resources")
        if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("/deployment.yaml")
    )
    assert result["locations"][0]["logicalLocations"][0]["name"] == "Deployment/rocketchat-rocketchat"
    assert result["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "bad.yaml"


def test_rule_metadata_cites_the_contract_and_the_fix(sarif_of_bad_values: tuple[dict, Path]) -> None:
    log, _ = sarif_of_bad_values
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    for result in log["runs"][0]["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    descriptor = next(r for r in rules if r["id"] == "streamhub.single-replica")
    meta = RULES["streamhub.single-replica"]
    assert descriptor["shortDescription"]["text"] == meta.title
    # issue 22: the help cites the public document (a customer has no CONTRACT.md); the contract section is
    # kept as its own property (this test pinned it in fullDescription and help before)
    assert meta.doc in descriptor["fullDescription"]["text"] and descriptor["helpUri"] == meta.doc
    assert meta.fix in descriptor["help"]["text"] and meta.doc in descriptor["help"]["text"]
    assert "CONTRACT.md" not in json.dumps([descriptor["help"], descriptor["fullDescription"]])
    assert descriptor["properties"]["contract"] == meta.contract
    assert descriptor["defaultConfiguration"]["level"] == "error"
    assert (
        next(r for r in rules if r["id"] == "hygiene.resources")["defaultConfiguration"]["level"] == "warning"
    )


def test_paths_outside_the_working_directory_are_absolute_file_uris(tmp_path: Path) -> None:
    inside = artifact_location("a b/values.yaml", tmp_path)
    assert inside == {"uri": "a%20b/values.yaml", "uriBaseId": "%SRCROOT%"}
    outside = artifact_location("/etc/values.yaml", tmp_path)
    assert outside == {"uri": "file:///etc/values.yaml"}


def test_template_sources_map_into_the_chart_directory(tmp_path: Path) -> None:
    chart = load_chart(
        str(REPO / "fixtures/charts/rocketchat"), version=None, helm_path=HELM3, workdir=tmp_path
    )
    assert template_path(chart, "rocketchat/templates/ingress.yaml") == chart.path / "templates/ingress.yaml"
    assert (
        template_path(chart, "rocketchat/charts/nats/templates/sts.yaml")
        == chart.path / "charts/nats/templates/sts.yaml"
    )


def test_plugin_writes_sarif_merging_helm_majors(run_plugin, bad_values: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "conformance.sarif"
    run = run_plugin(
        "--values",
        os.path.relpath(bad_values, REPO),
        "--helm",
        HELM3,
        "--helm",
        HELM4,
        "-q",
        "--sarif",
        str(out),
    )
    assert run.returncode == 1, run.explain()
    log = json.loads(out.read_text(encoding="utf-8"))
    validate(log)
    (schema_result,) = _results(log, "values.schema")
    assert schema_result["properties"]["helm"] == ["helm3", "helm4"]
    assert log["runs"][0]["invocations"][0]["executionSuccessful"] is True


def test_env_var_selects_sarif_and_setup_errors_become_notifications(run_plugin, tmp_path: Path) -> None:
    from suite_runner import clean_env

    bad = tmp_path / "broken.yaml"
    bad.write_text("replicaCount: [1\n", encoding="utf-8")
    out = tmp_path / "env.sarif"
    run = run_plugin("--values", str(bad), "--helm", HELM3, env=clean_env(QMC_SARIF=str(out)))
    assert run.returncode == 4, run.explain()
    log = json.loads(out.read_text(encoding="utf-8"))
    validate(log)
    invocation = log["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False and log["runs"][0]["results"] == []
    assert "broken.yaml" in invocation["toolExecutionNotifications"][0]["message"]["text"]


# -- upgrade and live findings, rule help -----------------------------------------------------------------
def _upgrade_sections(mutant_file: str, tmp_path: Path) -> dict:
    """The ``upgrades`` section of the report model for one upgrade mutant, evaluated in process."""
    from mutants import load_mutant, upgrade_case_of

    from quickmeet_conformance.reports.upgrade import upgrade_result_dict
    from quickmeet_conformance.upgrade import evaluate_upgrade

    mutant = load_mutant(REPO / "fixtures/mutants/upgrade" / mutant_file)
    case = upgrade_case_of(mutant, REPO / "fixtures", tmp_path, Renderer(resolve_helm(HELM3)))
    return {"upgrades": [upgrade_result_dict(evaluate_upgrade(case))]}


def test_sarif_carries_upgrade_findings_at_their_values_key_or_template(tmp_path: Path) -> None:
    """An upgrade finding on a values key points at that key's line; one on a rendered resource at the
    to-side chart's template (a chart directory)."""
    sections = _upgrade_sections("renamed-values-keys--storage-class.yaml", tmp_path)
    sections["upgrades"] += _upgrade_sections("immutable-fields--ddp-streamer-selector.yaml", tmp_path)[
        "upgrades"
    ]
    log = sarif_log([], base_dir=tmp_path, sections=sections)
    validate(log)
    renamed = _results(log, "upgrade.renamed-values-keys")
    assert renamed, "the renamed values key should be a SARIF result"
    region = renamed[0]["locations"][0]["physicalLocation"]
    assert region["artifactLocation"]["uri"].endswith(".yaml") and region["region"]["startLine"] >= 1, region
    assert renamed[0]["properties"]["lane"] == "upgrade"
    immutable = _results(log, "upgrade.immutable-fields")
    assert immutable, "the selector change should be a SARIF result"
    uri = immutable[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert "/templates/" in uri and uri.endswith(".yaml"), uri
    names = {r["locations"][0]["logicalLocations"][0]["name"] for r in immutable}
    assert "Deployment/rocketchat-ddp-streamer" in names, names


def test_sarif_carries_live_findings_with_a_location_only() -> None:
    """A live finding at a values key becomes a result; one without a location (a cluster observation) is
    left to the JSON report."""
    finding = {
        "rule_id": "live.drift",
        "verdict": "fail",
        "message": "replicas changed by hand",
        "severity": "error",
        "expected": "2",
        "found": "3",
        "resource": "Deployment/x",
        "field_path": "spec.replicas",
        "location": {"file": "values.yaml", "key_path": "replicaCount", "line": 1, "column": 1},
        "evidence": [],
    }
    unlocated = {**finding, "message": "no location", "location": None}
    sections = {
        "live": {
            "cases": [
                {
                    "id": "v@helm3",
                    "rules": [{"id": "live.drift", "verdict": "fail", "findings": [finding, unlocated]}],
                }
            ]
        }
    }
    log = sarif_log([], sections=sections)
    validate(log)
    results = _results(log, "live.drift")
    assert [r["message"]["text"].splitlines()[0] for r in results] == [
        "replicas changed by hand [Deployment/x.spec.replicas] at values.yaml:1:1 (replicaCount)"
    ], results


def test_every_rule_descriptor_has_help_and_a_help_uri_that_resolves(tmp_path: Path) -> None:
    """helpUri is the rule's public document (issue 22: it was the bundled docs/rules.md, a file:// URL no
    code-scanning page can open); docs/rules.md#<rule id> (through the package's link to it) stays as
    ``properties.rulesDocUri``: the file exists and has that anchor for every rule of the registry."""
    from urllib.parse import urlparse

    from quickmeet_conformance.reports.sarif import rule_descriptor
    from quickmeet_conformance.rules.engine import rules_for_lane

    for lane in ("static", "upgrade", "live"):
        rules_for_lane(lane)
    for rule_obj in RULES.values():
        descriptor = rule_descriptor(rule_obj)
        assert descriptor["help"]["text"] and descriptor["help"]["markdown"], rule_obj.id
        assert descriptor["helpUri"] == rule_obj.doc and urlparse(rule_obj.doc).scheme == "https", rule_obj.id
        uri = urlparse(descriptor["properties"]["rulesDocUri"])
        doc = Path(uri.path)
        assert uri.scheme == "file" and doc.is_file(), descriptor["properties"]["rulesDocUri"]
        assert uri.fragment == rule_obj.id and f'<a id="{rule_obj.id}"></a>' in doc.read_text(
            encoding="utf-8"
        ), f"{doc} has no anchor for {rule_obj.id}: regenerate docs/rules.md"
