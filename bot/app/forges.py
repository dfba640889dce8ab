"""Open the forge an entry point asked for: ``local``, ``github`` or ``gitlab``.

The remote adapters are imported lazily so the CLI's local mode never loads gidgethub or
python-gitlab.

    async with open_forge("local", "/path/to/clone", settings, output=None) as forge:
        print(await forge.default_branch())
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import IO, Any

from bot.app.settings import Settings
from bot.core.errors import ConfigError
from bot.ports import Forge

KINDS = ("local", "github", "gitlab")


@asynccontextmanager
async def open_forge(
    kind: str,
    repo: str,
    settings: Settings,
    *,
    installation_id: int | None = None,
    base: str | None = None,
    output: str | Path | None = None,
    stream: IO[str] | None = None,
) -> AsyncIterator[Forge]:
    """The forge adapter for ``kind`` on ``repo`` (a path for ``local``, ``owner/name`` else)."""
    if kind == "local":
        from bot.adapters.local.forge import LocalForge

        async with LocalForge.open(repo, base=base, output=output, stream=stream) as forge:
            yield forge
        return
    if kind not in KINDS:
        raise ConfigError(f"unknown forge {kind!r}: expected one of {', '.join(KINDS)}")
    try:
        module = importlib.import_module(f"bot.adapters.{kind}.forge")
    except ImportError as exc:
        raise ConfigError(f"the {kind} forge is not available: {exc}") from exc
    opener: Any = getattr(module, "open_forge", None)
    if opener is None:
        raise ConfigError(f"the {kind} forge adapter has no open_forge()")
    extra: dict[str, Any] = {}
    if kind == "gitlab" and base:
        extra["default_branch"] = base  # GitLab CI says it (CI_DEFAULT_BRANCH): no API call
    cm: AbstractAsyncContextManager[Forge] = opener(
        repo, settings, installation_id=installation_id, **extra
    )
    async with cm as forge:
        yield forge


__all__ = ["KINDS", "open_forge"]
