"""Template a HelmRelease's chart the way helm-controller would install it (when helm is present).

The chart comes from the Flux source the HelmRelease names: ``spec.chartRef`` to an OCIRepository
or HelmChart, or ``spec.chart.spec`` with a HelmRepository (``oci://`` or classic index) or this
repository's GitRepository (a chart directory in the tree). Values are ``valuesFrom`` in order
(ConfigMap/Secret keys, ``targetPath``) with ``spec.values`` merged last, as helm-controller does.
Charts from outside the repository are fetched only when :attr:`HelmSettings.fetch` allows
it (off by default: PR content is untrusted), and hosts on loopback/private addresses are
refused unless allowed (a PR must not make the bot fetch from the internal network). helm runs
with every proxy pointed at a closed port when it needs no network. Anything that cannot be
templated becomes a note.

    >>> template_release(hr, scope, repo_objects, settings, workdir, tree)  # doctest: +SKIP
    ([{'apiVersion': 'apps/v1', 'kind': 'Deployment', ...}], [])
"""

from __future__ import annotations

import base64
import ipaddress
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.adapters.proc import DEFAULT_MAX_OUTPUT, DEFAULT_TIMEOUT, helm_template, materialise
from bot.core.errors import BotError
from bot.core.flux._yaml import load_rendered
from bot.core.flux.objects import SOURCE_GROUP, FluxObjects, api_group, clean_path


@dataclass(frozen=True)
class HelmSettings:
    """How HelmRelease charts are templated.

    ``enabled`` runs ``helm template`` at all; charts kept in the repository are templated offline.
    ``fetch`` also lets helm download charts from their HelmRepository/OCIRepository host: off by
    default, because a PR (from a fork, say) can point a release at any host. Turn it on only for
    trusted content (``fluxbot diff --fetch-charts``); loopback/private hosts stay refused unless
    listed in ``allow_hosts``.
    """

    enabled: bool = False
    fetch: bool = False  # network access for remote charts (opt-in; see above)
    allow_hosts: tuple[str, ...] = ()  # chart hosts allowed although loopback/private
    plain_http_hosts: tuple[str, ...] = ()  # OCI registries spoken to over plain HTTP
    cache_dir: str | None = None  # shared helm cache (both sides of a preview)
    timeout: float = DEFAULT_TIMEOUT
    max_output: int = DEFAULT_MAX_OUTPUT


@dataclass(frozen=True)
class Chart:
    ref: str  # oci://..., a chart name with ``repo``, or a local directory
    version: str = ""
    repo: str = ""
    local: Mapping[str, str] = field(default_factory=dict)  # files of an in-repo chart
    host: str = ""


class HelmSkip(BotError):
    """This release cannot be templated (reported as a note, not an error)."""


def _find(
    kind: str, name: str, namespace: str, scope: Sequence[Mapping[str, Any]], repo: FluxObjects
) -> Mapping[str, Any]:
    for obj in scope:
        meta = obj.get("metadata") or {}
        if (
            obj.get("kind") == kind
            and api_group(str(obj.get("apiVersion") or "")) == SOURCE_GROUP
            and meta.get("name") == name
            and str(meta.get("namespace") or namespace) == namespace
        ):
            return obj
    for typed in repo.objects:
        if typed.key.kind == kind and typed.name == name and typed.namespace in ("", namespace):
            return typed.raw
    raise HelmSkip(f"{kind} {namespace}/{name} not found in the repository")


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


def _check_host(host: str, settings: HelmSettings) -> None:
    if host in settings.allow_hosts:
        return
    if host in ("localhost", "") or host.endswith((".local", ".internal")):
        raise HelmSkip(f"chart host {host or '(none)'} refused")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return
    if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved:
        raise HelmSkip(f"chart host {host} refused (non-public address)")


def _from_helm_repository(repo: Mapping[str, Any], chart: str, version: str) -> Chart:
    spec = repo.get("spec") or {}
    url = str(spec.get("url") or "")
    if spec.get("type") == "oci" or url.startswith("oci://"):
        return Chart(f"{url.rstrip('/')}/{chart}", version, host=_host(url))
    return Chart(chart, version, repo=url, host=_host(url))


SELF = (("flux-system", "flux-system"),)


def _local_chart(chart: str, tree: Mapping[str, str]) -> Chart:
    prefix = clean_path(chart) + "/"
    files = {p[len(prefix) :]: t for p, t in tree.items() if p.startswith(prefix)}
    if not files:
        raise HelmSkip(f"chart directory {chart} not found in the repository")
    return Chart("chart", local=files)


