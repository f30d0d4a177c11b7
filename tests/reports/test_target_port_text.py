"""The services.target-port text (issue 22): it says once which Service port targets which container port, by
name, and lists each port the pods listen on once, without internal labels (the old text listed 3000
three times, once as "ddp-streamer default (CONTRACT.md > Components)")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mutants import load_mutant, materialize

from quickmeet_conformance.charts import load_chart
from quickmeet_conformance.pipeline import Case, evaluate_case

MUTANTS = Path(__file__).resolve().parents[2] / "fixtures" / "mutants" / "static"
FIXTURES = MUTANTS.parents[1]


def _failed(name: str, renderer, tmp_path: Path) -> list:
    mutant = load_mutant(MUTANTS / f"{name}.yaml")
    chart_dir, values = materialize(mutant, FIXTURES, tmp_path)
    chart = load_chart(str(chart_dir), version=None, helm_path=renderer.helm.path, workdir=tmp_path)
    result = evaluate_case(Case(chart, str(values), renderer))
    return [f for f in result.findings["services.target-port"] if f.failed]


def _numbers(text: str) -> list[str]:
    return re.findall(r"\b\d{4}\b", text)


@pytest.mark.parametrize("helm", ["helm3"], indirect=True)
def test_a_port_nothing_listens_on_is_said_once_by_name(renderer, tmp_path: Path) -> None:
    (finding,) = _failed("services-target-port--numeric-not-listening", renderer, tmp_path)
    assert finding.message.startswith(
        "Service/rocketchat-ddp-streamer port http (3000) targets 3001, a port ddp-streamer "
        "(Deployment/rocketchat-ddp-streamer) does not listen on; Ingress/rocketchat-rocketchat sends "
        "/websocket here"
    ), finding.message
    assert finding.found == "it listens on 3000 (http, env PORT), 9458 (metrics)", finding.found
    for text in (finding.message, finding.found, finding.expected):
        assert "CONTRACT.md" not in text and "default (" not in text, text
        numbers = _numbers(text)
        assert len(numbers) == len(set(numbers)), f"a port repeated: {text}"


@pytest.mark.parametrize("helm", ["helm3"], indirect=True)
def test_a_service_port_targeting_its_own_number_names_it_once(renderer, tmp_path: Path) -> None:
    found = _failed("services-target-port--unused-port-warning", renderer, tmp_path)
    assert found, "the leafnodes port should be reported"
    for finding in found:
        assert " port leafnodes targets 7422, where nothing in nats " in finding.message, finding.message
        assert finding.message.count("7422") == 1, finding.message
        assert finding.found == "it listens on 4222 (client), 6222 (cluster), 8222 (monitor)", finding.found
