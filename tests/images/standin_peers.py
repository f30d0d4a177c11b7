"""Start the stand-in program (tools/images/standin/standin.js) as a component, the way an image runs it:
the component on the command line, everything else from the environment the chart would give the pod."""

from __future__ import annotations

from pathlib import Path

import probe_peers as peers

STANDIN_JS = peers.REPO / "tools" / "images" / "standin" / "standin.js"
HEARTBEAT = 1  # seconds: the tests listen for two intervals
# The MongoDB every component stand-in connects to first (tests/images/conftest.py starts FerretDB and sets
# it); a test that passes its own MONGO_URL keeps it.
MONGO: dict[str, str] = {"url": ""}


def start_standin(
    component: str, log_dir: Path, env: dict[str, str], *, wait_for: str = "bus", name: str = ""
) -> peers.Peer:
    """``node standin.js <component>`` with ``env`` added; ready once it printed
    ``READY <component> <wait_for>``
    (``bus``: joined NATS; ``http``: serving; ``mongodb``, ``idle``)."""
    node = peers.require_moleculer()
    settings = {"HEARTBEAT_INTERVAL": str(HEARTBEAT), **env}
    if component not in ("mongodb", "aux") and MONGO["url"]:
        settings.setdefault("MONGO_URL", MONGO["url"])
    argv = ["env", *(f"{k}={v}" for k, v in settings.items()), node, str(STANDIN_JS), component]
    return peers.start(
        name or f"standin-{component}", argv, log_dir, ready_prefix=f"READY {component} {wait_for}"
    )
