"""``fluxbot plan`` and ``fluxbot run``: plan a Flux repository's image updates, then apply them.

    fluxbot plan path/to/repo [--json]
    fluxbot run --forge local path/to/repo [--output DIR] [--dry-run]
    fluxbot run --forge github owner/name      # GITHUB_REPOSITORY when omitted
    fluxbot run --forge gitlab                 # CI_PROJECT_PATH, CI_SERVER_URL, CI_DEFAULT_BRANCH

Registry access: ``--insecure-registry HOST`` (plain HTTP / loopback allowed, repeatable, also
``FLUXBOT_INSECURE_REGISTRIES``) and ``--mirror HOST=MIRROR`` (tags of HOST's images are listed on
MIRROR, also ``FLUXBOT_REGISTRY_MIRRORS``). Credentials, rates and the tag cache come from the
environment as for every entry point (:mod:`bot.adapters.registry.factory`).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import click

from bot.app.cli.app import echo_json, main, verbose_option
from bot.app.forges import KINDS, open_forge
from bot.app.settings import Settings, parse_mirrors
from bot.core.errors import ConfigError, RegistryError
from bot.core.lookups import LookupFailure, summary
from bot.jobs.context import Context
from bot.jobs.plan import CONFIG_FILES, Plan, load_tree_config
from bot.jobs.update import UpdateReport, plan, run_update
from bot.ports import Forge, is_yaml

SKIP_DIRS = {".git", "node_modules", ".venv", "__pycache__"}


def read_dir_tree(root: Path) -> dict[str, str]:
    """Every YAML file under ``root`` (and the fluxbot config), as ``{relative path: text}``."""
    if not root.is_dir():
        raise ConfigError(f"not a directory: {root}")
    tree: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            if not (is_yaml(rel) or rel in CONFIG_FILES) or full.is_symlink():
                continue
            try:
                with open(full, encoding="utf-8", newline="") as fh:
                    tree[rel] = fh.read()
            except (UnicodeDecodeError, OSError):
                continue  # unreadable or not text: nothing to plan in it
    return tree


def _settings(insecure: tuple[str, ...], mirrors: tuple[str, ...], dry_run: bool) -> Settings:
    base = Settings.from_env()
    return replace(
        base,
        insecure_registries=tuple(dict.fromkeys((*base.insecure_registries, *insecure))),
        registry_mirrors=(*base.registry_mirrors, *parse_mirrors(mirrors)),
        dry_run=dry_run or base.dry_run,
    )


def _config_insecure(tree: dict[str, str]) -> tuple[str, ...]:
    """``registries.insecure`` of the repository's ``.fluxbot.yaml`` (ConfigError if invalid)."""
    return load_tree_config(tree).insecure_registries


@asynccontextmanager
async def _registry(settings: Settings, extra: tuple[str, ...] = ()) -> AsyncIterator[Any]:
    from bot.adapters.registry.factory import client_from_settings

    # a mirror is not implied insecure (that would mean plain HTTP): say --insecure-registry
    async with client_from_settings(settings, extra_insecure=extra) as client:
        yield client


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on a TTY (stderr), else nothing."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("fetching tags"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("tags", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


_registry_opts = [
    click.option(
        "--insecure-registry",
        "insecure",
        multiple=True,
        metavar="HOST[:PORT]",
        help="Allow plain HTTP / private addresses for this registry (repeatable).",
    ),
    click.option(
        "--mirror",
        "mirrors",
        multiple=True,
        metavar="HOST=MIRROR",
        help="List tags of HOST's images on MIRROR instead (repeatable).",
    ),
]


def _with_registry_opts(fn: Callable[..., Any]) -> Callable[..., Any]:
    for opt in reversed(_registry_opts):
        fn = opt(fn)
    return verbose_option(fn)  # type: ignore[no-any-return]


def failure_lines(failures: Sequence[LookupFailure], lookups: int) -> list[str]:
    """The failed lookups, per image with the files referencing it (empty when none)."""
    if not failures:
        return []
    lines = ["", f"{len(failures)} of {lookups} lookups failed:"]
    for failure in failures:
        lines += failure.lines()
    return lines


def format_plan(result: Plan) -> str:
    """The plan as text: groups, each update with file:line, old → new and why."""
    n = len(result.updates)
    lines = [
        f"{result.refs_seen} image references, {result.images_fetched} repositories looked up: "
        f"{n} update{'s' if n != 1 else ''} in {len(result.groups)} "
        f"group{'s' if len(result.groups) != 1 else ''}"
    ]
    for group in result.groups:
        files = len({u.path for u in group.updates})
        lines += ["", f"{group.branch}  ({len(group.updates)} in {files} files)"]
        for u in group.updates:
            old = u.old + (f"@{u.old_digest[:19]}" if u.old_digest else "")
            new = u.new + (f"@{u.new_digest[:19]}" if u.new_digest else "")
            lines.append(f"  {u.path}:{u.line}  {u.image}  {old} → {new}")
            lines.append(f"      policy: {u.policy}")
            if u.reason:
                lines.append(f"      why: {u.reason}")
    if result.unresolved:
        lines += [
            "",
            f"{len(result.unresolved)} references cannot be updated (untagged/templated);"
            " see --json",
        ]
    lines += failure_lines(result.failures, result.images_fetched)
    shown = {f"{f.fetch}: {f.error}" for f in result.failures}
    problems = [p for p in result.messages if p not in shown]
    if problems:
        lines += ["", f"{len(problems)} problems:"]
        lines += [f"  - {p}" for p in problems]
    return "\n".join(lines)


