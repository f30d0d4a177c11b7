"""The controller registry: which model judges an Ingress, from its class.

A controller module registers its class with :func:`register`; :func:`load_controllers` imports every module
of this package, so a new controller is one new file. An Ingress's class is ``spec.ingressClassName`` (or the
legacy annotation); the controller behind a class name is read from an IngressClass the release renders
(``spec.controller``), else from the class names each controller's installs use by default. A class no model
knows is said to be unknown and judged by the Kubernetes API's precedence; it is never taken for nginx.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass

from ..topology import Topology
from .base import IngressController, IngressView, ingress_views

REGISTRY: dict[str, IngressController] = {}
FALLBACK = "kubernetes"  # the API's own precedence, for a class no model knows
_NOT_CONTROLLERS = frozenset({"base", "registry"})


def register(cls: type[IngressController]) -> type[IngressController]:
    """Class decorator: register one instance of ``cls`` under ``cls.key``."""
    if cls.key in REGISTRY:
        raise ValueError(f"ingress controller {cls.key} registered twice")
    REGISTRY[cls.key] = cls()
    return cls


def load_controllers() -> dict[str, IngressController]:
    """Import every controller module of this package (once) and return the registry."""
    package = __name__.rsplit(".", 1)[0]
    path = importlib.import_module(package).__path__
    for module in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        if module.name not in _NOT_CONTROLLERS:
            importlib.import_module(f"{package}.{module.name}")
    return REGISTRY


@dataclass(frozen=True)
class Resolution:
    """The controller(s) that judge an Ingress, and what was assumed to pick them."""

    controllers: tuple[IngressController, ...]
    class_name: str | None
    known: bool  # False: no model for the class (or no class): judged by the Kubernetes API's precedence
    assumption: str  # one sentence a report can show; '' when the class names a known controller

    @property
    def label(self) -> str:
        return " or ".join(c.title for c in self.controllers)


def _release_classes(topo: Topology) -> tuple[dict[str, str], str | None]:
    """(IngressClass name -> spec.controller, the name of the one marked default) from the rendered release."""
    classes: dict[str, str] = {}
    default = None
    for m in topo.manifests:
        if m.kind != "IngressClass":
            continue
        spec = m.body.get("spec") if isinstance(m.body.get("spec"), dict) else {}
        classes[m.name] = str((spec or {}).get("controller", ""))
        meta = m.body.get("metadata") if isinstance(m.body.get("metadata"), dict) else {}
        annotations = (meta or {}).get("annotations") or {}
        if (
            isinstance(annotations, dict)
            and str(annotations.get("ingressclass.kubernetes.io/is-default-class")) == "true"
        ):
            default = m.name
    return classes, default


def resolve(ingress: IngressView, topo: Topology) -> Resolution:
    """Which controller model(s) judge ``ingress`` (several when a class name is shared, e.g. ``haproxy``)."""
    registry = load_controllers()
    release_classes, default = _release_classes(topo)
    name = ingress.class_name
    assumed = ""
    if not name and default:
        name, assumed = default, f"no class named: the release's default IngressClass {default!r} is assumed"
    if not name:
        return Resolution(
            (registry[FALLBACK],),
            None,
            False,
            "no ingressClassName and no default IngressClass in the release: the cluster's default class "
            "serves it, so routing is judged by the Kubernetes API's precedence (longest matching path, "
            "Exact before Prefix)",
        )
    controller_id = release_classes.get(name)
    if controller_id:
        found = tuple(c for c in registry.values() if controller_id in c.controller_ids)
    else:
        found = tuple(c for c in registry.values() if name in c.class_names)
    if found:
        return Resolution(found, name, True, assumed)
    why = f"IngressClass {name!r} (controller {controller_id!r})" if controller_id else f"class {name!r}"
    return Resolution(
        (registry[FALLBACK],),
        name,
        False,
        f"{why} names no ingress controller this tool models: routing is judged by the Kubernetes API's "
        "precedence (longest matching path, Exact before Prefix), which the real controller may not follow",
    )


@dataclass(frozen=True)
class Judge:
    """The Ingresses one controller resolution serves (the same class), judged together: a controller
    merges the paths of every Ingress of its class on a host."""

    resolution: Resolution
    ingresses: tuple[IngressView, ...]


def judges(topo: Topology) -> list[Judge]:
    """The release's Ingresses grouped by the controller model(s) that judge them, in render order."""
    groups: dict[tuple[tuple[str, ...], str | None], tuple[Resolution, list[IngressView]]] = {}
    for view in ingress_views(topo):
        resolution = resolve(view, topo)
        key = (tuple(c.key for c in resolution.controllers), resolution.class_name)
        groups.setdefault(key, (resolution, []))[1].append(view)
    return [Judge(resolution, tuple(views)) for resolution, views in groups.values()]
