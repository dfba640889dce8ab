"""The rollout of a merge, per Flux Kustomization: what a status means, and the PR comment. Pure.

A Kustomization has rolled out a merge commit when its ``Ready`` condition is ``True`` and
``status.lastAppliedRevision`` names that commit (``main@sha1:<sha>``) or a descendant of it; it
failed when ``Ready`` is ``False`` for that commit (or after handling our reconcile request); else
it is still progressing, until the watch times out.

    >>> obj = {"status": {"lastAppliedRevision": "main@sha1:abc",
    ...        "conditions": [{"type": "Ready", "status": "True", "message": "Applied"}]}}
    >>> evaluate(obj, "abc").outcome
    <Outcome.READY: 'ready'>
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from bot.core.errors import ConfigError
from bot.core.markers import ROLLOUT_MARKER
from bot.ports import StatusState

STATUS_CONTEXT = "fluxbot/rollout"


class Outcome(StrEnum):
    READY = "ready"
    FAILED = "failed"
    TIMED_OUT = "timed out"
    PROGRESSING = "progressing"


@dataclass(frozen=True, order=True)
class KsRef:
    """``namespace/name`` of a Flux object (a Kustomization unless said otherwise)."""

    namespace: str
    name: str

    @classmethod
    def parse(cls, text: str, default_namespace: str = "flux-system") -> KsRef:
        """``ns/name`` or ``name`` (in ``default_namespace``)."""
        ns, _, name = text.strip().rpartition("/")
        if not name or "/" in ns:
            raise ConfigError(f"expected NAMESPACE/NAME, got {text!r}")
        return cls(ns or default_namespace, name)

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Result:
    """Where one Kustomization's rollout stands."""

    ks: KsRef
    outcome: Outcome
    message: str = ""
    revision: str = ""


@dataclass(frozen=True)
class Observation:
    """What evaluating one status said (``ks`` filled by the caller)."""

    outcome: Outcome
    message: str = ""
    revision: str = ""


def rfc3339nano(epoch_ns: int) -> str:
    """Go's ``time.RFC3339Nano`` in UTC: ``2026-01-02T03:04:05.123456789Z`` (zeros trimmed)."""
    seconds, nanos = divmod(epoch_ns, 1_000_000_000)
    base = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    frac = f"{nanos:09d}".rstrip("0")
    return f"{base}.{frac}Z" if frac else f"{base}Z"


def revision_sha(revision: str) -> str:
    """The commit of a Flux revision: ``main@sha1:abc`` → ``abc``; legacy ``main/abc`` → ``abc``."""
    if "@sha1:" in revision:
        return revision.rsplit("@sha1:", 1)[1]
    if "@sha256:" in revision:
        return ""
    return revision.rsplit("/", 1)[-1] if "/" in revision else revision


