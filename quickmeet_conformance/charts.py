"""Resolve the chart under test to a local directory and read its metadata and default values.

``--chart`` takes a chart directory, a packaged ``.tgz``, or ``repo/name`` (with ``--chart-version``),
which is pulled with ``helm pull`` into a temporary directory owned by the caller. A chart of a repository that
was never ``helm repo add``-ed is named by its repository URL and name (:func:`repo_chart_spec`,
``https://rocketchat.github.io/helm-charts/rocketchat``) and pulled with ``helm pull --repo URL NAME``.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from .chart_reads import (
    ReadTree,
    ReleaseSwitch,
    reads_release_state,
    release_switches,
    values_read_by_templates,
)
from .errors import UserError
from .resources import cache_root
from .subprocesses import run
from .values import MAX_FILE_BYTES, deep_merge, parse_values

PULL_TIMEOUT_S = 120

# The chart repositories whose URL a "repo not found" message can name (`helm repo add <repo> <URL>`)
KNOWN_REPO_URLS = {"rocketchat": "https://rocketchat.github.io/helm-charts"}
REPO_URL_SCHEMES = ("https://", "http://")
ARCHIVE_SUFFIXES = (".tgz", ".tar.gz")

# Fixtures may name a public chart kept beside the repository: ``upstream/rocketchat-6.29.0`` is
# ../shared/upstream-charts/rocketchat-6.29.0 relative to the repository root.
UPSTREAM_PREFIX = "upstream/"


def upstream_chart_dir(name: str, repo_root: Path) -> Path:
    """Where ``upstream/<dir>`` lives (it may be absent: callers skip with the reason)."""
    return repo_root.resolve().parent / "shared" / "upstream-charts" / name[len(UPSTREAM_PREFIX) :]


@dataclass(frozen=True)
class Dependency:
    """One entry of Chart.yaml ``dependencies``: the values key its subchart reads (alias or name), its condition."""

    name: str
    key: str  # the alias, else the name: where its values live and where its templates render from
    condition: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConditionOutcome:
    """How helm decided one dependency: enabled or not, by which condition path, and paths it cannot read."""

    enabled: bool
    decided_by: str = ""  # the condition path whose boolean decided, "" when none resolved (or tags decided)
    unreadable: tuple[str, ...] = ()  # parts with surrounding blanks: helm looks up a key with a space in it
    not_boolean: tuple[tuple[str, Any], ...] = ()  # paths that resolved to a non-boolean (helm skips them)


def _path_value(values: Any, path: str) -> tuple[bool, Any]:
    """helm's ``Values.PathValue``: the path split on '.', the last step must exist and not be a map."""
    node = values
    parts = path.split(".")
    for part in parts[:-1]:
        if not isinstance(node, dict) or not isinstance(node.get(part), dict):
            return False, None
        node = node[part]
    if not isinstance(node, dict) or parts[-1] not in node or isinstance(node[parts[-1]], dict):
        return False, None
    return True, node[parts[-1]]


def evaluate_condition(dep: Dependency, values: dict[str, Any]) -> ConditionOutcome:
    """Whether helm renders ``dep`` for the coalesced ``values`` (chart defaults + user values), as helm 3/4 do
    (pkg/chartutil ``processDependencyEnabled``): tags first, then the condition, which wins when it resolves.

    The condition is trimmed as a whole and split on ',' without trimming each part, so in ``a, b`` the second
    path is the key `` b`` (which never exists); the first part that resolves to a boolean decides; a part
    resolving to anything else (the string "false", 0, null) is skipped; none resolving leaves it enabled."""
    enabled = True
    raw_tags = values.get("tags")
    tag_values: dict[str, Any] = raw_tags if isinstance(raw_tags, dict) else {}
    found = [tag_values[t] for t in dep.tags if isinstance(tag_values.get(t), bool)]
    if found and not any(found):
        enabled = False
    unreadable: list[str] = []
    not_boolean: list[tuple[str, Any]] = []
    for part in dep.condition.strip().split(","):
        if not part:
            continue
        if part != part.strip():
            unreadable.append(part)
        exists, value = _path_value(values, part)
        if not exists:
            continue
        if isinstance(value, bool):
            return ConditionOutcome(value, part, tuple(unreadable), tuple(not_boolean))
        not_boolean.append((part, value))
    return ConditionOutcome(enabled, "", tuple(unreadable), tuple(not_boolean))