def _is_self(
    ref: Mapping[str, Any], namespace: str, self_sources: Collection[tuple[str, str]]
) -> bool:
    """A GitRepository reference to this repository (bootstrap name, or one found by URL)."""
    name = str(ref.get("name") or "")
    ns = str(ref.get("namespace") or namespace)
    return ref.get("kind") == "GitRepository" and (
        name == "flux-system" or (ns, name) in self_sources
    )


def resolve_chart(
    hr: Mapping[str, Any],
    scope: Sequence[Mapping[str, Any]],
    repo: FluxObjects,
    tree: Mapping[str, str],
    self_sources: Collection[tuple[str, str]] = SELF,
) -> Chart:
    """Where the chart of ``hr`` comes from; ``self_sources`` are ``(namespace, name)`` of the
    GitRepositories that are this repository (their charts are directories of ``tree``)."""
    meta, spec = hr.get("metadata") or {}, hr.get("spec") or {}
    namespace = str(meta.get("namespace") or "")
    chart_ref = spec.get("chartRef")
    if chart_ref:
        ns = str(chart_ref.get("namespace") or namespace)
        source = _find(str(chart_ref.get("kind")), str(chart_ref.get("name")), ns, scope, repo)
        sspec = source.get("spec") or {}
        if source.get("kind") == "OCIRepository":
            url, ref = str(sspec.get("url") or ""), sspec.get("ref") or {}
            if ref.get("digest"):
                return Chart(f"{url}@{ref['digest']}", host=_host(url))
            return Chart(url, str(ref.get("tag") or ref.get("semver") or ""), host=_host(url))
        if source.get("kind") == "HelmChart":
            src = sspec.get("sourceRef") or {}
            if _is_self(src, ns, self_sources):
                return _local_chart(str(sspec.get("chart") or ""), tree)
            helm_repo = _find(str(src.get("kind")), str(src.get("name")), ns, scope, repo)
            return _from_helm_repository(
                helm_repo, str(sspec.get("chart")), str(sspec.get("version") or "")
            )
        raise HelmSkip(f"chartRef kind {source.get('kind')} is not supported")
    cspec = (spec.get("chart") or {}).get("spec") or {}
    src = cspec.get("sourceRef") or {}
    ns = str(src.get("namespace") or namespace)
    chart, version = str(cspec.get("chart") or ""), str(cspec.get("version") or "")
    if src.get("kind") == "HelmRepository":
        return _from_helm_repository(
            _find("HelmRepository", str(src.get("name")), ns, scope, repo), chart, version
        )
    if _is_self(src, namespace, self_sources):
        return _local_chart(chart, tree)
    raise HelmSkip(f"chart source {src.get('kind')}/{src.get('name')} is not supported")


