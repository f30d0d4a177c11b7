"""Unit tests of the pure pieces: stream-hub version rules, ignored keys, ingress matching, redaction."""

from __future__ import annotations

import pytest

from quickmeet_conformance.expectations import stream_hub_expectation
from quickmeet_conformance.redact import redactor_for
from quickmeet_conformance.render import Manifest
from quickmeet_conformance.rules.ingress import route_for
from quickmeet_conformance.schema import export_chart_schema, ignored_keys
from quickmeet_conformance.topology import build_topology, image_repository, image_tag
from quickmeet_conformance.values import parse_values


@pytest.mark.parametrize(
    "tag, enabled, expected",
    [
        ("7.5.0", None, True),
        ("7.7.0", False, True),  # required up to 7.7.0 whatever the flag says
        ("7.7.2", None, True),
        ("7.7.3", None, False),  # off by default from 7.7.3
        ("7.7.5", True, True),
        ("7.8.0", None, False),
        ("8.0.0", True, False),  # refused from 8.0.0
        ("v8.1.0", None, False),
        ("latest", None, None),  # unknown version: not judged
    ],
)
def test_stream_hub_expectation_follows_version_rules(tag, enabled, expected):
    values = {"microservices": {"enabled": True, "streamHub": {"enabled": enabled}}}
    assert stream_hub_expectation(values, tag).expected is expected


def test_stream_hub_never_expected_without_microservices():
    assert stream_hub_expectation({"microservices": {"enabled": False}}, "7.5.0").expected is False


def test_ignored_keys_suggests_the_closest_key_and_respects_free_form_maps():
    defaults = {
        "microservices": {"ddpStreamer": {"replicas": 1}},
        "ingress": {"annotations": {}},
        "resources": {},
    }
    user = {
        "microservices": {"ddpStreamers": {"replicas": 3}},
        "ingress": {"annotations": {"nginx.ingress.kubernetes.io/proxy-read-timeout": "3600"}},
        "resources": {"limits": {"cpu": 1}},
        "global": {"anything": 1},
        "hostt": "x",
    }
    found = {i.key_path: i.suggestion for i in ignored_keys(user, defaults)}
    assert found == {"microservices.ddpStreamers": "ddpStreamer", "hostt": "host"}


def test_ignored_keys_inside_lists_use_the_schema_item():
    found = ignored_keys(
        {"ingress": {"tls": [{"secretName": "a", "hostz": ["x"]}]}}, {"ingress": {"tls": []}}
    )
    assert [(i.key_path, i.suggestion) for i in found] == [("ingress.tls[0].hostz", "hosts")]


def _ingress(paths):
    body = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "i"},
        "spec": {
            "rules": [
                {
                    "host": "h",
                    "http": {
                        "paths": [
                            {
                                "path": p,
                                "pathType": t,
                                "backend": {"service": {"name": s, "port": {"name": "http"}}},
                            }
                            for p, t, s in paths
                        ]
                    },
                }
            ]
        },
    }
    return build_topology([Manifest("networking.k8s.io/v1", "Ingress", "i", "", "t.yaml", body)])


def test_route_matching_prefers_longest_prefix_on_element_boundaries():
    topo = _ingress([("/", "Prefix", "mono"), ("/websocket", "Prefix", "ddp"), ("/sockjs", "Exact", "ddp")])
    assert route_for(topo, "h", "/websocket").service == "ddp"
    assert route_for(topo, "h", "/websocket/x").service == "ddp"
    assert route_for(topo, "h", "/websocketx").service == "mono"  # not a path element match
    assert route_for(topo, "h", "/sockjs/info").service == "mono"  # Exact does not cover sub-paths
    assert route_for(topo, "other", "/") is None


def test_image_reference_parsing():
    assert image_repository("registry.io:5000/a/b:1.2@sha256:abc") == "registry.io:5000/a/b"
    assert image_tag("registry.io:5000/a/b") == "latest"
    assert image_tag("nats:2.10-alpine") == "2.10-alpine"


def test_redactor_masks_values_secrets_and_uri_credentials_but_not_public_defaults():
    redact = redactor_for(
        {
            "mongodb": {"auth": {"rootPassword": "hunter2-root", "passwords": ["rocketchat"]}},
            "externalMongodbUrl": "mongodb://u:p4ss-word@db:27017/x",
            "ingress": {"tls": [{"secretName": "tls-a"}]},
        },
        public_values={"mongodb": {"auth": {"passwords": ["rocketchat"]}}},
    )
    text = redact("hunter2-root rocketchat mongodb://u:p4ss-word@db nats://a:b@n:4222 tls-a")
    assert "hunter2-root" not in text and "p4ss-word" not in text and "a:b@" not in text
    assert "rocketchat" in text and "tls-a" in text


def test_positions_point_at_keys():
    values = parse_values(b"microservices:\n  enabled: true\n  ddpStreamer:\n    replicas: 2\n", "v.yaml")
    assert values.position("microservices.ddpStreamer.replicas").line == 4
    assert values.position("microservices.ddpStreamer.unknown").line == 3  # nearest ancestor


def test_exported_chart_schema_is_self_contained_draft_07():
    exported = export_chart_schema()
    assert exported["$schema"].startswith("http://json-schema.org/draft-07")
    assert "$ref" not in str(exported) and "$defs" not in exported


def test_topology_copes_with_malformed_rendered_objects():
    body = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "i", "annotations": None},
        "spec": {
            "tls": [None, {"hosts": None}, True],
            "rules": [None, {"http": {"paths": [None, {"backend": 3}]}}],
        },
    }
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {"ports": [{"port": "abc", "targetPort": None}, None], "selector": ["x"]},
    }
    dep = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "c",
                            "ports": [{"containerPort": None}],
                            "env": [{"name": "A", "valueFrom": {"secretKeyRef": None}}],
                        }
                    ]
                }
            },
            "selector": "nope",
            "strategy": "x",
        },
    }
    topo = build_topology(
        [
            Manifest("networking.k8s.io/v1", "Ingress", "i", "", "t", body),
            Manifest("v1", "Service", "s", "", "t", svc),
            Manifest("apps/v1", "Deployment", "d", "", "t", dep),
        ]
    )
    assert topo.ingresses[0].tls_hosts == () and topo.services[0].ports[0].port == 0
    assert topo.workloads[0].containers[0].env_var("A").secret_name is None


def test_contract_schema_is_a_valid_2020_12_schema():
    """schemas/values.schema.json is checked against its metaschema here, not on every run."""
    import jsonschema

    from quickmeet_conformance.schema import load_schema

    jsonschema.Draft202012Validator.check_schema(load_schema())