@dataclass(frozen=True)
class Chart:
    """A chart on disk, ready to render, with what the rules need to know about it."""

    spec: str  # what the user asked for
    path: Path  # chart directory
    name: str
    version: str
    app_version: str
    defaults: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    reads: ReadTree = field(default_factory=dict, compare=False, hash=False)  # values paths templates read
    dependencies: tuple[Dependency, ...] = field(default=(), compare=False, hash=False)
    release_switches: tuple[ReleaseSwitch, ...] = field(default=(), compare=False, hash=False)
    # no template, helper or values file of the chart or its subcharts reads .Release.IsUpgrade/IsInstall or
    # calls lookup: an upgrade render equals the install render (False, the safe answer, until analysed)
    upgrade_renders_alike: bool = field(default=False, compare=False, hash=False)

    @property
    def label(self) -> str:
        return f"{self.name}-{self.version}"


_FAST_SAFE_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml_file(path: Path, what: str) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {what}: {exc.strerror}", where=str(path)) from None
    if len(raw) > MAX_FILE_BYTES:
        raise UserError(f"{what} is larger than {MAX_FILE_BYTES} bytes", where=str(path))
    try:
        return yaml.load(raw, Loader=_FAST_SAFE_LOADER)  # libyaml: a chart's defaults load 5x faster
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise UserError(f"{what} is not valid YAML", where=where) from None


def chart_defaults(chart_dir: Path) -> dict[str, Any]:
    """The chart's values.yaml with each vendored subchart's defaults under its name (or alias)."""
    values_file = chart_dir / "values.yaml"
    defaults: dict[str, Any] = {}
    if values_file.exists():
        try:
            defaults = parse_values(values_file.read_bytes(), str(values_file)).data
        except OSError as exc:
            raise UserError(
                f"cannot read the chart's values.yaml: {exc.strerror}", where=str(values_file)
            ) from None
    meta = _read_yaml_file(chart_dir / "Chart.yaml", "Chart.yaml")
    meta = meta if isinstance(meta, dict) else {}
    aliases = {
        str(d.get("name")): str(d.get("alias") or d.get("name"))
        for d in (meta.get("dependencies") or [])
        if isinstance(d, dict)
    }
    charts_dir = chart_dir / "charts"
    if charts_dir.is_dir():
        for sub in sorted(charts_dir.iterdir()):
            sub_dir = sub
            if sub.suffix == ".tgz":
                continue  # packaged subcharts are expanded by load_chart
            if not (sub_dir / "Chart.yaml").exists():
                continue
            sub_meta = _read_yaml_file(sub_dir / "Chart.yaml", "subchart Chart.yaml")
            if not isinstance(sub_meta, dict):
                raise UserError("subchart Chart.yaml is not a map", where=str(sub_dir / "Chart.yaml"))
            name = str(sub_meta.get("name", ""))
            key = aliases.get(name, name)
            sub_defaults = chart_defaults(sub_dir)
            defaults[key] = deep_merge(sub_defaults, defaults.get(key) or {})
    return defaults


