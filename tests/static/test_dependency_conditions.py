"""charts.evaluate_condition reproduces helm's processDependencyEnabled (CONTRACT.md > Helm's semantics): tags
first, then the condition, split on ',' without trimming, the first path resolving to a boolean wins, none
resolving leaves the subchart enabled."""

from __future__ import annotations

import pytest

from quickmeet_conformance.charts import Dependency, chart_dependencies, evaluate_condition


def _dep(condition: str, tags: tuple[str, ...] = ()) -> Dependency:
    return Dependency("nats", "nats", condition, tags)


@pytest.mark.parametrize(
    "condition,values,enabled,decided_by",
    [
        ("nats.enabled", {"nats": {"enabled": False}}, False, "nats.enabled"),
        ("nats.enabled", {}, True, ""),  # none resolves: enabled
        (
            "nats.enabled,microservices.enabled",
            {"microservices": {"enabled": False}},
            False,
            "microservices.enabled",
        ),
        # the blank: ' microservices.enabled' is another key, never found
        ("nats.enabled, microservices.enabled", {"microservices": {"enabled": False}}, True, ""),
        ("  nats.enabled  ", {"nats": {"enabled": False}}, False, "nats.enabled"),  # trimmed as a whole
        (
            "nats.enabled,x.on",
            {"nats": {"enabled": "false"}, "x": {"on": False}},
            False,
            "x.on",
        ),  # non-bool skipped
        ("nats", {"nats": {"enabled": False}}, True, ""),  # a map is not a value
        ("a.b.c", {"a": {"b": None}}, True, ""),
    ],
)
def test_condition_as_helm_reads_it(condition, values, enabled, decided_by):
    outcome = evaluate_condition(_dep(condition), values)
    assert (outcome.enabled, outcome.decided_by) == (enabled, decided_by), outcome


def test_unreadable_parts_and_non_booleans_are_reported():
    outcome = evaluate_condition(_dep("nats.enabled, b.c"), {"nats": {"enabled": 0}, "b": {"c": True}})
    assert outcome.unreadable == (" b.c",)
    assert outcome.not_boolean == (("nats.enabled", 0),)
    assert outcome.enabled is True


def test_tags_then_condition():
    assert evaluate_condition(_dep("", ("bus",)), {"tags": {"bus": False}}).enabled is False
    assert evaluate_condition(_dep("", ("bus", "x")), {"tags": {"bus": False, "x": True}}).enabled is True
    # a resolving condition overrides the tags
    assert evaluate_condition(
        _dep("nats.enabled", ("bus",)), {"tags": {"bus": False}, "nats": {"enabled": True}}
    ).enabled


def test_chart_yaml_dependencies_keep_alias_and_ignore_junk():
    deps = chart_dependencies(
        {
            "dependencies": [
                {"name": "mongodb", "alias": "db", "condition": "db.enabled"},
                "junk",
                {"condition": "x"},
            ]
        }
    )
    assert deps == (Dependency("mongodb", "db", "db.enabled", ()),)
