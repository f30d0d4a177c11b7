"""Renders done once: an upgrade render equals the install render when nothing in the chart reads the release
state, background renders are handed over one by one, and a refused first attempt is not rendered again."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from quickmeet_conformance.chart_reads import reads_release_state
from quickmeet_conformance.charts import Chart, load_chart
from quickmeet_conformance.errors import RenderError
from quickmeet_conformance.helm import HelmBinary
from quickmeet_conformance.pipeline import STAND_IN, prefetch_upgrades, render_upgrade
from quickmeet_conformance.render import Renderer, RenderRequest

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "fixtures" / "charts" / "rocketchat"
VALUES = {"microservices": {"enabled": True}}


def _chart(root: Path, files: dict[str, str]) -> Path:
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 1.0.0\n", encoding="utf-8")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("files", "reads"),
    [
        ({"templates/cm.yaml": "name: {{ .Release.Name }}-{{ .Release.Namespace }}\n"}, False),
        ({"templates/cm.yaml": "{{ if .Release.IsInstall }}x: 1{{ end }}\n"}, True),
        ({"templates/_helpers.tpl": '{{ define "x" }}{{ .Release.IsUpgrade }}{{ end }}\n'}, True),
        ({"templates/s.yaml": '{{ $s := lookup "v1" "Secret" "ns" "n" }}\n'}, True),
        ({"templates/cm.yaml": "release: {{ toYaml .Release }}\n"}, True),  # the whole object
        (
            {
                "templates/cm.yaml": "{{ tpl .Values.x . }}\n",
                "values.yaml": "x: '{{ .Release.IsUpgrade }}'\n",
            },
            True,
        ),
        (
            {
                "charts/sub/Chart.yaml": "name: sub\nversion: 1.0.0\n",
                "charts/sub/templates/a.tpl": ".Release.IsInstall",
            },
            True,
        ),
        ({"charts/sub-1.0.0.tgz": "unread"}, True),  # a packaged subchart is not read: assume it differs
    ],
)
def test_what_reads_the_release_state(tmp_path: Path, files: dict[str, str], reads: bool) -> None:
    assert reads_release_state(_chart(tmp_path, files)) is reads


def test_released_charts_read_it_and_the_bundled_chart_does_not() -> None:
    assert reads_release_state(BUNDLED) is False
    upstream = sorted(Path("/work/shared/upstream-charts").glob("rocketchat-*")) or sorted(
        (REPO.parent / "shared" / "upstream-charts").glob("rocketchat-*")
    )
    for chart_dir in upstream:  # chat-deployment.yaml tests .Release.IsInstall; bitnami's helpers too
        assert reads_release_state(chart_dir), chart_dir


def _request(chart: Chart, values: dict, **changes) -> RenderRequest:
    return replace(RenderRequest(chart, values, kube_version="1.35.0", values_label="v.yaml"), **changes)


def test_upgrade_render_is_the_install_render_only_when_nothing_reads_the_state(tmp_path: Path) -> None:
    helm = HelmBinary("/bin/helm", "v3.17.3")
    chart = Chart(spec="x", path=tmp_path, name="x", version="1", app_version="1", upgrade_renders_alike=True)
    install, upgrade = _request(chart, VALUES), _request(chart, VALUES, is_upgrade=True)
    assert upgrade.cache_key(helm) == install.cache_key(helm)
    assert _request(chart, VALUES, is_upgrade=True, attempt=1).cache_key(helm) != install.cache_key(helm)
    unread = replace(chart, upgrade_renders_alike=False)  # unknown (not analysed) or read: render it
    assert _request(unread, VALUES, is_upgrade=True).cache_key(helm) != _request(unread, VALUES).cache_key(
        helm
    )
    tpl = {"extra": "{{ if .Release.IsUpgrade }}u{{ end }}"}  # values a template may pass to tpl
    assert _request(chart, tpl, is_upgrade=True).cache_key(helm) != _request(chart, tpl).cache_key(helm)


def test_bundled_chart_upgrade_render_is_helms_and_costs_nothing(renderer: Renderer, tmp_path: Path) -> None:
    chart = load_chart(str(BUNDLED), version=None, helm_path=renderer.helm.path, workdir=tmp_path)
    assert chart.upgrade_renders_alike
    fresh = Renderer(renderer.helm)
    fresh.prefetch([_request(chart, VALUES)])
    reused = fresh.render(_request(chart, VALUES, is_upgrade=True))
    assert fresh.renders == 1
    # what helm itself renders with --is-upgrade (the chart marked unread, so it is rendered)
    helms = Renderer(renderer.helm).render(
        _request(replace(chart, upgrade_renders_alike=False), VALUES, is_upgrade=True)
    )
    assert reused.text == helms.text


def _fake_helm(tmp_path: Path, body: str) -> HelmBinary:
    script = tmp_path / "helm"
    script.write_text(f"#!/bin/sh\ncat > /dev/null\n{body}\n", encoding="utf-8")
    script.chmod(0o755)
    return HelmBinary(str(script), "v3.17.3")


def test_a_render_is_handed_over_before_the_batch_ends(tmp_path: Path) -> None:
    # values "slow" sleep 3 s in the fake helm; the first render must be usable long before
    helm = _fake_helm(tmp_path, 'case "$*" in *is-upgrade*) sleep 3;; esac\necho "kind: ConfigMap"')
    chart = Chart(spec="x", path=tmp_path, name="x", version="1", app_version="1")
    renderer = Renderer(helm)
    fast, slow = _request(chart, {"a": 1}), _request(chart, {"a": 1}, is_upgrade=True)
    started = time.monotonic()
    renderer.start([fast, slow])
    assert renderer.render(fast).find("ConfigMap")
    assert time.monotonic() - started < 2.5
    renderer.prefetch([slow])  # waits for the background render, never starts it again
    assert renderer.renders == 2
    renderer.close()


def test_a_refused_first_attempt_is_not_rendered_again(tmp_path: Path) -> None:
    refusal = (
        "Error: execution error at (demo/charts/mongodb/templates/secrets.yaml:1:2): PASSWORDS ERROR: "
        "'auth.rootPassword' must not be empty"
    )
    script = tmp_path / "helm"  # refuses until the values carry the stand-in, as bitnami's upgrade check does
    script.write_text(
        f"#!/bin/sh\ncat > {tmp_path}/last\n"
        f'if grep -q {STAND_IN} {tmp_path}/last; then echo "kind: Secret"; else echo "{refusal}" >&2; exit 1; fi\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    helm = HelmBinary(str(script), "v3.17.3")
    chart = Chart(spec="x", path=tmp_path, name="demo", version="1", app_version="1")
    renderer = Renderer(helm)
    first, second = _request(chart, {}, is_upgrade=True), _request(chart, {}, is_upgrade=True, attempt=1)
    prefetch_upgrades(renderer, [first, second])
    # refused first attempt, its stand-in render, and the stand-in render of the second attempt: no more
    assert renderer.renders == 3
    for request in (first, second):
        rendered, error, standins = render_upgrade(renderer, request)
        assert rendered is not None and error is None and standins == ("mongodb.auth.rootPassword",)
    assert renderer.renders == 3
    assert isinstance(renderer.cached(first), RenderError)
