"""The GitHub Action entry point: ``fluxbot action`` / ``python -m bot.app.action``
(``action.yml``).

Reads what the runner gives a Docker action — ``INPUT_*`` variables (``token``, ``app-id``,
``private-key``, ``config``, ``mode``, ``dry-run``), ``GITHUB_EVENT_NAME``, ``GITHUB_EVENT_PATH``,
``GITHUB_REPOSITORY``, ``GITHUB_API_URL`` — runs the same jobs as the App server inline, and writes
the ``updates`` and ``pull-requests`` outputs to ``GITHUB_OUTPUT`` and a markdown summary to
``GITHUB_STEP_SUMMARY``. ``diff`` appends the whole (uncapped) Flux diff to the summary, kept under
its 1 MiB limit, and the PR comment's truncation note points there; ``reconcile`` reports the
rollout (state, description, per Kustomization) in the summary and the ``rollout`` output, and
fails the step when the rollout failed or timed out.

Modes: ``update`` (plan and ensure PRs), ``diff`` (flux-diff preview of the PR), ``commands``
(a PR comment command), ``reconcile`` (a merged PR). ``auto`` routes by the event:
``schedule``/``workflow_dispatch``/``push`` → update; ``pull_request`` → diff (reconcile when
merged); ``issue_comment`` → commands.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bot.app.log import get_logger
from bot.app.settings import Settings
from bot.core.dispatch import Job, JobKind, commands_in, jobs_for
from bot.core.errors import BotError, ConfigError
from bot.core.events import Event, EventKind
from bot.core.events.github import normalise
from bot.jobs.context import Context
from bot.jobs.runner import run_job_result
from bot.ports import Forge, is_yaml

_log = get_logger(__name__)
MODES = ("auto", "update", "diff", "commands", "reconcile")
_MODE_JOB = {
    "update": JobKind.UPDATE,
    "diff": JobKind.PREVIEW,
    "commands": JobKind.COMMAND,
    "reconcile": JobKind.RECONCILE,
}
_TIMER_EVENTS = ("schedule", "workflow_dispatch", "repository_dispatch")
SUMMARY_LIMIT = 1024 * 1024  # bytes GitHub keeps of one step's job summary
FULL_DIFF_IN_SUMMARY = "the full diff is in the job summary of this workflow run"
_ROLLOUT_FAILED = ("failure", "error")


def inputs(env: Mapping[str, str]) -> dict[str, str]:
    """Action inputs: ``INPUT_APP-ID`` (as the runner sets it) or ``INPUT_APP_ID``."""
    out: dict[str, str] = {}
    for name in ("token", "app-id", "private-key", "config", "mode", "dry-run"):
        for key in (f"INPUT_{name.upper()}", f"INPUT_{name.upper().replace('-', '_')}"):
            if env.get(key):
                out[name] = env[key].strip()
                break
    return out


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def event_of(env: Mapping[str, str], payload: Mapping[str, Any], repo: str) -> Event:
    """The normalised event of this workflow run (a timer event for schedule/dispatch)."""
    name = env.get("GITHUB_EVENT_NAME", "workflow_dispatch")
    delivery = env.get("GITHUB_RUN_ID", "") or str(uuid.uuid4())
    if name in _TIMER_EVENTS:
        return Event(forge="github", kind=EventKind.SCHEDULE, repo=repo, delivery_id=delivery)
    github_name = "pull_request" if name == "pull_request_target" else name
    return normalise(github_name, payload, delivery)


def jobs_to_run(mode: str, event: Event, bot: str) -> list[Job]:
    """The jobs of ``mode`` (``auto``: what the event calls for, as the App server would)."""
    if mode == "auto":
        if event.kind is EventKind.PUSH:  # the workflow's own filters decided it matters
            return [Job(JobKind.UPDATE, "github", event.repo, event)]
        return jobs_for(event, bot)
    if mode == "commands":  # parsed once, here as on the server (bot.core.dispatch)
        return [Job(JobKind.COMMAND, "github", event.repo, event, commands_in(event, bot))]
    return [Job(_MODE_JOB[mode], "github", event.repo, event)]


@dataclass
class Outcome:
    jobs: list[tuple[JobKind, str]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    pull_requests: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    previews: list[Any] = field(default_factory=list)  # bot.core.flux.diff.PreviewDiff
    rollouts: list[dict[str, Any]] = field(default_factory=list)  # RolloutReport.to_json()

    @property
    def failed(self) -> bool:
        if any(r.get("state") in _ROLLOUT_FAILED for r in self.rollouts):
            return True
        return any(outcome == "error" for _kind, outcome in self.jobs)


def collect(outcome: Outcome, kind: JobKind, result: Any) -> None:
    """Fold one job's result (an ``UpdateReport``, a ``PreviewDiff``, a ``RolloutReport``) into
    the outcome."""
    if kind is JobKind.PREVIEW and result is not None and hasattr(result, "kustomizations"):
        outcome.previews.append(result)
        return
    if result is None or not hasattr(result, "to_json"):
        return
    data = result.to_json()
    if kind is JobKind.RECONCILE and isinstance(data, dict):
        outcome.rollouts.append(data)
        return
    if kind is JobKind.UPDATE and isinstance(data, dict):
        outcome.updates.extend(data.get("updates") or [])
        outcome.problems.extend(str(p) for p in data.get("problems") or [])
        for action in ("opened", "updated", "unchanged", "closed", "skipped"):
            for pr in data.get(action) or []:
                outcome.pull_requests.append(
                    {
                        "action": action,
                        "number": pr.get("number"),
                        "url": pr.get("url", ""),
                        "branch": pr.get("branch", ""),
                        "title": pr.get("title", ""),
                        "reason": pr.get("reason", ""),
                    }
                )


class ConfigAlias:
    """A forge whose trees show the ``config`` input's file as ``.fluxbot.yaml``."""

    def __init__(self, forge: Forge, path: str) -> None:
        self._forge = forge
        self._path = path.removeprefix("./")

    async def read_tree(self, ref: str, want: Callable[[str], bool] = is_yaml) -> dict[str, str]:
        path = self._path
        tree = await self._forge.read_tree(ref, lambda p: want(p) or p == path)
        if path in tree:
            tree[".fluxbot.yaml"] = tree[path] if want(path) else tree.pop(path)
        return tree

    def __getattr__(self, name: str) -> Any:
        return getattr(self._forge, name)


