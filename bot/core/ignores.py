"""Whether a candidate tag is ignored by recorded :class:`~bot.core.model.Ignore` decisions (pure).

Scopes (:class:`~bot.core.model.IgnoreScope`): ``version`` ignores that version and every lower one
(a PR closed unmerged), ``major``/``minor`` every version sharing the recorded major
(major.minor), ``image`` the whole image. Versions are parsed as the policy engine does
(Masterminds, lenient: ``v1.2``, ``1.2.3-alpine``); tags that do not parse only match exactly.
Images compare by their canonical name, so ``nginx`` and ``docker.io/library/nginx`` are one.

    >>> from bot.core.model import Ignore, IgnoreScope
    >>> is_ignored("nginx", "1.25.3", [Ignore("docker.io/library/nginx", IgnoreScope.MAJOR, "1.0")])
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.core.model import Ignore, IgnoreScope
from bot.core.policy.semver import Version, parse_version
from bot.core.reference import InvalidReference
from bot.core.reference import parse as parse_reference


def canonical_image(image: str) -> str:
    """``nginx`` → ``docker.io/library/nginx``; anything unparsable is returned as written."""
    try:
        return parse_reference(image).canonical
    except InvalidReference:
        return image


def _version(tag: str) -> Version | None:
    return parse_version(tag.strip())


def _same_shape(a: Version, b: Version) -> bool:
    """Prerelease-as-suffix tags (``-alpine``) compare only with the same suffix family."""
    return a.prerelease.split(".")[0].rstrip("0123456789") == (
        b.prerelease.split(".")[0].rstrip("0123456789")
    )


def matches(ignore: Ignore, tag: str) -> bool:
    """Whether ``ignore`` covers ``tag`` (the image is checked by :func:`is_ignored`)."""
    if ignore.scope is IgnoreScope.IMAGE:
        return True
    if tag == ignore.version:
        return True
    got, rec = _version(tag), _version(ignore.version)
    if got is None or rec is None:
        return False
    if ignore.scope is IgnoreScope.MAJOR:
        return got.major == rec.major
    if ignore.scope is IgnoreScope.MINOR:
        return (got.major, got.minor) == (rec.major, rec.minor)
    return _same_shape(got, rec) and got.key <= rec.key


def is_ignored(image: str, tag: str, ignores: Iterable[Ignore]) -> bool:
    """Whether any of ``ignores`` for ``image`` covers ``tag``."""
    name = canonical_image(image)
    return any(canonical_image(i.image) == name and matches(i, tag) for i in ignores)


def filter_tags(image: str, tags: Sequence[str], ignores: Sequence[Ignore]) -> list[str]:
    """``tags`` without the ignored ones (order kept)."""
    relevant = [i for i in ignores if canonical_image(i.image) == canonical_image(image)]
    if not relevant:
        return list(tags)
    return [t for t in tags if not any(matches(i, t) for i in relevant)]


__all__ = ["canonical_image", "filter_tags", "is_ignored", "matches"]
