"""The explicit context every job receives: which forge, which registry client, which settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.app.settings import Settings
from bot.ports import Forge


class TagSource(Protocol):
    """What the jobs need from a registry client (``bot.adapters.registry.RegistryClient`` is
    one)."""

    async def tags(self, image: str, exclusion: list[str] | None = None) -> list[str]: ...

    async def digest(self, image: str) -> str: ...


@dataclass
class Context:
    """Dependencies of one job run. ``clock`` returns epoch seconds (injected for tests)."""

    forge: Forge
    registry: TagSource
    settings: Settings = field(default_factory=Settings)
    clock: Callable[[], float] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
