"""What a pytest run was asked to check, shared by every lane's plugin module.

The run's settings, its upgrade pairs and whether the user named files of their own come from the options
(``options.read_option``) and the project's ``pytest_conformance_defaults``; the sessions built from them live
in the config's stash. Here rather than in ``plugin.py`` so that the plugin modules import this module and never
each other (``plugin.py`` and ``plugin_upgrade.py`` each needed the other's answers).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from .errors import UserError
from .findings import Waiver
from .helm import default_helm
from .options import conformance_asked, read_option
from .reports.model import report_dict
from .resources import checkout_root
from .rules.engine import Options
from .session import ConformanceSession, Settings
from .upgrade import UpgradePair, UpgradeSession, load_matrix, pairs_from_options
from .values import expand_values_args
from .waivers import load_waivers

SESSION_KEY = pytest.StashKey[ConformanceSession]()
UPGRADE_KEY = pytest.StashKey["UpgradeSession | UserError"]()

NO_VALUES_NAMED = (
    "no values file named: --upgrade-from/--upgrade-to check only the upgrade, not the project's "
    "values files (pass --values FILE to check a values file as well)"
)
NO_PAIR_NAMED = (
    "no upgrade pair named (pass --upgrade-from OLD.yaml --upgrade-to NEW.yaml to check an upgrade; "
    "a checkout's own upgrade matrix runs only when no --values is given)"
)


def project_defaults(config: pytest.Config) -> dict[str, Any]:
    """The project's ``pytest_conformance_defaults`` (empty in a project that gives none)."""
    return config.hook.pytest_conformance_defaults(config=config) or {}


def conformance_requested(config: pytest.Config) -> bool:
    """The run asked for this plugin's work: the project gives its defaults (pytest_conformance_defaults), or a
    conformance option or QMC_* variable is set. A project that merely has the plugin installed is left as is."""
    return bool(project_defaults(config)) or conformance_asked(config)


def pairs_from_defaults(config: pytest.Config) -> bool:
    """True when the run's upgrade pairs are the project's matrix (no --upgrade-from/--upgrade-to given)."""
    return not (read_option(config, "qmc_upgrade_from") or read_option(config, "qmc_upgrade_to"))


def names_upgrade_pairs(config: pytest.Config) -> bool:
    """--upgrade-from/--upgrade-to (or their env) name the user's own upgrade pairs."""
    return not pairs_from_defaults(config)


def names_own_inputs(config: pytest.Config) -> bool:
    """The user named files of their own (--values, --upgrade-from/--upgrade-to): the project's defaults
    (its values files, upgrade matrix and live cluster) stay out of the run; only the user's files are checked."""
    return bool(read_option(config, "qmc_values")) or names_upgrade_pairs(config)


def parametrize_nothing(metafunc: pytest.Metafunc, fixture: str, case_id: str, reason: str) -> None:
    """One skipped case saying why this lane has nothing to check (pytest's empty-parameter skip names no reason)."""
    metafunc.parametrize(
        fixture, [pytest.param(None, marks=pytest.mark.skip(reason=reason))], ids=[case_id], indirect=True
    )


# -- the static lane's settings ------------------------------------------------------------------------------


def _shown(path: str) -> str:
    """Paths below the working directory are shown (and reported) relative to it."""
    rel = os.path.relpath(path) if os.path.isabs(path) else path
    return path if rel.startswith("..") else rel


def settings_from_options(config: pytest.Config) -> Settings:
    """The run's :class:`Settings`: each option, else the project's default, else the package's."""
    defaults = project_defaults(config)
    root = config.rootpath

    def rooted(p: str) -> str:
        return str(root / p) if not os.path.isabs(p) else p

    chart = read_option(config, "qmc_chart") or (rooted(defaults["chart"]) if "chart" in defaults else None)
    if chart is None:  # an installed package checks against the reference chart it bundles, as the CLI does
        from .resources import reference_chart

        chart = str(reference_chart())
    try:
        values = expand_values_args(read_option(config, "qmc_values") or [])
    except UserError as exc:
        raise pytest.UsageError(exc.line()) from None
    values_from_defaults = not values and "values_dir" in defaults and not names_upgrade_pairs(config)
    if values_from_defaults:
        values = sorted(str(p) for p in Path(rooted(defaults["values_dir"])).glob("*.yaml"))
    helm = (
        read_option(config, "qmc_helm")
        or [rooted(h) if "/" in h else h for h in defaults.get("helm", [])]
        or [default_helm(checkout_root()) or "helm"]  # none found: resolving "helm" says so at collection
    )
    overrides = []
    for item in read_option(config, "qmc_component_image") or []:
        if "=" not in item:
            raise pytest.UsageError(f"--component-image {item!r}: expected COMPONENT=GLOB")
        overrides.append(tuple(item.split("=", 1)))
    return Settings(
        chart=_shown(chart) if chart else "",
        chart_version=read_option(config, "qmc_chart_version"),
        values=tuple(_shown(v) for v in values or ()),
        helm=tuple(helm),
        release=read_option(config, "qmc_release") or "rocketchat",
        namespace=read_option(config, "qmc_namespace") or "default",
        options=Options(
            kube_version=_kube_version(config),
            concurrent_users=read_option(config, "qmc_users"),
            allow_ignored_keys=bool(read_option(config, "qmc_allow_ignored")),
            strict=bool(read_option(config, "qmc_strict")),
            waivers=_waivers(config, rooted(defaults["waivers"]) if "waivers" in defaults else None),
        ),
        component_images=tuple(overrides),
        helm_timeout_s=_helm_timeout(config),
        values_from_defaults=values_from_defaults,
    )