def _safe_extract(archive: Path, dest: Path) -> Path:
    import tarfile  # only packaged charts need it (and its compression modules)

    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(dest, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise UserError(f"not a readable chart archive ({exc})", where=str(archive)) from None
    tops = [p for p in dest.iterdir() if p.is_dir()]
    if len(tops) != 1:
        raise UserError("a chart archive must hold exactly one top-level directory", where=str(archive))
    # expand packaged subcharts so their defaults are known
    charts_dir = tops[0] / "charts"
    if charts_dir.is_dir():
        for sub in charts_dir.glob("*.tgz"):
            try:
                with tarfile.open(sub, "r:gz") as tar:
                    tar.extractall(charts_dir, filter="data")
            except (tarfile.TarError, OSError, EOFError) as exc:
                raise UserError(
                    f"subchart {sub.name} is not a readable archive ({exc})", where=str(archive)
                ) from None
    return tops[0]


def repo_chart_spec(repo_url: str, name: str) -> str:
    """The chart spec of chart ``name`` in the chart repository at ``repo_url`` (no ``helm repo add`` needed):
    ``REPO/NAME`` or ``NAME`` in, ``<repo URL>/<NAME>`` out (a UserError for a chart path or a non-http URL)."""
    if not repo_url.startswith(REPO_URL_SCHEMES):
        raise UserError(
            f"--chart-repo {repo_url}: not an http(s) URL of a chart repository",
            fix="pass the repository's URL, e.g. --chart-repo https://rocketchat.github.io/helm-charts",
        )
    if is_local_chart(name) or name.startswith((".", "/")) or name.endswith(ARCHIVE_SUFFIXES) or not name:
        raise UserError(
            f"--chart-repo applies only to a chart NAME (or REPO/NAME), not to {name or 'an empty --chart'!r}",
            fix="pass --chart rocketchat with --chart-repo, or drop --chart-repo for a chart directory or .tgz",
        )
    return f"{repo_url.rstrip('/')}/{name.rsplit('/', 1)[-1]}"


def is_local_chart(spec: str) -> bool:
    """``spec`` is a chart directory or a packaged chart on disk (its version is whatever Chart.yaml says)."""
    return Path(spec).exists()


def check_version_applies(spec: str, version: str | None, option: str = "--chart-version") -> None:
    """A version for a chart directory or .tgz would be silently ignored: a UserError naming ``option``."""
    if version and is_local_chart(spec):
        raise UserError(
            f"{option} {version} applies only to a REPO/NAME chart; {spec} is a chart directory or .tgz, "
            "whose version is the one in its Chart.yaml",
            fix=f"drop {option}, or pass a REPO/NAME chart such as rocketchat/rocketchat",
        )


def pull_command(spec: str, version: str | None, helm_path: str, dest: Path) -> list[str]:
    """The ``helm pull`` of ``spec``: ``REPO/NAME`` from a repository added with ``helm repo add``, a chart URL,
    or ``<repo URL>/<NAME>`` (:func:`repo_chart_spec`) as ``helm pull --repo URL NAME``."""
    if spec.startswith(REPO_URL_SCHEMES) and not spec.endswith(ARCHIVE_SUFFIXES):
        repo_url, name = spec.rsplit("/", 1)
        target = ["--repo", repo_url, name]
    else:
        target = [spec]
    cmd = [helm_path, "pull", *target, "--untar", "--untardir", str(dest)]
    if version:
        cmd += ["--version", version]
    return cmd


def _pull_error(spec: str, stderr: str) -> UserError:
    """One line for a failed ``helm pull``: a repository never added says the ``helm repo add`` to run."""
    reason = (stderr.strip().splitlines() or ["unknown error"])[-1].removeprefix("Error: ")
    missing = re.search(r"repo (\S+) not found", stderr)
    if missing:
        repo = missing.group(1)
        url = KNOWN_REPO_URLS.get(repo, "<URL of that chart repository>")
        return UserError(
            f"cannot pull chart: helm has no chart repository named {repo!r}",
            where=spec,
            fix=f"run 'helm repo add {repo} {url}' first; conformance check can take --chart-repo {url} instead",
        )
    return UserError(
        f"cannot pull chart: {reason}",
        where=spec,
        fix="check 'helm repo add' / --chart-version, or pass a chart directory or .tgz",
    )


def _pull(spec: str, version: str | None, helm_path: str, dest: Path) -> Path:
    try:
        proc = run(pull_command(spec, version, helm_path, dest), timeout_s=PULL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise UserError(f"'helm pull' took more than {PULL_TIMEOUT_S}s", where=spec) from None
    if proc.returncode != 0:
        raise _pull_error(spec, proc.stderr)
    tops = [p for p in dest.iterdir() if p.is_dir()]
    if len(tops) != 1:
        raise UserError("'helm pull' did not unpack exactly one chart directory", where=spec)
    return tops[0]


def load_chart(spec: str, *, version: str | None, helm_path: str, workdir: Path) -> Chart:
    """Resolve ``spec`` to a :class:`Chart`; archives and pulls go below ``workdir``."""
    return analyse_chart(locate_chart(spec, version=version, helm_path=helm_path, workdir=workdir))


def locate_chart(spec: str, *, version: str | None, helm_path: str, workdir: Path) -> Chart:
    """``spec`` resolved to a chart directory, with what its Chart.yaml says (name, versions, dependencies): all
    a render needs. Its defaults and what its templates read are left to :func:`analyse_chart`, so a caller can
    start helm first (the analysis reads every template and values file of the chart and its subcharts)."""
    check_version_applies(spec, version, "the chart version")
    path = Path(spec)
    if path.is_dir():
        chart_dir = path
    elif path.is_file():
        if not path.name.endswith(ARCHIVE_SUFFIXES):
            raise UserError("a chart file must be a packaged .tgz", where=spec)
        dest = workdir / f"chart-{len(list(workdir.iterdir()))}"
        dest.mkdir(parents=True)
        chart_dir = _safe_extract(path, dest)
    elif "/" in spec and not spec.startswith((".", "/")) and not path.exists():
        dest = workdir / f"pull-{len(list(workdir.iterdir()))}"
        dest.mkdir(parents=True)
        chart_dir = _pull(spec, version, helm_path, dest)
    else:
        raise UserError("chart not found", where=spec, fix="pass a chart directory, a .tgz, or repo/name")
    chart_yaml = chart_dir / "Chart.yaml"
    if not chart_yaml.exists():
        raise UserError("no Chart.yaml: not a Helm chart", where=str(chart_dir))
    meta = _read_yaml_file(chart_yaml, "Chart.yaml")
    if not isinstance(meta, dict) or not meta.get("name") or not meta.get("version"):
        raise UserError("Chart.yaml lacks name or version", where=str(chart_yaml))
    return Chart(
        spec=spec,
        path=chart_dir.resolve(),
        name=str(meta["name"]),
        version=str(meta["version"]),
        app_version=str(meta.get("appVersion") or ""),
        dependencies=chart_dependencies(meta),
    )


def analyse_chart(chart: Chart) -> Chart:
    """``chart`` (from :func:`locate_chart`) with its defaults, the values its templates read and its
    install/upgrade switches: read from the chart's files (~40 ms for a chart with the bundled MongoDB), or from
    the user's cache when the same files were analysed by the same code before (:func:`_analysis_key`)."""
    given = Path(chart.spec)
    chart_dir = given if given.is_dir() else chart.path  # a directory as the user named it (messages name it)
    key = _analysis_key(chart_dir)
    found = _cached_analysis(key)
    if found is None:
        found = {
            "defaults": chart_defaults(chart_dir),
            "reads": values_read_by_templates(chart_dir),
            "release_switches": release_switches(chart_dir),
            "upgrade_renders_alike": not reads_release_state(chart_dir),
        }
        _remember_analysis(key, found)
    return replace(chart, **found)


ANALYSIS_FORMAT = 1  # bump when what is stored changes shape
_ANALYSIS_CODE = ("charts.py", "chart_reads.py", "values.py")  # the code whose answer is stored


def _analysis_key(chart_dir: Path) -> str | None:
    """sha256 of the analysing code and of every file of the chart (relative path and content: ~3 ms for a chart
    with its subcharts, no reliance on timestamps); None when a file cannot be read (then nothing is cached)."""
    digest = hashlib.sha256(f"{ANALYSIS_FORMAT}\0".encode())
    try:
        for name in _ANALYSIS_CODE:
            digest.update((Path(__file__).parent / name).read_bytes())
        for dirpath, dirnames, filenames in os.walk(chart_dir):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(dirpath) / name
                digest.update(f"\0{path.relative_to(chart_dir).as_posix()}\0".encode())
                digest.update(path.read_bytes())
    except OSError:
        return None
    return digest.hexdigest()


def _analysis_file(key: str) -> Path:
    return cache_root() / "charts" / f"{key}.pickle"


def _cached_analysis(key: str | None) -> dict[str, Any] | None:
    """The analysis stored under ``key`` (a pickle this tool wrote in the user's own cache), or None."""
    if key is None:
        return None
    try:
        found = pickle.loads(_analysis_file(key).read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError):
        return None
    return found if isinstance(found, dict) else None


def _remember_analysis(key: str | None, analysis: dict[str, Any]) -> None:
    """Best effort: a run without a writable cache analyses the chart every time. The analysis holds the
    chart's own defaults and template facts, never the user's values."""
    if key is None:
        return
    target = _analysis_file(key)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(pickle.dumps(analysis, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, target)
    except OSError:
        pass


def chart_dependencies(meta: dict[str, Any]) -> tuple[Dependency, ...]:
    """Chart.yaml ``dependencies`` as helm reads them (a non-string condition counts as none)."""
    deps = []
    for d in meta.get("dependencies") or []:
        if not isinstance(d, dict) or not d.get("name"):
            continue
        condition = d.get("condition")
        raw_tags = d.get("tags")
        tags = raw_tags if isinstance(raw_tags, list) else []
        deps.append(
            Dependency(
                name=str(d["name"]),
                key=str(d.get("alias") or d["name"]),
                condition=condition if isinstance(condition, str) else "",
                tags=tuple(str(t) for t in tags),
            )
        )
    return tuple(deps)
