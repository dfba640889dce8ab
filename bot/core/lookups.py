"""Failed lookups, as a run reports them: per image (with the files that reference it), and one
summary line when nothing could be looked up at all.

The planner records a :class:`LookupFailure` for every repository whose tags (or a digest) it
could not read; ``plan``/``run`` list them, and exit 1 with :func:`summary` when every lookup
failed (a registry down or credentials wrong is an error, not an empty plan)::

    >>> f = LookupFailure.of("ghcr.io/x/y", "ghcr.io/x/y", "RegistryError",
    ...                      "ghcr.io: listing tags failed after 4 tries (ConnectError)")
    >>> f.cause.value, summary([f], 1)
    ('unreachable', '1 of 1 lookups failed: ghcr.io unreachable')
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.core.reference import DOCKER_HUB, InvalidReference
from bot.core.reference import parse as parse_reference

__all__ = ["Cause", "LookupFailure", "summary"]

_NETWORK = re.compile(
    r"\((Connect\w*|\w*Timeout|ReadError|WriteError|NetworkError|RemoteProtocolError)\)"
    r"|Name or service not known|nodename nor servname|Connection refused"
)


class Cause(StrEnum):
    """Why a lookup failed, in the words of the summary line."""

    UNREACHABLE = "unreachable"
    AUTH = "refused the credentials"
    RATE_LIMITED = "rate limited"
    UNSAFE = "refused by the address guard (see --insecure-registry)"
    NOT_FOUND = "has no such repository"
    FAILED = "failed"

    @classmethod
    def of(cls, error_type: str, message: str) -> Cause:
        """The cause of an error of class ``error_type`` (a :mod:`bot.core.errors` name)."""
        if error_type == "AuthError":
            return cls.AUTH
        if error_type == "RateLimitError":
            return cls.RATE_LIMITED
        if error_type == "UnsafeURLError":
            return cls.UNSAFE
        if _NETWORK.search(message):
            return cls.UNREACHABLE
        if "not found" in message or "HTTP 404" in message:
            return cls.NOT_FOUND
        return cls.FAILED


def _host(name: str) -> str:
    try:
        ref = parse_reference(name)
    except InvalidReference:
        return name.split("/", 1)[0]
    return DOCKER_HUB if ref.is_docker_hub else ref.registry


@dataclass(frozen=True)
class LookupFailure:
    """One repository that could not be looked up, and where the tree references it."""

    image: str  # the name as written in the files
    fetch: str  # the repository asked (mirrors applied)
    cause: Cause
    error: str
    refs: tuple[str, ...] = ()  # "path:line" of every reference to the image

    @classmethod
    def of(
        cls, image: str, fetch: str, error_type: str, error: str, refs: Iterable[str] = ()
    ) -> LookupFailure:
        return cls(image, fetch, Cause.of(error_type, error), error, tuple(sorted(set(refs))))

    @property
    def host(self) -> str:
        """The registry asked, with the image's own registry when that one is mirrored."""
        asked, own = _host(self.fetch), _host(self.image)
        return asked if asked == own else f"{asked} (mirror of {own})"

    def to_json(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "repository": self.fetch,
            "host": self.host,
            "cause": self.cause.value,
            "error": self.error,
            "references": list(self.refs),
        }

    def lines(self) -> list[str]:
        """Text: the image (and mirror), the error, then the files referencing it."""
        via = f" (via {self.fetch})" if self.fetch != self.image else ""
        out = [f"  - {self.image}{via}: {self.error}"]
        if self.refs:
            shown = ", ".join(self.refs[:5])
            more = f" and {len(self.refs) - 5} more" if len(self.refs) > 5 else ""
            out.append(f"      referenced at {shown}{more}")
        return out


def summary(failures: Sequence[LookupFailure], total: int) -> str:
    """``"N of M lookups failed: host cause[, host cause (n)...]"``, the most frequent first."""
    counts = Counter((f.host, f.cause) for f in failures)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0][0], item[0][1].value))
    if len(ranked) == 1:
        (host, cause), _ = ranked[0]
        reasons = f"{host} {cause.value}"
    else:
        reasons = ", ".join(f"{host} {cause.value} ({n})" for (host, cause), n in ranked)
    return f"{len(failures)} of {total} lookups failed: {reasons}"
