"""Run state one plugin module records and another reads, keyed in the pytest config's stash.

The keys live here, below every ``plugin_*`` module, so that a lane's plugin (which fills one) and the reports
plugin (which reads it) need not import each other.
"""

from __future__ import annotations

import pytest

from .probes import ProbeResult

PROBE_RESULTS_KEY = pytest.StashKey[list[ProbeResult]]()  # the probe rules judged in this run
