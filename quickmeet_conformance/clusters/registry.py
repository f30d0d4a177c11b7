"""The cluster providers by ``--cluster`` value: every module of ``clusters/providers/`` registers its own.

Adding a provider is one new file in ``clusters/providers/`` whose class is decorated with
:func:`register_provider`; nothing else lists providers. The provider modules import their heavy
dependencies (the Kubernetes client, ``cryptography``) when a cluster starts, so discovering them is cheap
enough for every pytest session (the ``--cluster`` option lists the choices).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TypeVar

from quickmeet_conformance.clusters.base import ClusterProvider
from quickmeet_conformance.errors import UserError

NO_CLUSTER = "none"  # --cluster none: the live lane is not run
PROVIDERS_PACKAGE = "quickmeet_conformance.clusters.providers"

_REGISTRY: dict[str, type[ClusterProvider]] = {}
_discovered = False
P = TypeVar("P", bound=type[ClusterProvider])


def register_provider(cls: P) -> P:
    """Class decorator: ``--cluster <cls.provider>`` chooses ``cls``."""
    if not cls.provider:
        raise TypeError(f"{cls.__name__} declares no `cluster` name")
    if cls.provider == NO_CLUSTER:
        raise TypeError(f"{cls.__name__}: `{NO_CLUSTER}` means no cluster")
    _REGISTRY[cls.provider] = cls
    return cls


def unregister_provider(cluster: str) -> None:
    """Forget a provider (tests that register one of their own)."""
    _REGISTRY.pop(cluster, None)


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    _discovered = True
    package = importlib.import_module(PROVIDERS_PACKAGE)
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{PROVIDERS_PACKAGE}.{module.name}")


def provider_names() -> tuple[str, ...]:
    """The ``--cluster`` choices: every registered provider, then ``none``."""
    _discover()
    ranked = sorted(_REGISTRY.values(), key=lambda cls: (cls.rank, cls.provider))
    return (*(cls.provider for cls in ranked), NO_CLUSTER)


def provider_class(cluster: str) -> type[ClusterProvider]:
    """The provider class for ``--cluster <cluster>``; a UserError naming the choices otherwise."""
    _discover()
    try:
        return _REGISTRY[cluster]
    except KeyError:
        raise UserError(
            f"--cluster {cluster!r}: not a provider", fix=f"use one of {', '.join(provider_names())}"
        ) from None
