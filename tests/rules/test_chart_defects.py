"""How a rule tells a chart defect from a values fix: the keys the chart reads, and whether the template line
that writes the value is literal text (no ``{{ }}``)."""

from __future__ import annotations

from pathlib import Path

from quickmeet_conformance.chart_reads import reads_path, template_literal, values_read_by_templates


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
