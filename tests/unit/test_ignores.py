"""Ignore scopes: version-and-below, major, minor, image; canonical image names."""

from __future__ import annotations

import pytest

from bot.core.ignores import filter_tags, is_ignored
from bot.core.model import Ignore, IgnoreScope

IMG = "ghcr.io/o/app"


@pytest.mark.parametrize(
    ("scope", "version", "tag", "expected"),
    [
        (IgnoreScope.VERSION, "1.4.0", "1.4.0", True),
        (IgnoreScope.VERSION, "1.4.0", "1.3.9", True),
        (IgnoreScope.VERSION, "1.4.0", "1.4.1", False),
        (IgnoreScope.VERSION, "v1.4.0", "1.4.0", True),
        (IgnoreScope.VERSION, "1.4.0-alpine", "1.3.0-alpine", True),
        (IgnoreScope.VERSION, "1.4.0-alpine", "1.5.0-alpine", False),
        (IgnoreScope.VERSION, "1.4.0-alpine", "1.3.0", False),  # other shape: not covered
        (IgnoreScope.VERSION, "latest", "latest", True),
        (IgnoreScope.VERSION, "latest", "stable", False),
        (IgnoreScope.MAJOR, "2.0.0", "2.9.1", True),
        (IgnoreScope.MAJOR, "2.0.0", "3.0.0", False),
        (IgnoreScope.MAJOR, "2.0.0", "1.9.0", False),
        (IgnoreScope.MINOR, "2.3.0", "2.3.7", True),
        (IgnoreScope.MINOR, "2.3.0", "2.4.0", False),
        (IgnoreScope.IMAGE, "", "99.0.0", True),
    ],
)
def test_scopes(scope: IgnoreScope, version: str, tag: str, expected: bool) -> None:
    assert is_ignored(IMG, tag, [Ignore(IMG, scope, version)]) is expected


def test_other_image_not_affected_and_hub_names_are_canonical() -> None:
    ignores = [Ignore("ghcr.io/o/other", IgnoreScope.IMAGE)]
    assert not is_ignored(IMG, "1.0.0", ignores)
    hub = [Ignore("docker.io/library/nginx", IgnoreScope.MAJOR, "1.25.0")]
    assert is_ignored("nginx", "1.27.0", hub)
    assert is_ignored("index.docker.io/nginx", "1.27.0", hub)


def test_filter_tags_keeps_order() -> None:
    tags = ["1.0.0", "2.0.0", "1.5.0", "2.1.0", "3.0.0"]
    ignores = [Ignore(IMG, IgnoreScope.MAJOR, "2.0.0"), Ignore(IMG, IgnoreScope.VERSION, "1.0.0")]
    assert filter_tags(IMG, tags, ignores) == ["1.5.0", "3.0.0"]
    assert filter_tags("x/y", tags, ignores) == tags
