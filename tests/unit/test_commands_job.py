"""The command job on an in-memory forge: bots, permissions, reactions, replies and each effect."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.app.settings import Settings
from bot.app.webhooks import MemoryDeliveryStore
from bot.core.dispatch import jobs_for
from bot.core.events import Event, EventKind
from bot.core.markers import PRMarker
from bot.core.model import Ignore, IgnoreScope, PRState, Update
from bot.jobs.command import CommandOutcome, reply_marker, run_command
from bot.jobs.context import Context
from bot.jobs.update import ignores_from
from bot.ports import Reaction, StatusState
from tests.support.memory_forge import MemoryForge
from tests.support.reconcile_data import DEPLOY, TREE, fluxbot_config
from tests.support.registries import UnusedRegistry

UPDATE = Update(path=DEPLOY, line=10, image="ghcr.io/o/web", old="1.0.0", new="2.1.0")


async def setup(extra_files: dict[str, str] | None = None) -> tuple[MemoryForge, Context, int]:
    forge = MemoryForge(files={**TREE, **(extra_files or {})}, writers={"maintainer"})
    base = forge.branches["main"]
    new = TREE[DEPLOY].replace("1.0.0", "2.1.0")
    await forge.ensure_branch("fluxbot/web", base, {DEPLOY: new}, "update web")
    body = "Update web\n\n" + PRMarker(group="web", updates=(UPDATE,)).render()
    pr, _ = await forge.ensure_pr("fluxbot/web", "main", "Update web to 2.1.0", body)
    ctx = Context(
        forge=forge, registry=UnusedRegistry(), settings=Settings(bot_login="fluxbot[bot]")
    )
    return forge, ctx, pr.number


def comment(
    body: str,
    number: int,
    actor: str = "maintainer",
    cid: int = 77,
    forge: str = "memory",
    **kw: Any,
) -> Event:
    return Event(
        forge=forge,
        kind=EventKind.COMMENT,
        repo="owner/repo",
        pr_number=number,
        actor=actor,
        comment_id=cid,
        comment_body=body,
        **kw,
    )


async def dispatched(ctx: Context, event: Event) -> CommandOutcome | None:
    """Dispatch ``event`` as the server does (which parses the commands), then run its job."""
    jobs = jobs_for(event, ctx.settings.login_for(event.forge))
    return await run_command(ctx, jobs[0]) if jobs else None


def replies(forge: MemoryForge, number: int) -> list[str]:
    return [text for _cid, text in forge.comments.get(number, [])]


@pytest.mark.parametrize(
    ("actor", "is_bot"),
    [("fluxbot[bot]", False), ("fluxbot", False), ("renovate[bot]", False), ("someone", True)],
)
async def test_bot_comments_are_ignored(actor: str, is_bot: bool) -> None:
    forge, ctx, number = await setup()
    forge.writers.add(actor)
    before = list(forge.calls)
    assert (
        await dispatched(ctx, comment("/fluxbot close", number, actor, actor_is_bot=is_bot)) is None
    )
    assert forge.prs[number].state is PRState.OPEN
    assert forge.calls == before and forge.reactions == [] and replies(forge, number) == []


async def test_no_command_no_action() -> None:
    forge, ctx, number = await setup()
    assert await dispatched(ctx, comment("looks good, thanks fluxbot", number)) is None
    assert forge.reactions == [] and replies(forge, number) == []


async def test_refused_user_gets_a_polite_reply_and_nothing_happens() -> None:
    forge, ctx, number = await setup()
    outcome = await dispatched(ctx, comment("/fluxbot close", number, actor="drive-by"))
    assert outcome is not None and outcome.refused
    assert forge.prs[number].state is PRState.OPEN
    assert forge.reactions == []
    (reply,) = replies(forge, number)
    assert reply_marker(77) in reply and "write access" in reply and "@drive-by" in reply


async def test_a_failed_permission_check_refuses_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.core.errors import ForgeError

    forge, ctx, number = await setup()

    async def broken(user: str) -> bool:
        raise ForgeError("GitHub API: HTTP 502")

    monkeypatch.setattr(forge, "can_write", broken)
    outcome = await dispatched(ctx, comment("/fluxbot close", number))
    assert outcome is not None and outcome.refused
    assert forge.prs[number].state is PRState.OPEN and forge.reactions == []
    (reply,) = replies(forge, number)
    assert "could not check your access" in reply and "502" not in reply


async def test_gitlab_bot_login_is_a_name_and_a_bot() -> None:
    forge, ctx, number = await setup()
    ctx.settings = Settings(bot_login="fluxbot[bot]", gitlab_bot_login="gl-fluxbot")
    own = comment("@gl-fluxbot close", number, actor="gl-fluxbot", forge="gitlab")
    assert await dispatched(ctx, own) is None
    outcome = await dispatched(ctx, comment("@gl-fluxbot close", number, forge="gitlab"))
    assert outcome is not None and outcome.commands == ["close"]
    assert forge.prs[number].state is PRState.CLOSED


async def test_help_and_unknown() -> None:
    forge, ctx, number = await setup()
    await dispatched(ctx, comment("@fluxbot help", number, cid=1))
    assert forge.reactions == [(number, 1, Reaction.EYES), (number, 1, Reaction.ROCKET)]
    assert "`/fluxbot ignore this major version`" in replies(forge, number)[0]
    await dispatched(ctx, comment("/fluxbot dance", number, cid=2))
    assert forge.reactions[-1] == (number, 2, Reaction.CONFUSED)
    assert (
        "I don't know" in replies(forge, number)[1]
        and "`/fluxbot dance`" in replies(forge, number)[1]
    )


@pytest.mark.parametrize(
    ("command", "scope", "version"),
    [
        ("ignore this major version", IgnoreScope.MAJOR, "2.1.0"),
        ("ignore this minor version", IgnoreScope.MINOR, "2.1.0"),
        ("ignore this image", IgnoreScope.IMAGE, ""),
    ],
)
async def test_ignore_records_in_marker_and_closes(
    command: str, scope: IgnoreScope, version: str
) -> None:
    forge, ctx, number = await setup()
    outcome = await dispatched(ctx, comment(f"/fluxbot {command}", number))
    assert outcome is not None and outcome.ok
    pr = forge.prs[number]
    assert pr.state is PRState.CLOSED
    marker = PRMarker.parse(pr.body)
    assert marker is not None and marker.ignores == (Ignore("ghcr.io/o/web", scope, version),)
    assert pr.body.startswith("Update web")  # the human-readable body is kept
    # the update job's reading of the forge honours it
    assert Ignore("ghcr.io/o/web", scope, version) in ignores_from(await forge.list_prs())
    assert forge.reactions[-1] == (number, 77, Reaction.ROCKET)


async def test_unignore_lifts_recorded_and_closed_pr_ignores() -> None:
    forge, ctx, number = await setup()
    await dispatched(ctx, comment("/fluxbot ignore this image", number, cid=1))
    assert ignores_from(await forge.list_prs())
    await dispatched(ctx, comment("/fluxbot unignore", number, cid=2))
    assert ignores_from(await forge.list_prs()) == ()
    assert "forgot" in replies(forge, number)[-1]


async def test_close_implies_version_ignore() -> None:
    forge, ctx, number = await setup()
    await dispatched(ctx, comment("/fluxbot close", number))
    assert forge.prs[number].state is PRState.CLOSED
    assert ignores_from(await forge.list_prs()) == (
        Ignore("ghcr.io/o/web", IgnoreScope.VERSION, "2.1.0"),
    )


async def test_own_pr_commands_refused_on_other_prs() -> None:
    forge, ctx, _ = await setup()
    pr, _created = await forge.ensure_pr("feature/x", "main", "A human PR", "no marker")
    forge.prs[pr.number] = pr.__class__(**{**pr.__dict__, "branch": "feature/x"})
    await dispatched(ctx, comment("/fluxbot close", pr.number))
    assert forge.prs[pr.number].state is PRState.OPEN
    assert forge.reactions[-1][2] is Reaction.CONFUSED
    assert "fluxbot's own" in replies(forge, pr.number)[0]


async def test_replays() -> None:
    forge, ctx, number = await setup()
    event = comment("/fluxbot ignore this image", number)
    await dispatched(ctx, event)
    await dispatched(ctx, event)  # no store: effects and reply converge
    assert len(replies(forge, number)) == 1
    assert len(PRMarker.parse(forge.prs[number].body).ignores) == 1  # type: ignore[union-attr]
    # with a delivery store the replay does nothing at all
    forge2, ctx2, number2 = await setup()
    ctx2.extra["deliveries"] = MemoryDeliveryStore()
    event2 = comment("/fluxbot help", number2)
    assert await dispatched(ctx2, event2) is not None
    assert await dispatched(ctx2, event2) is None
    assert len(forge2.reactions) == 2


@dataclass
class _Action:
    branch: str
    reason: str = ""


@dataclass
class _Report:
    base: str = "main"
    updated: list[_Action] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


async def test_rebase_and_recreate_run_the_update_job(monkeypatch: pytest.MonkeyPatch) -> None:
    forge, ctx, number = await setup()
    calls: list[Context] = []

    async def fake_run_update(c: Context) -> _Report:
        calls.append(c)
        return _Report(updated=[_Action("fluxbot/web")])

    monkeypatch.setattr("bot.jobs.update.run_update", fake_run_update)
    await dispatched(ctx, comment("/fluxbot rebase\n/fluxbot recreate", number))
    assert calls == [ctx, ctx]
    reply = replies(forge, number)[0]
    assert reply.count("recomputed the branch on `main`") == 2
    assert forge.reactions[-1][2] is Reaction.ROCKET


async def test_rebase_failure_is_confused(monkeypatch: pytest.MonkeyPatch) -> None:
    forge, ctx, number = await setup()

    async def failing(c: Context) -> _Report:
        return _Report(problems=["fluxbot/web: forge refused the push"])

    monkeypatch.setattr("bot.jobs.update.run_update", failing)
    outcome = await dispatched(ctx, comment("/fluxbot rebase", number))
    assert outcome is not None and not outcome.ok
    assert forge.reactions[-1][2] is Reaction.CONFUSED
    assert "forge refused the push" in replies(forge, number)[0]


async def test_a_crash_in_one_command_still_ends_in_confused_and_a_reply(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    forge, ctx, number = await setup()

    async def crashing(c: Context) -> _Report:
        raise KeyError("bug")

    monkeypatch.setattr("bot.jobs.update.run_update", crashing)
    outcome = await dispatched(ctx, comment("/fluxbot rebase\n/fluxbot help", number))
    assert outcome is not None and not outcome.ok
    assert [r[2] for r in forge.reactions] == [Reaction.EYES, Reaction.CONFUSED]
    (reply,) = replies(forge, number)
    assert "internal error" in reply and "commands**" in reply  # the help still answered
    assert "bug" not in reply


async def test_reconcile_needs_a_merged_pr() -> None:
    forge, ctx, number = await setup()
    await dispatched(ctx, comment("/fluxbot reconcile", number))
    assert "merged pull request" in replies(forge, number)[0]
    assert forge.reactions[-1][2] is Reaction.CONFUSED


async def test_reconcile_on_merged_pr_reads_flux_statuses() -> None:
    config = fluxbot_config("  kubernetes: false\n  timeout: 1s\n  interval: 1ms\n")
    forge, ctx, number = await setup(config)
    sha = forge.merge(number)
    forge.statuses[sha] = {"kustomization/apps/0c9c2e41": StatusState.SUCCESS}
    outcome = await dispatched(ctx, comment("/fluxbot reconcile", number))
    assert outcome is not None and outcome.ok
    assert forge.statuses[sha]["fluxbot/rollout"] is StatusState.SUCCESS
    rollout = [r for r in replies(forge, number) if "<!-- fluxbot:rollout -->" in r]
    assert len(rollout) == 1 and "`flux-system/apps` | ✅ ready" in rollout[0]


async def test_diff_runs_the_preview_for_the_pr_head(monkeypatch: pytest.MonkeyPatch) -> None:
    forge, ctx, number = await setup()
    seen: list[Event] = []

    async def fake_preview(c: Context, e: Event) -> str:
        seen.append(e)
        return "rendered"

    monkeypatch.setattr("bot.jobs.runner.run_preview_job", fake_preview)
    await dispatched(ctx, comment("/fluxbot diff", number))
    (event,) = seen
    pr = forge.prs[number]
    assert (event.pr_number, event.after, event.branch) == (number, pr.head_sha, "main")
    assert "preview again" in replies(forge, number)[0]
    assert forge.reactions[-1][2] is Reaction.ROCKET
