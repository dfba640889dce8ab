"""Comment-command parsing and the marker changes commands imply (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.commands import (
    HELP_TEXT,
    CommandKind,
    describe_ignores,
    help_text,
    ignores_for,
    parse,
    with_ignores,
    without_ignores,
)
from bot.core.markers import PRMarker, closed_ignores
from bot.core.model import Ignore, IgnoreScope, Update


def kinds(body: str, names: tuple[str, ...] = ("fluxbot",)) -> list[str]:
    return [c.kind.value for c in parse(body, names)]


@pytest.mark.parametrize("kind", list(CommandKind))
@pytest.mark.parametrize("prefix", ["/fluxbot ", "@fluxbot "])
def test_every_command_both_prefixes(kind: CommandKind, prefix: str) -> None:
    commands = parse(prefix + kind.value)
    assert [c.kind for c in commands] == [kind]
    assert commands[0].unknown == ""


def test_case_spacing_and_trailing_punctuation() -> None:
    assert kinds("/FluxBot   Ignore  this MAJOR version.") == ["ignore this major version"]
    assert kinds("  @fluxbot rebase!\r\n") == ["rebase"]
    assert kinds("/fluxbot\tunignore  ") == ["unignore"]


def test_only_at_start_of_line() -> None:
    assert kinds("please /fluxbot rebase") == []
    assert kinds("cc @fluxbot rebase") == []
    assert kinds("thanks\n/fluxbot rebase\nbye") == ["rebase"]


def test_quotes_and_code_are_ignored() -> None:
    body = "\n".join(
        [
            "> /fluxbot close",
            ">/fluxbot close",
            "```",
            "/fluxbot close",
            "```",
            "~~~~",
            "/fluxbot recreate",
            "```",  # a shorter/different fence does not close a ~~~~ block",
            "/fluxbot recreate",
            "~~~~",
            "    /fluxbot close",  # indented code block
            "/fluxbot diff",
        ]
    )
    assert kinds(body) == ["diff"]


def test_unclosed_fence_swallows_the_rest() -> None:
    assert kinds("```yaml\n/fluxbot close\n") == []


def test_other_names_are_not_us() -> None:
    assert kinds("/fluxbotx rebase") == []
    assert kinds("@fluxbot-dev rebase") == []
    assert kinds("@fluxbot[bot] rebase") == []
    assert kinds("@fluxbot[bot] rebase", ("fluxbot", "fluxbot[bot]")) == ["rebase"]
    assert kinds("/renovate rebase") == []


def test_unknown_and_bare_give_help() -> None:
    (cmd,) = parse("/fluxbot frobnicate the thing")
    assert cmd.kind is CommandKind.HELP and cmd.unknown == "frobnicate the thing"
    (bare,) = parse("@fluxbot")
    assert bare.kind is CommandKind.HELP and bare.unknown == ""
    assert kinds("/fluxbot ignore this") == ["help"]


def test_several_commands_in_order_deduplicated() -> None:
    assert kinds("/fluxbot diff\n/fluxbot rebase\n@fluxbot diff") == ["diff", "rebase"]


def test_help_text_lists_every_command() -> None:
    for kind in CommandKind:
        assert f"`/fluxbot {kind.value}`" in HELP_TEXT
    assert "write access" in HELP_TEXT
    assert "`/otherbot rebase`" in help_text("otherbot")


@given(st.text())
def test_parse_never_raises(body: str) -> None:
    for cmd in parse(body):
        assert isinstance(cmd.kind, CommandKind)


UPDATES = (
    Update(path="a.yaml", line=3, image="ghcr.io/o/app", old="1.2.3", new="2.0.1"),
    Update(path="b.yaml", line=5, image="ghcr.io/o/app", old="1.2.3", new="2.0.1"),
    Update(path="c.yaml", line=7, image="docker.io/o/side", old="0.1.0", new="0.2.0"),
)
MARKER = PRMarker(group="app", updates=UPDATES)


def test_ignores_for_each_scope() -> None:
    assert ignores_for(CommandKind.IGNORE_MAJOR, MARKER) == (
        Ignore("ghcr.io/o/app", IgnoreScope.MAJOR, "2.0.1"),
        Ignore("docker.io/o/side", IgnoreScope.MAJOR, "0.2.0"),
    )
    assert ignores_for(CommandKind.IGNORE_MINOR, MARKER)[0] == Ignore(
        "ghcr.io/o/app", IgnoreScope.MINOR, "2.0.1"
    )
    assert ignores_for(CommandKind.IGNORE_IMAGE, MARKER) == (
        Ignore("ghcr.io/o/app", IgnoreScope.IMAGE, ""),
        Ignore("docker.io/o/side", IgnoreScope.IMAGE, ""),
    )


def test_with_ignores_is_idempotent_and_round_trips() -> None:
    once = with_ignores(MARKER, CommandKind.IGNORE_MINOR)
    twice = with_ignores(once, CommandKind.IGNORE_MINOR)
    assert once == twice and len(once.ignores) == 2
    assert PRMarker.parse("body\n" + twice.render()) == twice


def test_unignore_lifts_recorded_and_implied_ignores() -> None:
    marked = with_ignores(MARKER, CommandKind.IGNORE_IMAGE)
    assert closed_ignores(marked)  # a closed PR implies ignores...
    lifted = without_ignores(marked, closed=True)
    assert closed_ignores(lifted) == ()  # ...which unignore lifts
    still_open = without_ignores(marked, closed=False)
    assert still_open.ignores == () and still_open.updates == UPDATES


def test_describe_ignores() -> None:
    lines = describe_ignores(
        [
            Ignore("i", IgnoreScope.IMAGE),
            Ignore("i", IgnoreScope.MAJOR, "2.0.0"),
            Ignore("i", IgnoreScope.MINOR, "2.1.0"),
            Ignore("i", IgnoreScope.VERSION, "2.1.1"),
        ]
    )
    assert lines == [
        "`i`: every version",
        "`i`: major version of `2.0.0`",
        "`i`: minor version of `2.1.0`",
        "`i`: `2.1.1` and older",
    ]