def merge_values(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's map merge: nested maps merge, everything else is replaced."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_values(out[key], value)
        else:
            out[key] = value
    return out


def typed_value(value: str) -> Any:
    """A ``valuesFrom`` value for ``targetPath`` as helm-controller sets it (Helm's strvals):
    quoted → the string inside; ``true``/``false``/``null`` (any case) → bool/None; a base-10
    integer not starting with ``0`` (or ``0`` itself) → int; anything else stays a string."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value.strip("'\"")
    lower = value.lower()
    if lower in ("true", "false"):
        return lower == "true"
    if lower == "null":
        return None
    if value == "0":
        return 0
    if value and value[0] != "0":
        try:
            number = int(value, 10)
        except ValueError:
            return value
        if -(2**63) <= number < 2**63 and value.lstrip("+-").isdigit():
            return number
    return value


def _path_segments(path: str) -> list[str | int]:
    """``a.b[0].c\\.d`` → ``["a", "b", 0, "c.d"]`` (strvals' dots, indexes and escaped dots)."""
    segments: list[str | int] = []
    current = ""
    i = 0
    while i < len(path):
        c = path[i]
        if c == "\\" and i + 1 < len(path):
            current += path[i + 1]
            i += 2
            continue
        if c == ".":
            if current:
                segments.append(current)
            current = ""
        elif c == "[":
            end = path.find("]", i)
            if end < 0 or not path[i + 1 : end].isdigit():
                raise HelmSkip(f"targetPath {path!r}: bad list index")
            if current:
                segments.append(current)
            current = ""
            segments.append(int(path[i + 1 : end]))
            i = end
        else:
            current += c
        i += 1
    if current:
        segments.append(current)
    if not segments:
        raise HelmSkip("targetPath is empty")
    return segments


def _set_path(values: dict[str, Any], path: str, raw: str) -> None:
    """Set ``raw`` (typed like ``helm --set``) at a strvals ``targetPath`` inside ``values``."""
    quoted = len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\""
    if not quoted and "," in raw:  # strvals would read what follows the comma as another key
        raise HelmSkip(f"targetPath {path}: an unquoted value with a comma is not a single value")
    value = typed_value(raw)
    segments = _path_segments(path)
    node: Any = values
    for seg, nxt in zip(segments, [*segments[1:], None], strict=True):
        last = nxt is None
        fresh: Any = value if last else ([] if isinstance(nxt, int) else {})
        if isinstance(seg, int):
            if not isinstance(node, list):
                raise HelmSkip(f"targetPath {path}: index on a non-list value")
            node.extend([None] * (seg + 1 - len(node)))
            if last or not isinstance(node[seg], list | dict):
                node[seg] = fresh
        else:
            if not isinstance(node, dict):
                raise HelmSkip(f"targetPath {path}: key on a non-map value")
            if last or not isinstance(node.get(seg), list | dict):
                node[seg] = fresh
        node = node[seg]


def release_values(
    hr: Mapping[str, Any], scope: Sequence[Mapping[str, Any]], repo: FluxObjects
) -> tuple[dict[str, Any], list[str]]:
    """``valuesFrom`` in order, then ``spec.values``; missing optional sources are skipped."""
    meta, spec = hr.get("metadata") or {}, hr.get("spec") or {}
    namespace = str(meta.get("namespace") or "")
    values: dict[str, Any] = {}
    notes: list[str] = []
    for ref in spec.get("valuesFrom") or []:
        kind, name = str(ref.get("kind")), str(ref.get("name"))
        key = str(ref.get("valuesKey") or "values.yaml")
        source = next(
            (
                o
                for o in scope
                if o.get("kind") == kind and (o.get("metadata") or {}).get("name") == name
            ),
            None,
        )
        if source is None:
            source = next(
                (
                    o.raw
                    for o in repo.config
                    if o.key.kind == kind
                    and o.key.name == name
                    and o.key.namespace in ("", namespace)
                ),
                None,
            )
        data = dict((source or {}).get("data") or {})
        if kind == "Secret":
            data = {k: base64.b64decode(str(v)).decode("utf-8", "replace") for k, v in data.items()}
            data.update((source or {}).get("stringData") or {})
        if key not in data:
            if not ref.get("optional"):
                notes.append(f"valuesFrom {kind}/{name} key {key} is not in the repository")
            continue
        if ref.get("targetPath"):
            _set_path(values, str(ref["targetPath"]), str(data[key]))
            continue
        docs = load_rendered(str(data[key]), f"{kind}/{name}")
        if docs and isinstance(docs[0], Mapping):
            values = merge_values(values, docs[0])
    values = merge_values(values, spec.get("values") or {})
    return values, notes


def template_release(
    hr: Mapping[str, Any],
    scope: Sequence[Mapping[str, Any]],
    repo: FluxObjects,
    settings: HelmSettings,
    workdir: Path,
    tree: Mapping[str, str],
    self_sources: Collection[tuple[str, str]] = SELF,
) -> tuple[list[dict[str, Any]] | None, list[str]]:
    """The chart's objects for one HelmRelease; on any problem ``None`` and a note."""
    meta, spec = hr.get("metadata") or {}, hr.get("spec") or {}
    label = f"HelmRelease {meta.get('namespace', '')}/{meta.get('name', '')}"
    try:
        chart = resolve_chart(hr, scope, repo, tree, self_sources)
        if not chart.local and not settings.fetch:
            raise HelmSkip(
                f"the chart is fetched from {chart.host or chart.ref} and fetching charts over "
                "the network is off (fluxbot diff --fetch-charts turns it on for trusted content)"
            )
        if chart.host:
            _check_host(chart.host, settings)
        values, notes = release_values(hr, scope, repo)
        workdir.mkdir(parents=True, exist_ok=True)
        values_file = workdir / "values.json"
        values_file.write_text(json.dumps(values), encoding="utf-8")
        ref = chart.ref
        if chart.local:
            materialise(chart.local, workdir / "chart")
            ref = str(workdir / "chart")
        target_ns = str(spec.get("targetNamespace") or "")
        namespace = target_ns or str(meta.get("namespace") or "default")
        release = str(spec.get("releaseName") or "") or (
            f"{target_ns}-{meta.get('name')}" if target_ns else str(meta.get("name"))
        )
        text = helm_template(
            ref,
            release=release,
            namespace=namespace,
            values_file=values_file,
            version=chart.version,
            repo=chart.repo,
            cwd=workdir,
            timeout=settings.timeout,
            max_output=settings.max_output,
            plain_http=chart.host in settings.plain_http_hosts,
            network=not chart.local,
            cache_dir=Path(settings.cache_dir) if settings.cache_dir else workdir / ".helm",
        )
    except BotError as exc:
        return None, [f"{label}: chart not rendered ({exc}); showing the HelmRelease object"]
    objects = [d for d in load_rendered(text, label) if isinstance(d, dict)]
    return objects, notes
