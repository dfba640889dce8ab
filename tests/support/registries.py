"""Tag sources for job tests that are not about the registry.

ctx = Context(..., registry=UnusedRegistry())   # any lookup fails the test
ctx = Context(..., registry=EmptyRegistry())    # lookups find nothing to update to
"""

from __future__ import annotations


class UnusedRegistry:
    """A tag source the code under test must not touch: every lookup fails the test."""

    async def tags(self, image: str, exclusion: list[str] | None = None) -> list[str]:
        raise AssertionError(f"no registry access expected (tags of {image})")

    async def digest(self, image: str) -> str:
        raise AssertionError(f"no registry access expected (digest of {image})")

    async def source(self, image: str) -> str | None:
        raise AssertionError(f"no registry access expected (source of {image})")


class EmptyRegistry:
    """A tag source with no tags: an update job finds nothing to do."""

    async def tags(self, image: str, exclusion: list[str] | None = None) -> list[str]:
        return []

    async def digest(self, image: str) -> str:
        return "sha256:" + "0" * 64

    async def source(self, image: str) -> str | None:
        return None
