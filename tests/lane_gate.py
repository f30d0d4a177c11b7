"""Whether a test that needs Docker or the kind images may skip when they are missing.

scripts/test.sh sets QMC_REQUIRE_KIND=1 when it runs as root (it can build and run the kind lane there), so a
missing dockerd or image is a failure with the reason, never a quiet skip that looks like a working lane."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

REQUIRE_KIND = "QMC_REQUIRE_KIND"


def kind_unavailable(reason: str) -> NoReturn:
    """Skip with ``reason``, or fail with it when the run requires the kind lane."""
    if os.environ.get(REQUIRE_KIND, "") not in ("", "0"):
        pytest.fail(f"the kind lane is required ({REQUIRE_KIND}=1, set by scripts/test.sh as root): {reason}")
    pytest.skip(reason)
