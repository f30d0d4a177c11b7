"""Where the files the tool reads at run time are: inside the installed package, or in the checkout.

``setup.py`` ships the repository's ``schemas/``, ``suites/`` and ``fixtures/charts/rocketchat`` inside the
package (``quickmeet_conformance/schemas``, ``/suites``, ``/reference_chart``), so a wheel works anywhere; an
editable install or a run from the checkout reads the repository's folders themselves. Nothing else in the
package knows either place.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import UserError

PACKAGE_DIR = Path(__file__).resolve().parent
_IN_CHECKOUT = {
    "schemas": "schemas",
    "suites": "suites",
    "reference_chart": "fixtures/charts/rocketchat",
    "docs": "docs",
}


def bundled(name: str) -> Path:
    """The directory of bundled data ``name`` (one of ``schemas``, ``suites``, ``reference_chart``, ``docs``)."""
    packaged = PACKAGE_DIR / name
    if packaged.is_dir():
        return packaged
    in_checkout = PACKAGE_DIR.parent / _IN_CHECKOUT[name]
    if in_checkout.is_dir():
        return in_checkout
    raise UserError(
        f"the package's {name} folder is missing",
        where=str(packaged),
        fix="reinstall quickmeet-conformance (pip install --force-reinstall quickmeet-conformance)",
    )


def schema_file() -> Path:
    """The values contract schema (JSON Schema 2020-12)."""
    return bundled("schemas") / "values.schema.json"


def reference_chart() -> Path:
    """The bundled reference chart (the public chart's shape, app 7.8.0), the default chart to check against."""
    return bundled("reference_chart")


def checkout_root() -> Path | None:
    """The repository root when running from a checkout (its ``.tools/bin`` may hold helm), else None."""
    root = PACKAGE_DIR.parent
    return root if (root / "pyproject.toml").is_file() and (root / "suites").is_dir() else None


def cache_root() -> Path:
    """The user's cache of this tool (``QMC_CACHE``, else ``$XDG_CACHE_HOME``/``~/.cache`` +
    ``quickmeet-conformance``): what a run may keep for the next one, never required."""
    base = os.environ.get("QMC_CACHE")
    if base:
        return Path(base)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "quickmeet-conformance"