def ready_condition(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    status = obj.get("status") or {}
    for cond in status.get("conditions") or []:
        if isinstance(cond, Mapping) and cond.get("type") == "Ready":
            return cond
    return None


def evaluate(
    obj: Mapping[str, Any],
    merge_sha: str,
    requested_at: str | None = None,
    descendants: Iterable[str] = (),
) -> Observation:
    """The rollout state of a Kustomization object for ``merge_sha``.

    ``descendants`` are commits known to contain the merge (a later push may be applied first).
    Without a ``merge_sha``, ready means Ready=True after handling the request ``requested_at``.
    """
    status = obj.get("status") or {}
    applied = str(status.get("lastAppliedRevision") or "")
    attempted = str(status.get("lastAttemptedRevision") or "")
    handled = str(status.get("lastHandledReconcileAt") or "")
    ours = {merge_sha, *descendants}
    cond = ready_condition(obj)
    state = str(cond.get("status")) if cond else "Unknown"
    message = str(cond.get("message") or "") if cond else ""
    applied_sha = revision_sha(applied)
    if state == "True" and applied_sha and any(applied_sha.startswith(s) for s in ours if s):
        return Observation(Outcome.READY, message, applied)
    if state == "True" and not merge_sha and requested_at is not None and handled == requested_at:
        return Observation(Outcome.READY, message, applied)  # no commit to wait for: our request
    if state == "False":
        attempted_sha = revision_sha(attempted)
        for_us = bool(attempted_sha) and any(attempted_sha.startswith(s) for s in ours if s)
        if for_us or (requested_at is not None and handled == requested_at):
            return Observation(Outcome.FAILED, message, attempted or applied)
    return Observation(Outcome.PROGRESSING, message, applied)


def evaluate_statuses(
    statuses: Mapping[str, StatusState], ks: KsRef, descriptions: Mapping[str, str] | None = None
) -> Observation:
    """The rollout state from Flux's commit statuses (context ``kustomization/<name>/<id>``).

    ``<id>`` is the first part of the Flux Provider's UID, one per cluster: with several clusters
    reporting, any failure is a failure and ready means every cluster reported success.
    """
    prefix = f"kustomization/{ks.name.lower()}/"
    found = sorted((ctx, st) for ctx, st in statuses.items() if ctx.lower().startswith(prefix))
    if not found:
        return Observation(Outcome.PROGRESSING)
    texts = descriptions or {}
    for context, state in found:
        if state in (StatusState.FAILURE, StatusState.ERROR):
            return Observation(Outcome.FAILED, texts.get(context) or f"Flux reported {state.value}")
    if all(state is StatusState.SUCCESS for _c, state in found):
        return Observation(Outcome.READY, texts.get(found[0][0], ""))
    pending = next(c for c, state in found if state is not StatusState.SUCCESS)
    return Observation(Outcome.PROGRESSING, texts.get(pending, ""))


def overall(results: Iterable[Result]) -> tuple[StatusState, str]:
    """The ``fluxbot/rollout`` commit status for a set of results."""
    items = list(results)
    failed = sum(r.outcome is Outcome.FAILED for r in items)
    late = sum(r.outcome in (Outcome.TIMED_OUT, Outcome.PROGRESSING) for r in items)
    ready = sum(r.outcome is Outcome.READY for r in items)
    if failed:
        return StatusState.FAILURE, f"{failed} of {len(items)} Kustomizations failed"
    if late:
        return StatusState.ERROR, f"{late} of {len(items)} Kustomizations timed out"
    return StatusState.SUCCESS, f"{ready} Kustomization{'s' if ready != 1 else ''} ready"


_ICONS = {
    Outcome.READY: "✅",
    Outcome.FAILED: "❌",
    Outcome.TIMED_OUT: "⏳",
    Outcome.PROGRESSING: "⏳",
}


def _cell(text: str, limit: int = 500) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_comment(merge_sha: str, results: Iterable[Result], how: str) -> str:
    """The one rollout comment on a merged PR (found again by :data:`ROLLOUT_MARKER`)."""
    items = sorted(results, key=lambda r: r.ks)
    state, summary = overall(items)
    head = {
        StatusState.SUCCESS: "Rollout succeeded",
        StatusState.FAILURE: "Rollout failed",
        StatusState.ERROR: "Rollout did not finish in time",
        StatusState.PENDING: "Rollout in progress",
    }[state]
    lines = [
        ROLLOUT_MARKER,
        f"### {head}",
        "",
        f"Merge commit `{merge_sha[:12]}`, reconcile triggered via {how}. {summary}.",
        "",
        "| Kustomization | result | message |",
        "| --- | --- | --- |",
    ]
    for r in items:
        outcome = Outcome.TIMED_OUT if r.outcome is Outcome.PROGRESSING else r.outcome
        lines.append(f"| `{r.ks}` | {_ICONS[r.outcome]} {outcome.value} | {_cell(r.message)} |")
    return "\n".join(lines) + "\n"
