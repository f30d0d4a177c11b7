"""Property-based tests: no input makes the loader or the rule engine crash.

- ``parse_values`` on arbitrary text, bytes, YAML-ish text and dumped nested values raises nothing but
  UserError (and what it accepts round-trips).
- Every static rule, over random mutations of the good fixtures' values, yields findings and never an
  "internal error" (a rule crash). For speed the rules see a topology rendered once per fixture;
  a smaller set of mutations goes through ``evaluate_case`` with real helm renders, end to end.

Examples per run: 300 + 150 + 200 (loader), 250 (rules on fixed renders), 20 (real renders).
"""

from __future__ import annotations

import functools
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from quickmeet_conformance.charts import Chart, load_chart
from quickmeet_conformance.errors import UserError
from quickmeet_conformance.expectations import expectations_for
from quickmeet_conformance.findings import Verdict
from quickmeet_conformance.helm import resolve_helm
from quickmeet_conformance.pipeline import Case, evaluate_case
from quickmeet_conformance.render import Rendered, Renderer, RenderRequest
from quickmeet_conformance.rules.context import StaticContext
from quickmeet_conformance.rules.engine import Options, evaluate_rule, rules_for_lane
from quickmeet_conformance.topology import ComponentMatcher, build_topology
from quickmeet_conformance.values import ValuesFile, deep_merge, load_values, parse_values

REPO = Path(__file__).resolve().parents[2]
CHART_DIR = REPO / "fixtures/charts/rocketchat"
BASES = ["monolith.yaml", "microservices-scaled.yaml", "old-app-streamhub.yaml", "external-nats-secret.yaml"]
# CI runs the same examples every time (a red CI is then reproducible); developers explore new ones
FAST = dict(
    deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=bool(os.environ.get("CI"))
)

# -- the loader ------------------------------------------------------------------------------------
YAML_TOKENS = [
    "a",
    "b",
    "replicaCount",
    "microservices",
    ":",
    ": ",
    "\n",
    "  ",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "&x ",
    "*x",
    "<<: *x",
    "!!str ",
    "!!map ",
    "!!set ",
    "!!python/object:os.system ",
    "!Ref ",
    "? ",
    "|",
    ">",
    "'",
    '"',
    "#",
    "---\n",
    "...\n",
    "%YAML 1.1\n",
    "1",
    "-1",
    "1e400",
    ".nan",
    "~",
    "null",
    "true",
    "{{ .Values.x }}",
    "\t",
    "\x00",
    "\ufeff",
    "é",
    "\U0001f600",
    "\\",
    "@",
    "`",
]
yamlish = st.lists(st.sampled_from(YAML_TOKENS), max_size=40).map("".join)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        ["7.5.0", "7.7.3", "8.0.0", "latest", "v8.1.0", "", "nats://x:4222", "mongodb://u:p@h/db"]
    ),
)
nested = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


def _only_user_errors(text: str | bytes) -> ValuesFile | None:
    try:
        return parse_values(text, "prop.yaml")
    except UserError as exc:
        assert "\n" not in exc.line(), f"not one line: {exc.line()!r}"
        return None


@settings(max_examples=300, **FAST)
@given(st.one_of(st.text(max_size=300), yamlish))
def test_parse_values_raises_only_user_errors_on_text(text: str) -> None:
    _only_user_errors(text)


@settings(max_examples=150, **FAST)
@given(st.binary(max_size=300))
def test_parse_values_raises_only_user_errors_on_bytes(raw: bytes) -> None:
    _only_user_errors(raw)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b and type(a) is type(b)


@settings(max_examples=200, **FAST)
@given(st.dictionaries(st.text(max_size=10), nested, max_size=6))
def test_dumped_values_round_trip(data: dict[str, Any]) -> None:
    loaded = _only_user_errors(yaml.safe_dump(data))  # ASCII with escapes: PyYAML emits a raw NEL otherwise
    if loaded is not None:
        assert _same(loaded.data, data)


