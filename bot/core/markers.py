"""The hidden state marker in fluxbot's PR bodies: ``<!-- fluxbot: {json} -->`` (DESIGN.md §4).

The forge is the database: what a PR updates, from → to, and the ignores it records live in this
marker, found again by regex. Parsing never raises on someone else's text: no marker → ``None``.

    >>> m = PRMarker(group="app", updates=())
    >>> PRMarker.parse("text " + m.render()) == m
    True
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bot.core.model import Ignore, IgnoreScope, Update

_MARKER = re.compile(r"<!--\s*fluxbot:\s*(\{.*?\})\s*-->", re.S)
DIFF_MARKER = "<!-- fluxbot:diff -->"
ROLLOUT_MARKER = "<!-- fluxbot:rollout -->"


@dataclass(frozen=True)
class PRMarker:
    """State carried by one fluxbot PR."""

    group: str
    updates: tuple[Update, ...]
    ignores: tuple[Ignore, ...] = ()
    version: int = 1

    def render(self) -> str:
        data: dict[str, Any] = {
            "v": self.version,
            "group": self.group,
            "updates": [u.to_json() for u in self.updates],
            "ignores": [i.to_json() for i in self.ignores],
        }
        # "--" inside an HTML comment would end it early on some renderers.
        text = json.dumps(data, sort_keys=True, separators=(",", ":")).replace("--", "-\\u002d")
        return f"<!-- fluxbot: {text} -->"

    @classmethod
    def parse(cls, body: str | None) -> PRMarker | None:
        if not body:
            return None
        match = _MARKER.search(body)
        if not match:
            return None
        try:
            data = json.loads(match.group(1))
            return cls(
                group=str(data["group"]),
                updates=tuple(Update.from_json(u) for u in data.get("updates", [])),
                ignores=tuple(Ignore.from_json(i) for i in data.get("ignores", [])),
                version=int(data.get("v", 1)),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def with_ignores(self, extra: tuple[Ignore, ...]) -> PRMarker:
        merged = tuple(dict.fromkeys((*self.ignores, *extra)))
        return PRMarker(self.group, self.updates, merged, self.version)


def replace_marker(body: str, marker: PRMarker) -> str:
    """``body`` with its marker replaced (or appended when it has none)."""
    if _MARKER.search(body):
        return _MARKER.sub(lambda _m: marker.render(), body, count=1)
    return body.rstrip("\n") + "\n\n" + marker.render() + "\n"


def closed_ignores(marker: PRMarker) -> tuple[Ignore, ...]:
    """What a PR closed without merge means: ignore each proposed version and those below it."""
    implied = tuple(Ignore(u.image, IgnoreScope.VERSION, u.new) for u in marker.updates)
    return tuple(dict.fromkeys((*marker.ignores, *implied)))
