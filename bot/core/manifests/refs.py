"""The value types of discovery: an image reference, its spans, and a scan's result.

>>> ref = ImageRef("a.yaml", 0, 3, SiteKind.CONTAINER, "spec.image", "nginx", "1.25", None, ())
>>> ref.value
'nginx:1.25'
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.manifests.sites import Role, SiteKind

__all__ = ["Discovery", "ImageRef", "Span"]


@dataclass(frozen=True)
class Span:
    """One scalar of a reference: its role, ``[start, end)`` in the text, style and value."""

    role: Role
    start: int
    end: int
    style: str  # '' plain, "'" or '"'
    flow: bool  # inside a flow collection ([...] or {...})
    value: str  # the scalar's current value (unquoted)
    line: int  # 1-based


@dataclass(frozen=True)
class ImageRef:
    """An image reference found in a file."""

    file: str
    doc: int  # document index in the file
    line: int  # 1-based line of the tag (or of the whole reference)
    kind: SiteKind
    path: str  # where in the document, e.g. spec.template.spec.containers[0].image
    image: str  # image name as written (registry/repository), "" if unknown
    tag: str | None
    digest: str | None
    spans: tuple[Span, ...]
    marker: str | None = None  # "namespace:name" of a $imagepolicy marker on it
    kustomization: str | None = None  # the Flux Kustomization deploying the file
    unresolved: str | None = None  # why it cannot be updated (templated, no tag, invalid)
    object_kind: str | None = None  # "group/Kind" of its document ("Kind" in core, "compose")

    @property
    def value(self) -> str:
        """The reference as ``name[:tag][@digest]``."""
        out = self.image
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out

    def span(self, role: Role) -> Span | None:
        """The span playing ``role``, if any."""
        return next((s for s in self.spans if s.role is role), None)


@dataclass(frozen=True)
class Discovery:
    """What :func:`scan` found: references, and one message per file it could not read."""

    refs: tuple[ImageRef, ...]
    errors: tuple[str, ...]
    parsed: int  # files actually parsed (after the cheap text prefilter)
