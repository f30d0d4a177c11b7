"""The upgrade plan from two sets of manifests: resource keys, field paths, secret masking, quantities."""

from __future__ import annotations

from decimal import Decimal

from quickmeet_conformance.render import parse_manifests
from quickmeet_conformance.upgrade import ABSENT, diff_values, parse_quantity, plan_upgrade

BEFORE = """
---
# Source: c/templates/a.yaml
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    spec:
      containers:
        - name: web
          image: web:1
          env: [{name: A, value: "1"}, {name: B, value: "2"}]
---
# Source: c/templates/s.yaml
apiVersion: v1
kind: Secret
metadata: {name: creds}
data: {password: c2VjcmV0}
---
# Source: c/templates/gone.yaml
apiVersion: v1
kind: ConfigMap
metadata: {name: gone, namespace: other}
"""

AFTER = """
---
# Source: c/templates/a.yaml
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    spec:
      containers:
        - name: web
          image: web:2
          env: [{name: B, value: "2"}, {name: A, value: "1"}, {name: C, value: "3"}]
---
# Source: c/templates/s.yaml
apiVersion: v1
kind: Secret
metadata: {name: creds}
data: {password: bmV3LXNlY3JldA==}
---
# Source: c/templates/new.yaml
apiVersion: v1
kind: Service
metadata: {name: web}
"""


def test_plan_keys_actions_and_paths():
    plan = plan_upgrade(parse_manifests(BEFORE, "before"), parse_manifests(AFTER, "after"), "default")
    assert [r.key for r in plan.of("created")] == [("", "Service", "default", "web")]
    assert [r.key for r in plan.of("deleted")] == [("", "ConfigMap", "other", "gone")]
    changed = {r.key[1]: r for r in plan.of("changed")}
    web = {c.path: (c.old, c.new) for c in changed["Deployment"].changes}
    # named list items are matched by name, so reordering env is no change
    assert web == {
        "spec.template.spec.containers[name=web].image": ('"web:1"', '"web:2"'),
        "spec.template.spec.containers[name=web].env[name=C]": ("(absent)", '{"name": "C", "value": "3"}'),
    }
    (secret_change,) = changed["Secret"].changes
    assert secret_change.path == "data.password"
    assert (secret_change.old, secret_change.new) == ("*** (before, 6 chars)", "*** (after, 10 chars)")


def test_diff_values_marks_absent_sides():
    assert diff_values({"a": 1}, {"b": 1}) == [("a", 1, ABSENT), ("b", ABSENT, 1)]
    assert diff_values([1, 2], [1]) == [("[1]", 2, ABSENT)]
    assert diff_values({"x.y": 1}, {"x.y": 2}) == [('["x.y"]', 1, 2)]


def test_parse_quantity():
    assert parse_quantity("8Gi") == 8 * 2**30
    assert parse_quantity("500M") == 500 * 10**6
    assert parse_quantity("1.5Ti") == Decimal("1.5") * 2**40
    assert parse_quantity("10Gi") > parse_quantity("9500Mi")
    assert parse_quantity("lots") is None
