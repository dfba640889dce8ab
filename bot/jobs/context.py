"""The explicit context every job receives: which forge, which registry client, which settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.app.settings import Settings
from bot.ports import Forge, TagSource

__all__ = ["Context", "TagSource"]


@dataclass
class Context:
    """Dependencies of one job run. ``clock`` returns epoch seconds (injected for tests)."""

    forge: Forge
    registry: TagSource
    settings: Settings = field(default_factory=Settings)
    clock: Callable[[], float] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
