"""How a rule tells a chart defect from a values fix: the keys the chart reads, and whether the template line
that writes the value is literal text (no ``{{ }}``)."""

from __future__ import annotations

from pathlib import Path

from quickmeet_conformance.chart_reads import reads_path, template_literal, values_read_by_templates
from quickmeet_conformance.charts import Chart, Dependency
from quickmeet_conformance.findings import FixKind
from quickmeet_conformance.rules.chart_defects import condition_remedy, default_value_remedy
from quickmeet_conformance.values import deep_merge, parse_values


def _chart(tmp_path: Path, template: str) -> Path:
    (tmp_path / "templates").mkdir()
    (tmp_path / "Chart.yaml").write_text("name: c\nversion: 1.0.0\n", encoding="utf-8")
    (tmp_path / "templates" / "hub.yaml").write_text(template, encoding="utf-8")
    return tmp_path


def test_a_literal_template_line_is_hard_coded(tmp_path: Path) -> None:
    # the template reads one other key: a chart whose reads are empty counts as unknown, and unknown reads all
    chart = _chart(
        tmp_path,
        "spec:\n  replicas: {{ .Values.replicas }}\n  strategy:\n    rollingUpdate:\n      maxSurge: 1\n",
    )
    assert template_literal(chart, "c/templates/hub.yaml", r"^\s*maxSurge:") == ("templates/hub.yaml:5", True)
    assert reads_path(values_read_by_templates(chart), "microservices.streamHub.strategy") is False


def test_a_templated_line_or_a_read_key_is_not(tmp_path: Path) -> None:
    chart = _chart(
        tmp_path,
        "spec:\n  strategy:\n{{- toYaml .Values.microservices.streamHub.strategy | nindent 4 }}\n"
        "  env:\n  - name: RETRY_ENABLED\n    value: {{ .Values.retry | quote }}\n",
    )
    reads = values_read_by_templates(chart)
    assert reads_path(reads, "microservices.streamHub.strategy")
    assert reads_path(reads, "microservices.streamHub.strategy.type")  # read as a whole by toYaml
    assert template_literal(chart, "c/templates/hub.yaml", r"^\s*maxSurge:") == ("templates/hub.yaml", False)
    assert template_literal(chart, "c/templates/hub.yaml", r"name:\s*RETRY_ENABLED", following=1) == (
        "templates/hub.yaml:5",
        False,
    )
    assert template_literal(chart, "c/templates/gone.yaml", "x") == ("templates/gone.yaml", False)


def _toy(tmp_path: Path, chart_yaml: str, values_yaml: str = "") -> Chart:
    (tmp_path / "Chart.yaml").write_text(chart_yaml, encoding="utf-8")
    (tmp_path / "values.yaml").write_text(values_yaml, encoding="utf-8")
    defaults = parse_values(values_yaml, "values.yaml").data
    return Chart(str(tmp_path), tmp_path, "c", "1.0.0", "7.0.0", defaults=defaults)


def test_an_unreadable_dependency_condition_is_the_chart_s_with_a_values_workaround(tmp_path: Path) -> None:
    """The false claim of 6.26.0-6.31.0 (issue 22): 'values: set dependencies (Chart.yaml)' for a condition
    Chart.yaml hard-codes; the fix is Chart.yaml's line, the workaround the condition's first path."""
    chart = _toy(
        tmp_path,
        "name: c\nversion: 1.0.0\ndependencies:\n  - name: nats\n    condition: nats.enabled, microservices.enabled\n",
    )
    dep = Dependency("nats", "nats", "nats.enabled, microservices.enabled")
    remedy = condition_remedy(chart, dep, " microservices.enabled", False)
    assert (remedy.kind, remedy.template, remedy.hard_coded, remedy.key_path) == (
        FixKind.CHART,
        "Chart.yaml:5",
        True,
        "nats.enabled",
    )
    assert remedy.workaround.startswith("values: set nats.enabled: false (what microservices.enabled says)")
    assert remedy.line() == (
        "chart: Chart.yaml:5 hard-codes this; no values key fixes it (setting nats.enabled works around it)"
    )


POD_LEVEL = "securityContext:\n  runAsUser: 999\n  fsGroup: 999\n"
DEFAULTS = POD_LEVEL + "containerSecurityContext:\n  runAsUser: 999\n  fsGroup: 999\n"
CONTAINER = "spec.template.spec.containers.0.securityContext"


def test_an_invalid_field_from_the_chart_s_defaults_is_the_chart_s(tmp_path: Path) -> None:
    """6.26.0's container securityContext.fsGroup: copied whole from containerSecurityContext (values.yaml:6),
    not from the equal pod-level securityContext; workaround: the key set to null."""
    chart = _toy(tmp_path, "name: c\nversion: 1.0.0\n", DEFAULTS)
    copied = {"runAsUser": 999, "fsGroup": 999}
    remedy = default_value_remedy(
        chart, chart.defaults, parse_values("{}\n", "v.yaml"), copied, "fsGroup", CONTAINER
    )
    assert remedy is not None and (remedy.kind, remedy.template, remedy.key_path) == (
        FixKind.CHART,
        "values.yaml:6",
        "containerSecurityContext.fsGroup",
    )
    assert remedy.hard_coded and "containerSecurityContext.fsGroup: null" in remedy.workaround


def test_an_invalid_field_the_user_s_values_set_is_theirs(tmp_path: Path) -> None:
    chart = _toy(tmp_path, "name: c\nversion: 1.0.0\n", DEFAULTS)
    mine = parse_values("image:\n  tag: x\ncontainerSecurityContext:\n  fsGroup: 1000\n", "mine.yaml")
    merged = deep_merge(chart.defaults, mine.data)
    copied = {"runAsUser": 999, "fsGroup": 1000}
    remedy = default_value_remedy(chart, merged, mine, copied, "fsGroup", CONTAINER)
    assert remedy is not None and remedy.kind == FixKind.VALUES
    assert (remedy.key_path, remedy.where) == ("containerSecurityContext.fsGroup", "mine.yaml:4")
    assert default_value_remedy(chart, merged, mine, {"other": 1}, "other", CONTAINER) is None
