"""Diff-aware automerge: may a fluxbot PR merge itself, judged on what it does to the cluster?

A rule's ``automerge: {when: image-only | patch | never, checks: required}`` is decided here from
the rendered objects of every affected Kustomization, base and head, plus the PR's state:

    decision = decide(rule, renders, pr)
    decision.merge, decision.reasons        # False, ("Secret apps/db: secrets block automerge",)

``image-only`` allows only container ``image`` fields of workloads (and image tags/digests in
HelmRelease values), plus chart version fields and version labels where the rule moves charts.
``patch`` additionally needs every update in the PR to be a patch bump. Anything else blocks, and
the blocking object is named. Pure: the job fetches renders, checks and commits.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.core.errors import ConfigError


class When(enum.StrEnum):
    NEVER = "never"
    IMAGE_ONLY = "image-only"
    PATCH = "patch"


@dataclass(frozen=True)
class AutomergeRule:
    when: When = When.NEVER
    checks_required: bool = True
    charts: bool = False  # chart version/appVersion changes allowed (chart update rules)

    @classmethod
    def parse(cls, data: Mapping[str, Any] | None, where: str = "automerge") -> AutomergeRule:
        if not data:
            return cls()
        unknown = set(data) - {"when", "checks", "charts"}
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        try:
            when = When(str(data.get("when", "never")))
        except ValueError:
            choices = ", ".join(w.value for w in When)
            raise ConfigError(f"{where}.when: expected one of {choices}") from None
        checks = data.get("checks", "required")
        if checks not in ("required", "none"):
            raise ConfigError(f"{where}.checks: expected required or none")
        return cls(when=when, checks_required=checks == "required", charts=bool(data.get("charts")))


@dataclass(frozen=True)
class Render:
    """One affected Kustomization's objects on base and head (None: its render failed)."""

    kustomization: str
    base: Sequence[Mapping[str, Any]] | None
    head: Sequence[Mapping[str, Any]] | None
    error: str | None = None


class Checks(enum.StrEnum):
    GREEN = "green"
    PENDING = "pending"
    FAILED = "failed"
    NONE = "none"  # no checks reported


@dataclass(frozen=True)
class PRState:
    draft: bool = False
    mergeable: bool | None = True  # None: the forge has not computed it yet
    checks: Checks = Checks.GREEN
    human_commits: tuple[str, ...] = ()  # authors of commits fluxbot did not make
    bumps: tuple[str, ...] = ()  # "major" | "minor" | "patch" | "digest" per update


@dataclass(frozen=True)
class Decision:
    merge: bool
    reasons: tuple[str, ...] = ()
    changed: tuple[str, ...] = field(default_factory=tuple)  # allowed changes seen, for the PR


BLOCKING_KINDS = {
    "CustomResourceDefinition": "CRDs",
    "Secret": "secrets",
    "PersistentVolumeClaim": "volume claims",
    "Role": "RBAC",
    "ClusterRole": "RBAC",
    "RoleBinding": "RBAC",
    "ClusterRoleBinding": "RBAC",
}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
_CONTAINER_IMAGE = re.compile(
    r"^spec(\.jobTemplate\.spec)?(\.template\.spec)?\.(initContainers|containers|ephemeralContainers)"
    r"\[\d+\]\.image$"
)
_VALUES_IMAGE = re.compile(r"^spec\.values\..*(\.image|\.image\.(tag|digest|repository)|\.tag)$")
_CHART_FIELDS = re.compile(
    r"^(spec\.chart\.spec\.version|spec\.ref\.tag|spec\.version"
    r"|metadata\.labels\.(helm\.sh/chart|app\.kubernetes\.io/version|chart)"
    r"|spec(\.template|\.jobTemplate\.spec\.template)?\.metadata\.labels\."
    r"(helm\.sh/chart|app\.kubernetes\.io/version))$"
)


