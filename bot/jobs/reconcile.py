"""The reconcile job: merged PR → affected Kustomizations → ask Flux → watch → report on the forge.

The merge commit's tree gives the Flux graph (:mod:`bot.core.flux.graph`); the changed paths (from
the
event, else the PR's marker) select the Kustomizations. Flux is asked through the configured
Receiver, else the Kubernetes API; the rollout is watched through the Kubernetes API, else through
the commit statuses Flux's notification-controller posts on the merge commit. The result becomes
the commit status ``fluxbot/rollout`` on the merge commit and one comment on the PR (found again by
:data:`bot.core.markers.ROLLOUT_MARKER`, so a repeated run edits it instead of adding another).

Test seams in ``ctx.extra``: ``"kube"`` (a :class:`~bot.adapters.kube.KubeFlux`), ``"http"`` (an
``httpx.AsyncClient`` for the Receiver), ``"sleep"`` (an async sleep).

    report = await run_reconcile(ctx, event)   # event: PR_MERGED, PUSH or a command
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from bot.adapters.kube import (
    GITREPOSITORY,
    KUSTOMIZATION,
    KubeFlux,
    ReceiverTrigger,
    ReconcileConfig,
    watch,
)
from bot.app.log import get_logger
from bot.core.errors import BotError, ReconcileError
from bot.core.events import Event, EventKind
from bot.core.flux.graph import FluxGraph
from bot.core.markers import ROLLOUT_MARKER, PRMarker
from bot.core.model import PRState, PullRequest
from bot.core.rollout import (
    STATUS_CONTEXT,
    KsRef,
    Observation,
    Outcome,
    Result,
    evaluate,
    evaluate_statuses,
    overall,
    render_comment,
    revision_sha,
    rfc3339nano,
)
from bot.jobs.context import Context
from bot.jobs.reconcile_scope import (
    affected,
    followed_branches,
    load_config,
    repo_urls,
)
from bot.ports import StatusState

log = get_logger(__name__)
# affected/followed_branches/load_config/repo_urls live in bot.jobs.reconcile_scope; re-exported.
__all__ = ["RolloutReport", "affected", "followed_branches", "load_config", "repo_urls"]
__all__ += ["open_kube", "reconcile_and_watch", "run_reconcile"]
DEFAULT_SOURCE = KsRef("flux-system", "flux-system")


@dataclass
class RolloutReport:
    """What the job did (JSON-able for the Action and the CLI)."""

    merge_sha: str
    pr_number: int | None = None
    how: str = ""
    watched_by: str = ""
    kustomizations: list[KsRef] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    state: StatusState = StatusState.PENDING
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "merge_sha": self.merge_sha,
            "pr": self.pr_number,
            "triggered_via": self.how,
            "watched_by": self.watched_by,
            "state": self.state.value,
            "description": self.description,
            "kustomizations": [
                {"kustomization": str(r.ks), "result": r.outcome.value, "message": r.message}
                for r in self.results
            ]
            or [{"kustomization": str(k), "result": "requested"} for k in self.kustomizations],
        }


def _sleep(ctx: Context) -> Callable[[float], Awaitable[None]]:
    sleep = ctx.extra.get("sleep")
    return sleep if callable(sleep) else asyncio.sleep


@asynccontextmanager
async def open_kube(ctx: Context, cfg: ReconcileConfig) -> AsyncIterator[KubeFlux | None]:
    """The Kubernetes client the settings and config allow, or None."""
    injected = ctx.extra.get("kube")
    if injected is not None or cfg.kubernetes is False:
        yield injected if cfg.kubernetes is not False else None
        return
    s = ctx.settings
    if cfg.kubernetes is None and not (s.kubeconfig or s.in_cluster):
        yield None
        return
    async with KubeFlux.open(kubeconfig=s.kubeconfig, in_cluster=s.in_cluster) as kube:
        yield kube


async def reconcile_and_watch(
    ctx: Context,
    cfg: ReconcileConfig,
    kube: KubeFlux | None,
    *,
    kustomizations: Sequence[KsRef],
    sources: Sequence[KsRef],
    merge_sha: str,
    branch: str,
    wait: bool = True,
) -> RolloutReport:
    """Trigger Flux for the merge and (with ``wait``) watch each Kustomization's rollout."""
    clock = ctx.clock or time.time
    at = rfc3339nano(int(clock() * 1e9))
    report = RolloutReport(merge_sha, kustomizations=list(kustomizations))
    secret = ctx.settings.receiver_secret
    if cfg.receiver is not None and secret:
        trigger = ReceiverTrigger(
            cfg.receiver.url, secret, cfg.receiver.type, ctx.extra.get("http")
        )
        await trigger.trigger(
            {"source": "fluxbot", "ref": f"refs/heads/{branch}", "after": merge_sha}
        )
        report.how = f"the Flux Receiver ({cfg.receiver.type.value})"
    elif kube is not None:
        for src in sources or (DEFAULT_SOURCE,):
            await kube.request_reconcile(GITREPOSITORY, src, at)
        for ks in kustomizations:
            await kube.request_reconcile(KUSTOMIZATION, ks, at)
        report.how = "the Kubernetes API"
    elif cfg.receiver is not None:
        raise ReconcileError("reconcile.receiver is configured but no receiver secret is set")
    else:
        report.how = "Flux's own polling (no receiver or cluster access)"
    if not wait:
        report.description = f"reconcile requested for {len(kustomizations)} Kustomizations"
        return report

    observe: Callable[[KsRef], Awaitable[Observation]]
    if kube is not None:
        requested = at if report.how == "the Kubernetes API" else None
        ancestry = Ancestry(ctx, merge_sha, await _descendants(ctx, branch, merge_sha))

        async def observe(ref: KsRef) -> Observation:
            obj = await kube.get(KUSTOMIZATION, ref)
            if obj is None:
                return Observation(Outcome.FAILED, "Kustomization not found in the cluster")
            obs = evaluate(obj, merge_sha, requested, ancestry.known)
            if obs.outcome is Outcome.PROGRESSING and await ancestry.learn(obj):
                obs = evaluate(obj, merge_sha, requested, ancestry.known)
            return obs

        report.watched_by = "the Kubernetes API"
    elif cfg.statuses and merge_sha:
        details = getattr(ctx.forge, "commit_status_details", None)

        async def observe(ref: KsRef) -> Observation:
            if callable(details):  # optional: states and descriptions (controller messages)
                found: Mapping[str, tuple[StatusState, str]] = await details(merge_sha)
                states = {c: st for c, (st, _d) in found.items()}
                return evaluate_statuses(states, ref, {c: d for c, (_s, d) in found.items()})
            return evaluate_statuses(await ctx.forge.commit_statuses(merge_sha), ref)

        report.watched_by = "Flux's commit statuses"
    else:
        report.description = "reconcile requested; no way to watch the rollout"
        return report
    report.results = await watch(
        kustomizations,
        observe,
        timeout=cfg.timeout,
        interval=cfg.interval,
        clock=clock,
        sleep=_sleep(ctx),
    )
    report.state, report.description = overall(report.results)
    return report


