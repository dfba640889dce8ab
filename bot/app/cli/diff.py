"""``fluxbot diff``: render what a change does to the cluster, offline, from a local git repository.

    fluxbot diff [PATH] --base main [--head HEAD] [--format markdown|text|json] [--exit-code]

Without ``--head`` the working tree (tracked and untracked, not ignored) is the head side. Only the
Kustomizations whose inputs changed are rendered. HelmRelease charts are templated when helm is on
PATH (``--no-helm`` to skip), but only charts kept in the repository unless ``--fetch-charts`` lets
helm download the others (network: trusted content only); charts on loopback/private hosts also
need ``--allow-chart-host``. ``--format markdown`` prints the comment fluxbot would post (capped
below GitHub's 65,536 characters); ``--output FILE`` also writes the full, uncapped markdown. The
``diff:`` section of the base side's ``.fluxbot.yaml`` configures noise stripping. With
``--exit-code`` the command exits 3 when the rendered objects differ or a render failed (1 stays
"error" and 2 "usage", as everywhere in fluxbot).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import click

from bot.adapters.build.helm import HelmSettings
from bot.adapters.build.render import RenderSettings
from bot.adapters.proc import (
    DEFAULT_TIMEOUT,
    changed_paths,
    git,
    git_tree,
    helm_available,
    worktree_files,
)
from bot.app.cli.app import main
from bot.core.errors import BotError, ConfigError
from bot.core.render.preview import diff_comment, diff_json, diff_markdown, diff_text
from bot.jobs.preview import PreviewOptions, configured, run_preview

DIFF_EXIT = 3


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
@click.option("--exit-code", is_flag=True, help=f"Exit {DIFF_EXIT} when objects differ.")
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
) -> None:
    """Show the Kubernetes objects a change creates, changes or deletes, per Flux Kustomization."""
    repo = path.resolve()
    if not repo.is_dir():
        raise ConfigError(f"{path}: not a directory")
    top = Path(git(repo, "rev-parse", "--show-toplevel").decode().strip())
    base_tree = git_tree(top, base)
    head_tree = git_tree(top, head) if head is not None else worktree_files(top)
    changed = changed_paths(top, base, head)
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
    result = run_preview(base_tree, head_tree, changed, options)
    if problems:
        result = replace(result, problems=(*problems, *result.problems))
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
    if exit_code and not result.empty:
        sys.exit(DIFF_EXIT)


def _origin_url(repo: Path) -> tuple[str, ...]:
    """The ``origin`` remote's URL, if any (a GitRepository with that URL is this repository)."""
    try:
        url = git(repo, "config", "--get", "remote.origin.url").decode().strip()
    except BotError:
        return ()
    return (url,) if url else ()
