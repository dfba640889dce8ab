"""A fake :class:`~bot.ports.TagSource`: tags and digests from dicts, every call counted."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from bot.core.errors import RegistryError


@dataclass
class FakeTags:
    """``tags_by_image`` maps an image name (as the job asks for it) to its tags."""

    tags_by_image: dict[str, list[str]] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)
    digest_calls: list[str] = field(default_factory=list)

    async def tags(self, image: str, exclusion: list[str] | None = None) -> list[str]:
        self.calls.append(image)
        if image in self.failing:
            raise RegistryError(f"{image}: registry said 500")
        if image not in self.tags_by_image:
            raise RegistryError(f"{image}: repository not found")
        return list(self.tags_by_image[image])

    async def digest(self, image: str) -> str:
        self.digest_calls.append(image)
        return "sha256:" + hashlib.sha256(image.encode()).hexdigest()

    async def source(self, image: str) -> str | None:
        return None