class Ancestry:
    """Commits known to contain the merge; asks the forge about others when it can.

    The optional forge method ``is_ancestor(ancestor, descendant) -> bool`` (from
    :class:`~bot.ports.ForgeHistory`: GitHub and GitLab have it) tells whether a revision
    Flux applied or attempted descends from the merge commit; each commit is asked about once.
    Without it, only the branch head seen at the start of the watch counts as a descendant.
    """

    def __init__(self, ctx: Context, merge_sha: str, descendants: Sequence[str] = ()) -> None:
        self._ask = getattr(ctx.forge, "is_ancestor", None)
        self._merge = merge_sha
        self._answers: dict[str, bool] = {sha: True for sha in descendants}

    @property
    def known(self) -> tuple[str, ...]:
        return tuple(sha for sha, yes in self._answers.items() if yes)

    async def learn(self, obj: Mapping[str, Any]) -> bool:
        """Ask about the object's applied/attempted commits; True when one is a new descendant."""
        if not callable(self._ask) or not self._merge:
            return False
        status = obj.get("status") or {}
        learnt = False
        for field_name in ("lastAppliedRevision", "lastAttemptedRevision"):
            sha = revision_sha(str(status.get(field_name) or ""))
            if not sha or sha in self._answers or sha.startswith(self._merge):
                continue
            try:
                self._answers[sha] = bool(await self._ask(self._merge, sha))
            except BotError as exc:  # unknown commit (not fetched yet, force-push): not ours
                log.info("reconcile.ancestry_unknown", sha=sha, error=str(exc))
                self._answers[sha] = False
            learnt = learnt or self._answers[sha]
        return learnt


async def _descendants(ctx: Context, branch: str, merge_sha: str) -> tuple[str, ...]:
    """The branch head when it moved past the merge (a later commit contains the merge)."""
    if not branch or not merge_sha:
        return ()
    try:
        head = await ctx.forge.branch_sha(branch)
    except BotError:  # only an optimisation
        return ()
    return (head,) if head and head != merge_sha else ()