def settings_from(env: Mapping[str, str], given: Mapping[str, str]) -> Settings:
    base = Settings.from_env(env)
    app_id, key = given.get("app-id"), given.get("private-key")
    if bool(app_id) != bool(key):
        raise ConfigError("the app-id and private-key inputs go together")
    return replace(
        base,
        github_api_url=(env.get("GITHUB_API_URL") or base.github_api_url).rstrip("/"),
        github_token=given.get("token") or base.github_token,
        github_app_id=app_id or None,
        github_private_key=key or None,
        dry_run=truthy(given.get("dry-run")) or base.dry_run,
        bot_login=base.bot_login if app_id else "github-actions[bot]",
    )


@asynccontextmanager
async def _registry(settings: Settings) -> AsyncIterator[Any]:
    """The registry client every entry point builds (:mod:`bot.adapters.registry.factory`)."""
    from bot.adapters.registry.factory import client_from_settings

    async with client_from_settings(settings) as client:
        yield client


async def _app_login(settings: Settings) -> str:
    from bot.adapters.github.auth import app_login

    try:
        return await app_login(settings) or settings.bot_login
    except BotError as exc:  # the installation token will fail too, with its own message
        _log.warning("action.app_login_unknown", error=str(exc))
        return settings.bot_login


async def run(env: Mapping[str, str]) -> Outcome:
    """Run the action's jobs for this workflow run."""
    from bot.adapters.github.forge import open_forge

    given = inputs(env)
    mode = given.get("mode", "auto")
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    repo = env.get("GITHUB_REPOSITORY", "")
    if "/" not in repo:
        raise ConfigError("GITHUB_REPOSITORY is not set")
    settings = settings_from(env, given)
    if settings.github_app_id:  # the App's real login marks its own events (`<slug>[bot]`)
        settings = replace(settings, bot_login=await _app_login(settings))
    payload: dict[str, Any] = {}
    if env.get("GITHUB_EVENT_PATH") and Path(env["GITHUB_EVENT_PATH"]).is_file():
        payload = json.loads(Path(env["GITHUB_EVENT_PATH"]).read_text("utf-8"))
    event = event_of(env, payload, repo)
    outcome = Outcome()
    jobs = jobs_to_run(mode, event, settings.bot_login)
    if not jobs:
        outcome.notes.append(f"nothing to do for `{env.get('GITHUB_EVENT_NAME', '?')}` ({mode}).")
        return outcome
    installation = event.installation_id if settings.github_app_id else None
    async with (
        _registry(settings) as registry,
        open_forge(repo, settings, installation_id=installation) as github,
    ):
        config = given.get("config")
        forge: Any = ConfigAlias(github, config) if config and config != ".fluxbot.yaml" else github
        for job in jobs:
            ctx = Context(forge=forge, registry=registry, settings=settings)
            if job.kind is JobKind.PREVIEW:  # the whole diff goes to the job summary
                ctx.extra.update(full_diff=FULL_DIFF_IN_SUMMARY, preview_options=_uncapped())
            result_outcome, result = await run_job_result(job, ctx)
            outcome.jobs.append((job.kind, result_outcome))
            if result_outcome == "unavailable":
                outcome.notes.append(f"mode `{job.kind.value}` is not available in this version.")
            collect(outcome, job.kind, result)
    return outcome