def _name(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{obj.get('kind')} {ns + '/' if ns else ''}{meta.get('name')}"


def _key(obj: Mapping[str, Any]) -> tuple[str, str, str, str]:
    meta = obj.get("metadata") or {}
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return group, str(obj.get("kind")), str(meta.get("namespace") or ""), str(meta.get("name"))


def changed_paths(base: Any, head: Any, path: str = "") -> Iterator[str]:
    """Dotted paths (``a.b[0].c``) where two JSON-like documents differ."""
    if isinstance(base, Mapping) and isinstance(head, Mapping):
        for k in sorted({*base, *head}, key=str):
            sub = f"{path}.{k}" if path else str(k)
            if k not in base or k not in head:
                yield sub
            else:
                yield from changed_paths(base[k], head[k], sub)
    elif isinstance(base, list) and isinstance(head, list) and len(base) == len(head):
        for i, (a, b) in enumerate(zip(base, head, strict=True)):
            yield from changed_paths(a, b, f"{path}[{i}]")
    elif base != head:
        yield path


def _allowed(obj: Mapping[str, Any], path: str, rule: AutomergeRule) -> bool:
    kind = obj.get("kind")
    if kind in WORKLOADS and _CONTAINER_IMAGE.match(path):
        return True
    if kind == "HelmRelease" and _VALUES_IMAGE.match(path):
        return True
    return rule.charts and bool(_CHART_FIELDS.match(path))


def object_blockers(render: Render, rule: AutomergeRule) -> tuple[list[str], list[str]]:
    """(blocking reasons, allowed changes) of one Kustomization's render."""
    if render.error is not None or render.base is None or render.head is None:
        return [f"Kustomization {render.kustomization}: render failed ({render.error})"], []
    base = {_key(o): o for o in render.base}
    head = {_key(o): o for o in render.head}
    blocked: list[str] = []
    allowed: list[str] = []
    for key in sorted(base.keys() - head.keys()):
        blocked.append(f"{_name(base[key])}: deleted")
    for key in sorted(head.keys() - base.keys()):
        blocked.append(f"{_name(head[key])}: created")
    for key in sorted(base.keys() & head.keys()):
        before, after = base[key], head[key]
        paths = list(changed_paths(before, after))
        if not paths:
            continue
        kind = str(after.get("kind"))
        if kind in BLOCKING_KINDS:
            blocked.append(f"{_name(after)}: {BLOCKING_KINDS[kind]} block automerge")
            continue
        if kind == "Service" and any(p == "spec.type" for p in paths):
            blocked.append(f"{_name(after)}: Service type changes")
            continue
        bad = [p for p in paths if not _allowed(after, p, rule)]
        if bad:
            blocked.append(
                f"{_name(after)}: {bad[0]} changes"
                + (f" (+{len(bad) - 1})" if len(bad) > 1 else "")
            )
        else:
            allowed.extend(f"{_name(after)}: {p}" for p in paths)
    return blocked, allowed


def decide(rule: AutomergeRule, renders: Sequence[Render], pr: PRState) -> Decision:
    """Merge only when every gate passes; otherwise every reason, blocking objects named."""
    if rule.when is When.NEVER:
        return Decision(False, ("automerge is off for this rule",))
    reasons: list[str] = []
    if pr.draft:
        reasons.append("the pull request is a draft")
    if pr.mergeable is False:
        reasons.append("the branch is not mergeable")
    elif pr.mergeable is None:
        reasons.append("the forge has not decided whether the branch is mergeable yet")
    if pr.human_commits:
        reasons.append(f"commits by {', '.join(sorted(set(pr.human_commits)))} on the branch")
    if rule.checks_required and pr.checks is not Checks.GREEN:
        reasons.append(f"required checks are {pr.checks.value}")
    if rule.when is When.PATCH and any(b not in ("patch", "digest") for b in pr.bumps):
        reasons.append("not every update is a patch")
    if not renders:
        reasons.append("no affected Kustomization was rendered")
    allowed: list[str] = []
    for render in renders:
        blocked, ok = object_blockers(render, rule)
        reasons.extend(blocked)
        allowed.extend(ok)
    return Decision(not reasons, tuple(reasons), tuple(allowed))
