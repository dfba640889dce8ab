"""``fluxbot diff``: render what a change does to the cluster, offline, from a local git repository.

    fluxbot diff [PATH] --base main [--head HEAD] [--format markdown|text|json] [--exit-code]

Without ``--head`` the working tree (tracked and untracked, not ignored) is the head side. Only the
Kustomizations whose inputs changed are rendered. HelmRelease charts are templated when helm is on
PATH (``--no-helm`` to skip), but only charts kept in the repository unless ``--fetch-charts`` lets
helm download the others (network: trusted content only); charts on loopback/private hosts also
need ``--allow-chart-host``. ``--format markdown`` prints the comment fluxbot would post (capped
below GitHub's 65,536 characters); ``--output FILE`` also writes the full, uncapped markdown. The
``diff:`` section of the base side's ``.fluxbot.yaml`` configures noise stripping. With
``--exit-code`` the command exits 3 when the rendered objects differ and 4 when a Kustomization
could not be rendered (4 wins over 3; 1 stays "error" and 2 "usage", as everywhere in fluxbot).
Log lines only with ``-v``; a progress line on stderr when rendering takes
more than a second.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import click
import structlog

from bot.adapters.build.helm import HelmSettings
from bot.adapters.build.render import RenderSettings
from bot.adapters.proc import (
    DEFAULT_TIMEOUT,
    changed_paths,
    git,
    helm_available,
    read_tree,
    worktree_files,
)
from bot.app.cli.app import main
from bot.core.errors import BotError, ConfigError
from bot.core.render.preview import diff_comment, diff_json, diff_markdown, diff_text
from bot.jobs.preview import PreviewOptions, configured, run_preview

DIFF_EXIT = 3
RENDER_FAILED_EXIT = 4
PROGRESS_AFTER = 1.0


@main.command("diff")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--base", "base", required=True, help="Git ref of the base side (e.g. main).")
@click.option("--head", "head", default=None, help="Git ref of the head side [working tree].")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "text", "json"]),
    default="text",
    show_default=True,
)
@click.option(
    "--exit-code",
    is_flag=True,
    help=f"Exit {DIFF_EXIT} when objects differ ({RENDER_FAILED_EXIT} when a render failed).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what is rendered (stderr).")
@click.option(
    "--timeout",
    type=float,
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds allowed per kustomize build.",
)
@click.option(
    "--all",
    "render_all",
    is_flag=True,
    help="Render every Kustomization, not only the affected ones.",
)
@click.option(
    "--repo-url",
    multiple=True,
    help="URL of this repository, to recognise its GitRepository objects [origin's URL].",
)
@click.option(
    "--helm/--no-helm",
    "helm",
    default=None,
    help="Template HelmRelease charts with helm [on when helm is on PATH].",
)
@click.option(
    "--fetch-charts",
    is_flag=True,
    help="Let helm download charts from their HelmRepository/OCIRepository host (network; "
    "only for trusted content). Off: only charts kept in the repository are templated.",
)
@click.option(
    "--output",
    "output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Also write the full markdown diff (no comment size cap) to this file.",
)
@click.option(
    "--allow-chart-host",
    multiple=True,
    help="Chart host allowed although loopback/private (repeatable).",
)
@click.option(
    "--plain-http-host",
    multiple=True,
    help="OCI chart registry spoken to over plain HTTP (repeatable).",
)
def diff_command(
    path: Path,
    base: str,
    head: str | None,
    fmt: str,
    exit_code: bool,
    timeout: float,
    render_all: bool,
    repo_url: tuple[str, ...],
    helm: bool | None,
    fetch_charts: bool,
    output: Path | None,
    allow_chart_host: tuple[str, ...],
    plain_http_host: tuple[str, ...],
    verbose: bool,
) -> None:
    """Show the Kubernetes objects a change creates, changes or deletes, per Flux Kustomization."""
    repo = path.resolve()
    if not repo.is_dir():
        raise ConfigError(f"{path}: not a directory")
    if not verbose and not click.get_current_context().find_root().params.get("debug"):
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    top = Path(git(repo, "rev-parse", "--show-toplevel").decode().strip())
    base_tree, base_skipped = read_tree(top, base)
    if head is not None:
        head_tree, head_skipped = read_tree(top, head)
    else:
        head_tree, head_skipped = worktree_files(top), {}
    changed = changed_paths(top, base, head)
    unread = _unread(base_skipped, head_skipped, set(changed))
    helm_settings = HelmSettings(
        enabled=helm_available() if helm is None else helm,
        fetch=fetch_charts,
        allow_hosts=allow_chart_host,
        plain_http_hosts=plain_http_host,
        timeout=timeout,
    )
    urls = repo_url or _origin_url(top)
    options, problems = configured(
        base_tree,
        PreviewOptions(
            render=RenderSettings(timeout=timeout, helm=helm_settings),
            render_all=render_all,
            repo_urls=urls,
        ),
    )
    with _progress():
        result = run_preview(base_tree, head_tree, changed, options)
    if problems or unread:
        result = replace(result, problems=(*problems, *unread, *result.problems))
    if output is not None:
        try:
            output.write_text(diff_markdown(result, max_chars=sys.maxsize), encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{output}: cannot write: {exc.strerror}") from None
    if fmt == "json":
        sys.stdout.write(diff_json(result))
    elif fmt == "markdown":
        sys.stdout.write(diff_comment(result))
    else:
        sys.stdout.write(diff_text(result))
    if exit_code and result.failed:
        sys.exit(RENDER_FAILED_EXIT)
    if exit_code and not result.empty:
        sys.exit(DIFF_EXIT)


def _unread(base: dict[str, str], head: dict[str, str], changed: set[str]) -> tuple[str, ...]:
    """Files that could not be read: every missing blob, binary files only when changed."""
    found = {
        f"{path} ({side}): {why}"
        for side, skipped in (("base", base), ("head", head))
        for path, why in skipped.items()
        if "missing" in why or path in changed
    }
    return tuple(sorted(found))


@contextlib.contextmanager
def _progress() -> Iterator[None]:
    """One line on stderr when rendering takes longer than :data:`PROGRESS_AFTER` seconds."""
    started = time.monotonic()
    shown = threading.Event()

    def show() -> None:
        shown.set()
        click.echo("fluxbot diff: rendering the affected Kustomizations…", err=True)

    timer = threading.Timer(PROGRESS_AFTER, show)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        if shown.is_set():
            click.echo(f"fluxbot diff: rendered in {time.monotonic() - started:.1f}s", err=True)


def _origin_url(repo: Path) -> tuple[str, ...]:
    """The ``origin`` remote's URL, if any (a GitRepository with that URL is this repository)."""
    try:
        url = git(repo, "config", "--get", "remote.origin.url").decode().strip()
    except BotError:
        return ()
    return (url,) if url else ()