def _uncapped() -> Any:
    """Preview options whose object diffs are not cut short (the job summary has room; a block
    too large for the PR comment is left out there, with a note pointing at the summary)."""
    from bot.core.flux.diff import DiffOptions
    from bot.jobs.preview import PreviewOptions

    return PreviewOptions(diff=DiffOptions(max_object_diff=SUMMARY_LIMIT))


def summary(outcome: Outcome, dry_run: bool) -> str:
    """The job summary: a markdown table of the updates and the PRs."""
    lines = ["## fluxbot" + (" (dry run)" if dry_run else ""), ""]
    for kind, result in outcome.jobs:
        lines.append(f"- `{kind.value}`: {result}")
    lines += [f"- {note}" for note in outcome.notes]
    if outcome.updates:
        lines += ["", "| File | Image | From | To |", "| --- | --- | --- | --- |"]
        for u in outcome.updates:
            where = f"{u.get('path')}:{u.get('line')}"
            lines.append(
                f"| `{where}` | `{u.get('image')}` | `{u.get('old')}` | `{u.get('new')}` |"
            )
    elif any(kind is JobKind.UPDATE for kind, _ in outcome.jobs):
        lines += ["", "Every image is up to date."]
    if outcome.pull_requests:
        lines += ["", "| Pull request | Branch | Action |", "| --- | --- | --- |"]
        for pr in outcome.pull_requests:
            ref = f"[#{pr['number']}]({pr['url']})" if pr["number"] else pr["title"]
            action = pr["action"] + (f" ({pr['reason']})" if pr["reason"] else "")
            lines.append(f"| {ref} | `{pr['branch']}` | {action} |")
    for rollout in outcome.rollouts:
        lines += ["", *rollout_lines(rollout)]
    if outcome.problems:
        lines += ["", "**Problems**", ""] + [f"- {p}" for p in outcome.problems]
    text = "\n".join(lines) + "\n"
    for preview in outcome.previews:
        text += "\n" + preview_markdown(preview, SUMMARY_LIMIT - len(text.encode()) - 1) + "\n"
    return text