@main.command("plan")
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@_with_registry_opts
def plan_command(
    path: Path, as_json: bool, insecure: tuple[str, ...], mirrors: tuple[str, ...]
) -> None:
    """Show the image updates fluxbot would propose for the Flux repository at PATH."""
    settings = _settings(insecure, mirrors, dry_run=True)
    tree = read_dir_tree(path)
    config = load_tree_config(tree)  # once: its registries.insecure, then the plan itself

    async def go() -> Plan:
        async with _registry(settings, config.insecure_registries) as client:
            forge = cast(Forge, _NoForge(str(path)))
            ctx = Context(forge=forge, registry=client, settings=settings)
            with _progress(not as_json) as progress:
                return await plan(tree, ctx, progress=progress, config=config, edits=False)

    result = asyncio.run(go())
    if result.all_lookups_failed:  # an outage is an error, not an empty plan
        raise RegistryError(summary(result.failures, result.images_fetched))
    if as_json:
        echo_json(result.to_json())
    else:
        click.echo(format_plan(result))


class _NoForge:
    """Placeholder forge for ``plan`` (which never touches one)."""

    kind = "none"

    def __init__(self, repo: str) -> None:
        self.repo = repo


def format_report(report: UpdateReport) -> str:
    lines = [
        f"base {report.base} @ {report.base_sha[:12]}" + (" (dry run)" if report.dry_run else "")
    ]
    for label, items in (
        ("opened", report.opened),
        ("updated", report.updated),
        ("unchanged", report.unchanged),
        ("closed", report.closed),
        ("skipped", report.skipped),
    ):
        for a in items:
            num = f"#{a.number} " if a.number is not None else ""
            why = f"  ({a.reason})" if a.reason else ""
            lines.append(f"{label:9} {num}{a.branch}: {a.title}{why}")
    lines += failure_lines(report.failures, report.lookups)
    shown = {f"{f.fetch}: {f.error}" for f in report.failures}
    problems = [p for p in report.problems if p not in shown]
    if problems:
        lines += [f"{len(problems)} problems:"] + [f"  - {p}" for p in problems]
    return "\n".join(lines)


def _remote_target(kind: str, repo: str | None) -> tuple[str, str | None, str | None]:
    """(repo, base branch, GitLab URL) for a remote forge, from flags and CI variables."""
    env = os.environ
    if kind == "github":
        name = repo or env.get("GITHUB_REPOSITORY")
        if not name:
            raise ConfigError("--forge github needs OWNER/NAME (or GITHUB_REPOSITORY)")
        return name, None, None
    name = repo or env.get("CI_PROJECT_PATH")
    if not name:
        raise ConfigError("--forge gitlab needs GROUP/PROJECT (or CI_PROJECT_PATH)")
    url = env["CI_SERVER_URL"].rstrip("/") if env.get("CI_SERVER_URL") else None
    return name, env.get("CI_DEFAULT_BRANCH") or None, url


class _BaseOverride:
    """A forge whose default branch is given (GitLab CI tells it), everything else delegated."""

    def __init__(self, forge: Forge, base: str) -> None:
        self._forge = forge
        self._base = base

    async def default_branch(self) -> str:
        return self._base

    def __getattr__(self, name: str) -> Any:
        return getattr(self._forge, name)


@main.command("run")
@click.argument("target", required=False)
@click.option("--forge", "kind", type=click.Choice(KINDS), default="local", show_default=True)
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write each PR's title and body to DIR/<branch>.md (local forge).",
)
@click.option("--base", help="Base branch (default: the checkout's / repository's default).")
@click.option("--dry-run", is_flag=True, help="Plan and report, write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@_with_registry_opts
def run_command(
    target: str | None,
    kind: str,
    output: Path | None,
    base: str | None,
    dry_run: bool,
    as_json: bool,
    insecure: tuple[str, ...],
    mirrors: tuple[str, ...],
) -> None:
    """Create or update one branch and PR per update group (local: PATH, default ".")."""
    settings = _settings(insecure, mirrors, dry_run)
    repo = target or "."
    if kind != "local":
        repo, ci_base, gitlab_url = _remote_target(kind, target)
        base = base or ci_base
        if gitlab_url:
            settings = replace(settings, gitlab_url=gitlab_url)

    extra: tuple[str, ...] = ()
    if kind == "local" and Path(repo).is_dir():
        root = Path(repo)
        found = {n: (root / n).read_text("utf-8") for n in CONFIG_FILES if (root / n).is_file()}
        extra = _config_insecure(found)

    async def go() -> UpdateReport:
        stream = sys.stderr if as_json else sys.stdout
        async with (
            open_forge(kind, repo, settings, base=base, output=output, stream=stream) as forge,
            _registry(settings, extra) as client,
        ):
            # GitLab takes the base from the factory; GitHub's API knows it unless --base says
            used: Any = _BaseOverride(forge, base) if base and kind == "github" else forge
            ctx = Context(forge=used, registry=client, settings=settings)
            return await run_update(ctx)

    report = asyncio.run(go())
    if as_json:
        echo_json(report.to_json())
    else:
        click.echo(format_report(report))
    if report.all_lookups_failed:
        raise RegistryError(summary(report.failures, report.lookups))
