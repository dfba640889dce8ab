"""Comment commands: ``/fluxbot <command>`` or ``@fluxbot <command>`` at the start of a line.

Pure parsing and the pure consequences of a command on a PR's state marker. Lines inside fenced
code blocks (```` ``` ```` or ``~~~``), indented code blocks and quotes (``> ...``) are never
commands, so quoting someone else's command does not run it again. An unknown command parses as
:attr:`CommandKind.HELP` with ``unknown`` set, and is answered with :data:`HELP_TEXT`.

    >>> [c.kind.value for c in parse("LGTM\\n/fluxbot rebase\\n> /fluxbot close")]
    ['rebase']
    >>> parse("@fluxbot ignore this major version")[0].kind
    <CommandKind.IGNORE_MAJOR: 'ignore this major version'>
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from bot.core.markers import PRMarker
from bot.core.model import Ignore, IgnoreScope

DEFAULT_NAMES = ("fluxbot",)


def bot_names(bot_login: str) -> tuple[str, ...]:
    """Names a command may address: ``fluxbot`` and the bot's own login, with and without
    GitHub's ``[bot]`` suffix (``acme-bot[bot]`` answers ``/acme-bot``)."""
    login = bot_login.removesuffix("[bot]")
    return tuple(dict.fromkeys((*DEFAULT_NAMES, login, bot_login)))


class CommandKind(StrEnum):
    """Every command fluxbot understands; the value is its canonical spelling."""

    HELP = "help"
    REBASE = "rebase"
    RECREATE = "recreate"
    DIFF = "diff"
    IGNORE_MAJOR = "ignore this major version"
    IGNORE_MINOR = "ignore this minor version"
    IGNORE_IMAGE = "ignore this image"
    UNIGNORE = "unignore"
    RECONCILE = "reconcile"
    CLOSE = "close"


# Commands that only make sense on one of fluxbot's own PRs (head branch ``fluxbot/...``).
OWN_PR_ONLY = frozenset(
    {
        CommandKind.REBASE,
        CommandKind.RECREATE,
        CommandKind.IGNORE_MAJOR,
        CommandKind.IGNORE_MINOR,
        CommandKind.IGNORE_IMAGE,
        CommandKind.UNIGNORE,
        CommandKind.CLOSE,
    }
)

IGNORE_SCOPES = {
    CommandKind.IGNORE_MAJOR: IgnoreScope.MAJOR,
    CommandKind.IGNORE_MINOR: IgnoreScope.MINOR,
    CommandKind.IGNORE_IMAGE: IgnoreScope.IMAGE,
}

_DESCRIPTIONS = {
    CommandKind.HELP: "show this help",
    CommandKind.REBASE: "recompute this PR's branch on the current base branch",
    CommandKind.RECREATE: "discard manual edits and rebuild this PR's branch",
    CommandKind.DIFF: "render the Flux diff preview again",
    CommandKind.IGNORE_MAJOR: "close this PR and never propose this major version again",
    CommandKind.IGNORE_MINOR: "close this PR and never propose this minor version again",
    CommandKind.IGNORE_IMAGE: "close this PR and never propose updates of these images again",
    CommandKind.UNIGNORE: "forget the ignores this PR recorded",
    CommandKind.RECONCILE: "(on a merged PR) ask Flux to reconcile now and report the rollout",
    CommandKind.CLOSE: "close this PR",
}


def help_text(name: str = DEFAULT_NAMES[0]) -> str:
    """The markdown help answered to ``help`` and to unknown commands."""
    rows = "\n".join(f"| `/{name} {k.value}` | {_DESCRIPTIONS[k]} |" for k in CommandKind)
    return (
        f"**{name} commands** — write one at the start of a line in a comment "
        f"(`/{name} <command>` or `@{name} <command>`); only users with write access can run "
        "them.\n\n| command | effect |\n| --- | --- |\n" + rows + "\n"
    )


HELP_TEXT = help_text()


@dataclass(frozen=True)
class Command:
    """One command found in a comment; ``unknown`` holds an unrecognised command's text."""

    kind: CommandKind
    line: str
    unknown: str = ""


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SPACE = re.compile(r"\s+")
_BY_TEXT = {k.value: k for k in CommandKind}


def _prefix(names: Iterable[str]) -> re.Pattern[str]:
    alts = "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))
    # Up to three spaces of indent (four make an indented code block in markdown).
    return re.compile(rf"^ {{0,3}}[/@](?:{alts})(?![\w\[\]-])(?P<rest>.*)$", re.I)


def _normalise(rest: str) -> str:
    text = _SPACE.sub(" ", rest).strip().lower()
    return text.rstrip(".!").strip()


def parse(body: str, names: Iterable[str] = DEFAULT_NAMES) -> list[Command]:
    """Every command in a comment body, in order, each at most once."""
    pattern = _prefix(names)
    found: list[Command] = []
    seen: set[tuple[CommandKind, str]] = set()
    fence: str | None = None
    for raw in body.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        marker = _FENCE.match(raw)
        if fence is not None:
            if marker and marker.group(1)[0] == fence[0] and len(marker.group(1)) >= len(fence):
                fence = None
            continue
        if marker:
            fence = marker.group(1)
            continue
        match = pattern.match(raw)
        if not match:
            continue
        text = _normalise(match.group("rest"))
        kind = _BY_TEXT.get(text or CommandKind.HELP.value)
        command = (
            Command(CommandKind.HELP, raw.strip(), unknown=text)
            if kind is None
            else Command(kind, raw.strip())
        )
        key = (command.kind, command.unknown)
        if key not in seen:
            seen.add(key)
            found.append(command)
    return found


def ignores_for(kind: CommandKind, marker: PRMarker) -> tuple[Ignore, ...]:
    """The ignores an ``ignore this ...`` command records for the updates a PR proposes.

    MAJOR/MINOR carry the proposed (new) version, whose major or major.minor is ignored.
    """
    scope = IGNORE_SCOPES[kind]
    out: list[Ignore] = []
    for update in marker.updates:
        version = "" if scope is IgnoreScope.IMAGE else update.new
        out.append(Ignore(update.image, scope, version))
    return tuple(dict.fromkeys(out))


def with_ignores(marker: PRMarker, kind: CommandKind) -> PRMarker:
    """``marker`` recording the ignores of an ``ignore this ...`` command."""
    return marker.with_ignores(ignores_for(kind, marker))


def without_ignores(marker: PRMarker, closed: bool) -> PRMarker:
    """``marker`` after ``unignore``: no recorded ignores.

    A closed, unmerged PR also implies "ignore the versions it proposed"
    (:func:`bot.core.markers.closed_ignores`); to lift that too, its proposed updates are forgotten.
    """
    updates = () if closed else marker.updates
    return PRMarker(marker.group, updates, (), marker.version)


def describe_ignores(ignores: Iterable[Ignore]) -> list[str]:
    """Human-readable lines for recorded ignores."""
    lines: list[str] = []
    for ig in ignores:
        if ig.scope is IgnoreScope.IMAGE:
            lines.append(f"`{ig.image}`: every version")
        elif ig.scope is IgnoreScope.MAJOR:
            lines.append(f"`{ig.image}`: major version of `{ig.version}`")
        elif ig.scope is IgnoreScope.MINOR:
            lines.append(f"`{ig.image}`: minor version of `{ig.version}`")
        else:
            lines.append(f"`{ig.image}`: `{ig.version}` and older")
    return lines