# -- the rule engine ---------------------------------------------------------------------------------
KEY_PATHS = [
    ("replicaCount",),
    ("image",),
    ("image", "tag"),
    ("image", "repository"),
    ("microservices",),
    ("microservices", "enabled"),
    ("microservices", "ddpStreamer"),
    ("microservices", "ddpStreamer", "replicas"),
    ("microservices", "presence", "replicas"),
    ("microservices", "account", "replicas"),
    ("microservices", "authorization", "replicas"),
    ("microservices", "streamHub", "replicas"),
    ("microservices", "streamHub", "enabled"),
    ("microservices", "nats", "replicas"),
    ("nats",),
    ("nats", "enabled"),
    ("nats", "existingSecret"),
    ("nats", "existingSecret", "name"),
    ("nats", "cluster", "replicas"),
    ("mongodb",),
    ("mongodb", "enabled"),
    ("mongodb", "auth", "passwords"),
    ("mongodb", "auth", "rootPassword"),
    ("externalMongodbUrl",),
    ("existingMongodbSecret",),
    ("host",),
    ("ingress",),
    ("ingress", "enabled"),
    ("ingress", "ingressClassName"),
    ("ingress", "tls"),
    ("ingress", "annotations"),
    ("resources",),
    ("microservices", "ddpStreamer", "resources"),
]
mutation = st.tuples(
    st.one_of(
        st.sampled_from(KEY_PATHS),
        st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=3).map(tuple),
    ),
    nested,
)


def _mutate(data: dict[str, Any], changes: list[tuple[tuple[str, ...], Any]]) -> dict[str, Any]:
    result = yaml.safe_load(yaml.safe_dump(data))
    for path, value in changes:
        node = result
        for key in path[:-1]:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[path[-1]] = value
    return result


def _values_file(data: dict[str, Any]) -> ValuesFile | None:
    """The mutated values as the loader would give them (with positions), or None if it refuses them."""
    try:
        return parse_values(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "mutated.yaml")
    except UserError:
        return None


@functools.lru_cache(maxsize=1)
def helm3_renderer() -> Renderer:
    """One renderer (and render cache) for the module; not a fixture, so failing examples print small."""
    return Renderer(resolve_helm(str(REPO / ".tools/bin/helm3")))


@functools.lru_cache(maxsize=1)
def fixed_renders() -> tuple[Chart, dict[str, Rendered]]:
    renderer = helm3_renderer()
    chart = load_chart(
        str(CHART_DIR), version=None, helm_path=renderer.helm.path, workdir=Path(tempfile.mkdtemp())
    )
    renders = {}
    for base in BASES:
        data = load_values(REPO / "fixtures/values" / base).data
        renders[base] = renderer.render(RenderRequest(chart, data, values_label=base))
    return chart, renders


def _crashes(findings_by_rule: dict[str, list]) -> list[str]:
    return [
        f"{rule_id}: {f.message}"
        for rule_id, fs in findings_by_rule.items()
        for f in fs
        if f.verdict == Verdict.ERROR and "internal error" in f.message
    ]


@settings(max_examples=250, **FAST)
@given(base=st.sampled_from(BASES), changes=st.lists(mutation, min_size=1, max_size=4))
def test_rules_never_crash_on_mutated_values(base: str, changes) -> None:
    chart, renders = fixed_renders()
    original = load_values(REPO / "fixtures/values" / base).data
    values_file = _values_file(_mutate(original, changes))
    assume(values_file is not None)
    merged = deep_merge(chart.defaults, values_file.data)
    rendered = renders[base]
    ctx = StaticContext(
        values_file=values_file,
        merged=merged,
        chart=chart,
        expectations=expectations_for(merged, chart.app_version, chart.reads),
        options=Options(concurrent_users=1200),
        matcher=ComponentMatcher(),
        rendered=rendered,
        topology=build_topology(rendered.manifests, ComponentMatcher()),
    )
    findings = {r.id: evaluate_rule(ctx, r) for r in rules_for_lane("static")}
    assert all(findings.values()), "a rule returned no finding at all"
    assert not _crashes(findings), "\n".join(_crashes(findings))


# Found by this test (fixed in topology.py): values such as ingress.tls: [null] or ingress.tls: true are
# rendered verbatim by the chart and used to crash build_topology.
@settings(max_examples=20, **FAST)
@given(base=st.sampled_from(BASES), changes=st.lists(mutation, min_size=1, max_size=3))
def test_evaluate_case_never_crashes_with_real_renders(base: str, changes) -> None:
    chart, _ = fixed_renders()
    data = _mutate(load_values(REPO / "fixtures/values" / base).data, changes)
    path = Path(tempfile.mkdtemp(prefix="qmc-prop-")) / "mutated.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    try:
        result = evaluate_case(Case(chart, str(path), helm3_renderer()))
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    if result.input_error is None:
        assert result.findings and all(result.findings.values())
        assert not _crashes(result.findings), "\n".join(_crashes(result.findings))
