"""The optional ``live`` extra: what the live lane and the protocol probes need beyond a static check.

A static check (``conformance check``, the static and upgrade suites) needs PyYAML, jsonschema and
kubernetes-validate only; ``pip install 'quickmeet-conformance[live]'`` adds the kubernetes client, pyhelm3,
cryptography (the KWOK cluster's certificates), nats-py and websockets. Asking for a lane without them is one
line naming the install command, never an ImportError.
"""

from __future__ import annotations

import importlib.util

from .errors import ToolError

LIVE_MODULES = {
    "kubernetes": "kubernetes",
    "pyhelm3": "pyhelm3",
    "cryptography": "cryptography",
    "nats": "nats-py",
    "websockets": "websockets",
}


def require_live(*modules: str, what: str = "the live lane") -> None:
    """Raise a one-line ToolError when a module of the ``live`` extra that ``what`` needs is not installed."""
    missing = [LIVE_MODULES.get(m, m) for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise ToolError(
            f"{what} needs {', '.join(missing)}, not installed",
            fix="pip install 'quickmeet-conformance[live]' (a static check does not need it)",
        )