def rollout_lines(rollout: Mapping[str, Any]) -> list[str]:
    """The rollout of one reconcile: its state and description, a row per Kustomization."""
    icon = {"success": "✅", "failure": "❌", "error": "⏱️"}.get(str(rollout.get("state")), "⏳")
    lines = [f"### Rollout {icon} `{rollout.get('state')}`: {_cell(rollout.get('description'))}"]
    if rollout.get("merge_sha"):
        pr = f" (#{rollout['pr']})" if rollout.get("pr") else ""
        lines += ["", f"Merge commit `{rollout['merge_sha']}`{pr}"]
    rows = rollout.get("kustomizations") or []
    if rows:
        lines += ["", "| Kustomization | Result | Message |", "| --- | --- | --- |"]
        for row in rows:
            lines.append(
                f"| `{row.get('kustomization')}` | {row.get('result')} "
                f"| {_cell(row.get('message'))} |"
            )
    return lines


def _cell(value: Any) -> str:
    return " ".join(str(value or "").split()).replace("|", "\\|")


def preview_markdown(preview: Any, max_bytes: int) -> str:
    """The whole Flux diff for the job summary, at most ``max_bytes`` UTF-8 bytes."""
    from bot.core.render.preview import FULL_DIFF_HINT, diff_markdown

    budget = max(max_bytes, 0)
    for _ in range(4):  # characters → bytes: shrink until the encoded text fits
        text = str(diff_markdown(preview, max_chars=budget, full_diff=FULL_DIFF_HINT))
        size = len(text.encode())
        if size <= max_bytes:
            return text
        budget = max(0, budget - (size - max_bytes) - 1024)
    return text.encode()[: max(max_bytes, 0)].decode(errors="ignore")


def write_outputs(path: str, values: Mapping[str, str]) -> None:
    """Append outputs in the runner's ``name<<DELIMITER`` form (safe for any value)."""
    with open(path, "a", encoding="utf-8") as fh:
        for name, value in values.items():
            delimiter = f"fluxbot_{uuid.uuid4().hex}"
            fh.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def main(env: Mapping[str, str] | None = None) -> int:
    """Run the action; returns the exit code (1 when a job failed)."""
    from bot.app.log import configure

    env = os.environ if env is None else env
    configure(debug=truthy(env.get("RUNNER_DEBUG")))
    try:
        outcome = asyncio.run(run(env))
    except BotError as exc:
        print(f"::error::fluxbot: {exc}", file=sys.stderr)
        return 1
    return report(outcome, env)


def report(outcome: Outcome, env: Mapping[str, str]) -> int:
    """Write the summary and outputs, annotate problems; the exit code (1: a job or the rollout
    failed, or the files could not be written)."""
    dry = truthy(inputs(env).get("dry-run"))
    text = summary(outcome, dry)
    try:
        if env.get("GITHUB_STEP_SUMMARY"):
            with open(env["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as fh:
                fh.write(text)
        else:
            print(text)
        if env.get("GITHUB_OUTPUT"):
            write_outputs(
                env["GITHUB_OUTPUT"],
                {
                    "updates": json.dumps(outcome.updates, sort_keys=True),
                    "pull-requests": json.dumps(outcome.pull_requests, sort_keys=True),
                    **(
                        {"rollout": json.dumps(outcome.rollouts[-1], sort_keys=True)}
                        if outcome.rollouts
                        else {}
                    ),
                },
            )
    except OSError as exc:  # e.g. a self-hosted runner whose files uid 1001 cannot write
        print(text)
        print(
            f"::error::fluxbot: cannot write the step summary or outputs ({exc.strerror}: "
            f"{exc.filename}); the container runs as uid 1001",
            file=sys.stderr,
        )
        return 1
    for problem in outcome.problems:
        print(f"::warning::{problem}", file=sys.stderr)
    for rollout in outcome.rollouts:
        if rollout.get("state") in _ROLLOUT_FAILED:
            state, description = rollout["state"], rollout.get("description")
            print(f"::error::fluxbot: rollout {state}: {description}", file=sys.stderr)
    return 1 if outcome.failed else 0


if __name__ == "__main__":
    sys.exit(main())
