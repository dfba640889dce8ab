"""``fluxbot policy test`` and ``fluxbot validate``; registers on :data:`bot.app.cli.app.main`.

    fluxbot policy test --semver '^1.2' --tags 1.2.0 1.3.1 2.0.0          # prints 1.3.1
    fluxbot policy test --policy imagepolicy.yaml --tags-file tags.txt --explain
    fluxbot policy test --numerical asc --pattern '^main-[a-f0-9]+-(?P<ts>\\d+)' --extract '$ts' \\
        --image ghcr.io/org/app --json
    fluxbot validate .fluxbot.yaml
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import click
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from bot.app.cli.app import echo_json, main
from bot.app.cli.registry import client_from_options, list_tags, mirrored, registry_options
from bot.core.config import check_config
from bot.core.errors import ConfigError, PolicyError
from bot.core.policy import Policy
from bot.core.policy.presets import preset_spec, presets

__all__ = [
    "policy_group",
    "policy_test",
    "presets_command",
    "repository_from_yaml",
    "spec_from_imagepolicy",
    "validate",
]

_ORDER = click.Choice(["asc", "desc"], case_sensitive=False)


def spec_from_imagepolicy(text: str, source: str) -> dict[str, Any]:
    """The ``spec`` of the first ImagePolicy in a YAML stream (or a bare spec mapping)."""
    try:
        docs = list(YAML(typ="safe", pure=True).load_all(text))
    except YAMLError as exc:
        raise PolicyError(f"{source}: not valid YAML: {' '.join(str(exc).split())}") from None
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        if doc.get("kind") == "ImagePolicy" and isinstance(doc.get("spec"), dict):
            spec: dict[str, Any] = doc["spec"]
            return spec
        if "policy" in doc and "kind" not in doc:
            return doc
    raise PolicyError(f"{source}: no ImagePolicy (kind: ImagePolicy with a spec) found")


def repository_from_yaml(text: str) -> tuple[str, list[str] | None] | None:
    """``(spec.image, spec.exclusionList)`` of the first ImageRepository in a YAML stream."""
    try:
        docs = list(YAML(typ="safe", pure=True).load_all(text))
    except YAMLError:
        return None
    for doc in docs:
        if isinstance(doc, dict) and doc.get("kind") == "ImageRepository":
            spec = doc.get("spec") or {}
            image = spec.get("image")
            if isinstance(image, str) and image:
                exclusion = spec.get("exclusionList")
                return image, [str(p) for p in exclusion] if isinstance(exclusion, list) else None
    return None


def _spec_from_flags(
    semver: str | None,
    alphabetical: str | None,
    numerical: str | None,
    policy_file: Path | None,
    pattern: str | None,
    extract: str | None,
) -> dict[str, Any]:
    chosen = [
        n
        for n, v in (
            ("--semver", semver),
            ("--alphabetical", alphabetical),
            ("--numerical", numerical),
            ("--policy", policy_file),
        )
        if v
    ]
    if len(chosen) != 1:
        raise click.UsageError(
            "give exactly one of --semver, --alphabetical, --numerical, --policy, --preset"
            + (f" (got {', '.join(chosen)})" if chosen else "")
        )
    if policy_file is not None:
        if pattern is not None or extract is not None:
            raise click.UsageError("--pattern/--extract cannot be combined with --policy")
        try:
            text = policy_file.read_text("utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read {policy_file}: {exc.strerror}") from None
        return spec_from_imagepolicy(text, str(policy_file))
    if extract is not None and pattern is None:
        raise click.UsageError("--extract needs --pattern")
    spec: dict[str, Any] = {}
    if semver is not None:
        spec["policy"] = {"semver": {"range": semver}}
    elif alphabetical is not None:
        spec["policy"] = {"alphabetical": {"order": alphabetical.lower()}}
    else:
        spec["policy"] = {"numerical": {"order": (numerical or "asc").lower()}}
    if pattern is not None:
        spec["filterTags"] = {"pattern": pattern, **({"extract": extract} if extract else {})}
    return spec


def _read_tags(tags_file: str) -> list[str]:
    try:
        text = sys.stdin.read() if tags_file == "-" else Path(tags_file).read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read tags from {tags_file}: {exc.strerror}") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


@main.group("policy")
def policy_group() -> None:
    """Image policies: test a Flux ImagePolicy against tags."""


@policy_group.command("test")
@click.option("--semver", metavar="RANGE", help="Masterminds semver range, e.g. '>=1.0.0 <2'.")
@click.option("--alphabetical", type=_ORDER, help="Alphabetical policy: asc picks the last tag.")
@click.option("--numerical", type=_ORDER, help="Numerical policy: asc picks the largest number.")
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML file with an ImagePolicy (its spec is used); without tags, the tags of the "
    "file's ImageRepository (spec.image, spec.exclusionList) are fetched.",
)
@click.option("--preset", metavar="NAME", help="A built-in preset (see 'fluxbot policy presets').")
@click.option(
    "--current", metavar="TAG", help="Current tag, for relative presets (patch-only, ...)."
)
@click.option("--pattern", help="filterTags.pattern (Go/RE2 regex, unanchored).")
@click.option("--extract", help="filterTags.extract ($name, ${name}, $1).")
@click.option(
    "--tags",
    "tag_opts",
    multiple=True,
    metavar="TAG...",
    help="Tags to choose from: --tags a b c (also repeatable).",
)
@click.option("--tags-file", metavar="FILE", help="File with one tag per line ('-' for stdin).")
@click.option("--image", help="Fetch the tags of this image's repository from its registry.")
@click.option(
    "--exclude",
    "exclusion",
    multiple=True,
    metavar="REGEX",
    help="exclusionList regex for --image (repeatable; replaces the default ^.*\\.sig$).",
)
@click.option("--explain", is_flag=True, help="Show why each tag was kept or dropped.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@registry_options
@click.argument("extra_tags", nargs=-1, metavar="[TAG]...")
def policy_test(
    semver: str | None,
    alphabetical: str | None,
    numerical: str | None,
    policy_file: Path | None,
    preset: str | None,
    current: str | None,
    pattern: str | None,
    extract: str | None,
    tag_opts: tuple[str, ...],
    tags_file: str | None,
    image: str | None,
    exclusion: tuple[str, ...],
    explain: bool,
    as_json: bool,
    insecure: tuple[str, ...],
    docker_config: Path | None,
    secrets: tuple[Path, ...],
    mirrors: tuple[str, ...],
    tag_cache: Path | None,
    extra_tags: tuple[str, ...],
) -> None:
    """Print the tag a Flux ImagePolicy selects (exit 1 when none qualifies)."""
    if preset is not None:
        if semver or alphabetical or numerical or policy_file or pattern or extract:
            raise click.UsageError("--preset cannot be combined with other policy flags")
        spec = preset_spec(preset, current)
    else:
        spec = _spec_from_flags(semver, alphabetical, numerical, policy_file, pattern, extract)
    policy = Policy.from_spec(spec)
    tags = [*tag_opts, *extra_tags]
    if tags_file is not None:
        tags += _read_tags(tags_file)
    patterns = list(exclusion) or None
    if policy_file is not None and not (tags or tags_file):
        # no tags given: scan the ImageRepository that sits next to the ImagePolicy
        repository = repository_from_yaml(policy_file.read_text("utf-8"))
        if repository is not None and image is None:
            image = repository[0]
            patterns = patterns if patterns is not None else repository[1]
    if image is not None:
        source = mirrored(image, mirrors)

        async def fetch() -> list[str]:
            async with client_from_options(insecure, docker_config, secrets, tag_cache) as client:
                return await list_tags(client, source, patterns)

        tags += asyncio.run(fetch())
    if not (tag_opts or extra_tags or tags_file or image):
        raise click.UsageError("give tags with --tags, --tags-file or --image")
    if not explain:
        selected = policy.select(tags)
        if as_json:
            echo_json({"selected": selected, "policy": policy.describe(), "tags": len(tags)})
        else:
            click.echo(selected)
        return
    result = policy.explain(tags)
    if as_json:
        echo_json(
            {
                "selected": result.selected,
                "error": result.error,
                "policy": policy.describe(),
                "tags": len(tags),
                "decisions": [
                    {"tag": d.tag, "kept": d.kept, "reason": d.reason, "value": d.value}
                    for d in result.decisions
                ],
            }
        )
    else:
        width = max((len(d.tag) for d in result.decisions), default=0)
        for d in result.decisions:
            mark = "*" if d.reason == "selected" else ("+" if d.kept else "-")
            value = f" [{d.value}]" if d.value is not None else ""
            click.echo(f"{mark} {d.tag:<{width}}  {d.reason}{value}")
        if result.selected is not None:
            click.echo(f"selected: {result.selected}")
    if result.error is not None:
        raise PolicyError(result.error)


@policy_group.command("presets")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def presets_command(as_json: bool) -> None:
    """List the built-in presets a .fluxbot.yaml rule can name."""
    table = presets()
    if as_json:
        echo_json(
            {
                name: {"description": p.description, "relative": p.relative, "spec": p.spec}
                for name, p in table.items()
            }
        )
        return
    width = max(len(name) for name in table)
    for name, p in table.items():
        note = " (needs the current tag)" if p.relative else ""
        click.echo(f"{name:<{width}}  {p.description}{note}")


@main.command("validate")
@click.argument("file", default=".fluxbot.yaml", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON.")
def validate(file: Path, as_json: bool) -> None:
    """Check a .fluxbot.yaml against the schema; every problem as file: path: problem."""
    try:
        text = file.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {file}: {exc.strerror}") from None
    problems = check_config(text, str(file))
    if as_json:
        echo_json({"file": str(file), "valid": not problems, "problems": problems})
    else:
        for problem in problems:
            click.echo(problem, err=True)
        if not problems:
            click.echo(f"{file}: valid")
    if problems:
        raise click.exceptions.Exit(1)
