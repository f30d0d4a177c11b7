"""Each ingress controller model routes as its documentation says (ingress_controllers/, one file each)."""

from __future__ import annotations

import pytest

from quickmeet_conformance.ingress_controllers.base import IngressView
from quickmeet_conformance.ingress_controllers.registry import load_controllers, resolve
from quickmeet_conformance.render import Manifest
from quickmeet_conformance.topology import IngressInfo, Route, build_topology

ROOT, WS, SOCKJS = "mono", "ddp", "ddp-sockjs"


def ingress(paths, annotations=None, name="chat", class_name="x"):
    routes = tuple(Route(name, "h", p, t, svc, "http", None, "") for p, t, svc in paths)
    return IngressView(IngressInfo(name, class_name, None, (), routes, ""), annotations or {})


def served(key, ing, request, host="h"):
    match = load_controllers()[key].select([ing] if isinstance(ing, IngressView) else ing, host, request)
    return match.route.service if match else None


ROOT_FIRST = [("/", "Prefix", ROOT), ("/websocket", "Prefix", WS), ("/sockjs", "Prefix", SOCKJS)]


@pytest.mark.parametrize(
    "key",
    [
        "ingress-nginx",
        "traefik",
        "aws-load-balancer",
        "gke",
        "haproxy-kubernetes-ingress",
        "haproxy-ingress",
        "contour",
        "kubernetes",
    ],
)
def test_prefix_paths_win_over_root_listed_first(key):
    """Every modelled controller (the ALB since v2.4.3) serves the longest Prefix whatever the listed order."""
    ing = ingress(ROOT_FIRST)
    assert served(key, ing, "/websocket") == WS
    assert served(key, ing, "/sockjs/123/abcdefgh/websocket") == SOCKJS
    assert served(key, ing, "/") == ROOT
    assert served(key, ing, "/websocketx") == ROOT  # Prefix matches whole path elements


def test_nginx_implementation_specific_is_a_string_prefix_and_use_regex_is_host_wide():
    plain = ingress([("/", "Prefix", ROOT), ("/sockjs", "ImplementationSpecific", SOCKJS)])
    assert served("ingress-nginx", plain, "/sockjsx") == SOCKJS  # an nginx prefix location
    regex = ingress(
        [("/", "Prefix", ROOT), ("/sock.*", "ImplementationSpecific", SOCKJS)],
        {"nginx.ingress.kubernetes.io/use-regex": "true"},
    )
    assert served("ingress-nginx", regex, "/SOCKJS/info") == SOCKJS  # case-insensitive regular expression


def test_traefik_priority_annotation_overrides_rule_length():
    ing = ingress(ROOT_FIRST)
    other = ingress(
        [("/", "Prefix", "other")], {"traefik.ingress.kubernetes.io/router.priority": "1000"}, "b"
    )
    assert served("traefik", [ing, other], "/websocket") == "other"


def test_alb_implementation_specific_keeps_listed_order_and_patterns_are_exact():
    catch_all_first = ingress(
        [("/*", "ImplementationSpecific", ROOT), ("/websocket", "ImplementationSpecific", WS)]
    )
    assert served("aws-load-balancer", catch_all_first, "/websocket") == ROOT
    no_wildcard = ingress(
        [("/sockjs", "ImplementationSpecific", SOCKJS), ("/*", "ImplementationSpecific", ROOT)]
    )
    assert served("aws-load-balancer", no_wildcard, "/sockjs/info") == ROOT
    assert served("aws-load-balancer", no_wildcard, "/sockjs") == SOCKJS


def test_alb_group_order_puts_lower_orders_first():
    late = ingress(
        [("/*", "ImplementationSpecific", "late")], {"alb.ingress.kubernetes.io/group.order": "10"}, "a"
    )
    early = ingress(
        [("/*", "ImplementationSpecific", "early")], {"alb.ingress.kubernetes.io/group.order": "1"}, "z"
    )
    assert served("aws-load-balancer", [late, early], "/websocket") == "early"


def test_gke_implementation_specific_matches_itself_unless_it_ends_in_a_wildcard():
    ing = ingress(
        [
            ("/*", "ImplementationSpecific", ROOT),
            ("/sockjs", "ImplementationSpecific", SOCKJS),
            ("/websocket/*", "ImplementationSpecific", WS),
        ]
    )
    assert served("gke", ing, "/sockjs/info") == ROOT
    assert served("gke", ing, "/sockjs") == SOCKJS
    assert served("gke", ing, "/websocket/x") == WS
    assert served("gke", ing, "/websocket") == ROOT  # /websocket/* does not match /websocket itself
    assert served("gke", ingress([("/sockjs", "Prefix", SOCKJS)]), "/") is None  # to the default backend


def test_contour_implementation_specific_regex_and_exact_first():
    ing = ingress(
        [("/", "Prefix", ROOT), ("/sockjs/.*", "ImplementationSpecific", SOCKJS), ("/websocket", "Exact", WS)]
    )
    assert served("contour", ing, "/sockjs/info") == SOCKJS
    assert served("contour", ing, "/websocket") == WS
    assert served("contour", ing, "/websocket/x") == ROOT


def _topology(*docs):
    manifests = [
        Manifest(d["apiVersion"], d["kind"], d["metadata"]["name"], "default", "t.yaml", d) for d in docs
    ]
    return build_topology(manifests)


def _ingress_doc(class_name=None, annotations=None):
    spec = {
        "rules": [
            {
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": "mono", "port": {"name": "http"}}},
                        }
                    ]
                }
            }
        ]
    }
    if class_name:
        spec["ingressClassName"] = class_name
    meta = {"name": "chat", "annotations": annotations or {}}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}


def _view(topo):
    from quickmeet_conformance.ingress_controllers.base import ingress_views

    return ingress_views(topo)[0]


def test_unknown_class_is_said_unknown_and_never_taken_for_nginx():
    topo = _topology(_ingress_doc("acme-edge"))
    resolution = resolve(_view(topo), topo)
    assert not resolution.known and [c.key for c in resolution.controllers] == ["kubernetes"]
    assert "acme-edge" in resolution.assumption and "Kubernetes API" in resolution.assumption


def test_missing_class_says_what_is_assumed_and_a_release_default_class_is_used():
    topo = _topology(_ingress_doc())
    assert "no ingressClassName" in resolve(_view(topo), topo).assumption
    default = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": {"name": "edge", "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
        "spec": {"controller": "projectcontour.io/ingress-controller"},
    }
    topo = _topology(_ingress_doc(), default)
    resolution = resolve(_view(topo), topo)
    assert resolution.known and [c.key for c in resolution.controllers] == ["contour"]
    assert "default IngressClass 'edge'" in resolution.assumption


def test_legacy_annotation_and_shared_haproxy_class():
    topo = _topology(_ingress_doc(annotations={"kubernetes.io/ingress.class": "haproxy"}))
    keys = {c.key for c in resolve(_view(topo), topo).controllers}
    assert keys == {"haproxy-ingress", "haproxy-kubernetes-ingress"}


def test_every_controller_cites_its_documentation():
    for controller in load_controllers().values():
        assert controller.citation.startswith("https://"), controller.key