async def _merged_pr(ctx: Context, event: Event) -> PullRequest | None:
    if event.pr_number is not None:
        return await ctx.forge.get_pr(event.pr_number)
    sha = event.merge_sha or event.after
    if not sha:
        return None
    for pr in await ctx.forge.list_prs():
        if pr.state is PRState.MERGED and pr.merge_sha == sha:
            return pr
    return None


async def run_reconcile(ctx: Context, event: Event) -> RolloutReport | None:
    """Reconcile Flux for a merged PR (or a push) and report the rollout on the forge."""
    forge = ctx.forge
    pr = await _merged_pr(ctx, event)
    if pr is not None and pr.state is not PRState.MERGED:
        log.info("reconcile.not_merged", repo=forge.repo, pr=pr.number)
        return None
    merge_sha = event.merge_sha or (pr.merge_sha if pr else None) or event.after
    if not merge_sha:
        log.info("reconcile.no_merge_sha", repo=forge.repo, pr=event.pr_number)
        return None
    if event.kind is EventKind.PUSH:
        branch = event.branch or ""
    else:
        branch = (pr.base if pr else None) or event.branch or ""
    tree = await forge.read_tree(merge_sha)
    cfg = load_config(tree)
    if not cfg.enabled and event.kind is not EventKind.COMMENT:
        return None
    graph = FluxGraph.from_tree(tree, repo_urls(ctx))
    followed = (
        cfg.branches
        or followed_branches(graph)
        or (event.default_branch or await forge.default_branch(),)
    )
    if branch and branch not in followed:
        log.info("reconcile.branch_not_followed", repo=forge.repo, branch=branch)
        return None
    paths = list(event.changed_paths)
    marker = PRMarker.parse(pr.body) if pr else None
    if not paths and marker is not None:
        paths = sorted({u.path for u in marker.updates})
    pr_paths = getattr(forge, "pr_paths", None)  # optional: bot.ports.ForgeHistory
    if not paths and pr is not None and callable(pr_paths):
        try:
            paths = sorted(await pr_paths(pr.number))
        except BotError as exc:  # not knowing the paths only widens what is reconciled
            log.warning("reconcile.pr_paths_failed", repo=forge.repo, pr=pr.number, error=str(exc))
    kustomizations, sources = affected(graph, paths, branch)
    if not kustomizations:
        log.info("reconcile.nothing_affected", repo=forge.repo, sha=merge_sha)
        return None
    sources = list(cfg.sources) or sources
    await forge.set_status(
        merge_sha,
        STATUS_CONTEXT,
        StatusState.PENDING,
        f"reconciling {len(kustomizations)} Kustomizations",
    )
    try:
        async with open_kube(ctx, cfg) as kube:
            report = await reconcile_and_watch(
                ctx,
                cfg,
                kube,
                kustomizations=kustomizations,
                sources=sources,
                merge_sha=merge_sha,
                branch=branch,
            )
    except ReconcileError as exc:
        await forge.set_status(merge_sha, STATUS_CONTEXT, StatusState.ERROR, _short(str(exc)))
        if pr is not None:
            body = f"{ROLLOUT_MARKER}\n### Could not ask Flux to reconcile\n\n{exc}\n"
            await forge.ensure_comment(pr.number, ROLLOUT_MARKER, body)
        raise
    except asyncio.CancelledError:
        # Shutdown (drain timeout) mid-watch: leave no status stuck at "pending".
        note = "fluxbot stopped before the rollout finished; comment `/fluxbot reconcile` to retry"
        with suppress(BotError, TimeoutError):
            await asyncio.wait_for(
                forge.set_status(merge_sha, STATUS_CONTEXT, StatusState.ERROR, note), 5
            )
        raise
    report.pr_number = pr.number if pr else None
    state = report.state if report.results else StatusState.SUCCESS
    await forge.set_status(merge_sha, STATUS_CONTEXT, state, _short(report.description))
    if pr is not None and report.results:
        comment = render_comment(merge_sha, report.results, report.how)
        await forge.ensure_comment(pr.number, ROLLOUT_MARKER, comment)
    log.info(
        "reconcile.done",
        repo=forge.repo,
        sha=merge_sha,
        state=report.state.value,
        kustomizations=len(kustomizations),
    )
    return report


def _short(text: str) -> str:
    """Commit-status descriptions are capped at 140 characters on GitHub."""
    return text if len(text) <= 140 else text[:139] + "…"