def _waivers(config: pytest.Config, project_default: str | None = None) -> tuple[Waiver, ...]:
    """--waivers FILE (QMC_WAIVERS), else the project's default waiver file (a user checking files of their own
    gets none), loaded once for the run; a bad file stops it with one line."""
    path = read_option(config, "qmc_waivers") or (None if names_own_inputs(config) else project_default)
    if not path:
        return ()
    try:
        return load_waivers(_shown(path))
    except UserError as exc:
        raise pytest.UsageError(f"--waivers: {exc.line()}") from None


def _kube_version(config: pytest.Config) -> str:
    """--kube-version, checked against the bundled offline schemas now (one line, never a silent fallback)."""
    from .rules.kube_schema import supported_kube_version

    version = read_option(config, "qmc_kube_version") or Options().kube_version
    try:
        supported_kube_version(version)
    except UserError as exc:
        raise pytest.UsageError(exc.line()) from None
    return version


def _helm_timeout(config: pytest.Config) -> float | None:
    value = read_option(config, "qmc_helm_timeout")
    if value is not None and not value > 0:
        raise pytest.UsageError(f"--helm-timeout {value}: must be a positive number of seconds")
    return value


def conformance_session(config: pytest.Config) -> ConformanceSession:
    """The run's static-lane session (built in ``plugin.pytest_configure``)."""
    return config.stash[SESSION_KEY]


# -- the upgrade lane's pairs ----------------------------------------------------------------------------------


def upgrade_pairs(config: pytest.Config) -> list[UpgradePair]:
    """The run's upgrade pairs: the flags, else the project's matrix (UserError with one line)."""
    conformance = conformance_session(config)
    froms = read_option(config, "qmc_upgrade_from") or []
    tos = read_option(config, "qmc_upgrade_to") or []
    if froms or tos:
        settings = conformance.settings
        if not settings.chart:
            raise UserError("no chart to upgrade to", fix="pass --chart DIR|TGZ|repo/name (or set QMC_CHART)")
        from_chart = read_option(config, "qmc_from_chart")
        from_version = read_option(config, "qmc_from_chart_version")
        return pairs_from_options(
            froms,
            tos,
            from_chart=from_chart or settings.chart,
            from_chart_version=from_version if from_chart else (from_version or settings.chart_version),
            to_chart=settings.chart,
            to_chart_version=settings.chart_version,
        )
    defaults = project_defaults(config)
    if "upgrades_dir" not in defaults or names_own_inputs(config):
        return []  # the project's matrix says nothing about a user's own values files
    directory = Path(defaults["upgrades_dir"])
    return load_matrix(directory if directory.is_absolute() else config.rootpath / directory)


def built_upgrade_session(config: pytest.Config) -> UpgradeSession | UserError:
    """The run's UpgradeSession, built on first use, or the one-line reason it cannot be."""
    if UPGRADE_KEY not in config.stash:
        try:
            config.stash[UPGRADE_KEY] = UpgradeSession(
                upgrade_pairs(config),
                conformance_session(config),
                reuse_values=bool(read_option(config, "qmc_reuse_values")),
            )
        except UserError as exc:
            config.stash[UPGRADE_KEY] = exc
    return config.stash[UPGRADE_KEY]


def upgrade_session(config: pytest.Config) -> UpgradeSession:
    """The run's UpgradeSession; a bad flag or matrix file stops the run with one line."""
    built = built_upgrade_session(config)
    if isinstance(built, UserError):
        raise pytest.UsageError(built.line())
    return built


REPORT_KEY = pytest.StashKey[dict[str, Any]]()


def report_document(config: pytest.Config) -> dict[str, Any] | None:
    """The run's report model (static cases plus every lane's sections), built once for every format;
    None when no conformance case or lane evaluated anything."""
    if REPORT_KEY in config.stash:
        return config.stash[REPORT_KEY]
    conf = config.stash.get(SESSION_KEY, None)
    if conf is None:
        return None
    sections: dict[str, Any] = {}
    for lane_sections in config.hook.pytest_conformance_report_sections(config=config):
        sections.update(lane_sections or {})
    if not (conf.results() or sections):
        return None
    config.stash[REPORT_KEY] = report_dict(
        conf.results(),
        extra_sections=sections,
        strict=conf.settings.strict,
        waivers=conf.settings.options.waivers,
    )
    return config.stash[REPORT_KEY]
