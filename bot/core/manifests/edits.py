"""Byte-exact edits: splice new tags (and digests) into the recorded spans, then prove them.

Like Renovate's auto-replace: the new value goes into the original text at the span the scan
recorded (right to left, nothing re-serialised), and the new text is scanned again to check every
reference now reads the new value. Any doubt raises :class:`~bot.core.errors.ManifestError` and
nothing is returned, so a caller never writes half an edit::

    >>> text = "kind: Pod\\napiVersion: v1\\nspec:\\n  containers:\\n    - image: nginx:1.25 # x\\n"
    >>> (ref,) = scan_text(text, "pod.yaml")
    >>> apply_updates(text, [Update(ref, "1.27")]).splitlines()[-1]
    '    - image: nginx:1.27 # x'

A ``tag@sha256:...`` pin stays a pin: tag and digest are written together, and an update of a
pinned reference without its new digest is refused rather than leaving a stale digest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.core.errors import ManifestError
from bot.core.manifests.refs import ImageRef, Span
from bot.core.manifests.scalars import render, splice
from bot.core.manifests.scan import scan_text
from bot.core.manifests.sites import Role

__all__ = ["Update", "apply_updates", "new_value"]


@dataclass(frozen=True)
class Update:
    """Move ``ref`` to ``tag``; ``digest`` is required when the reference is pinned."""

    ref: ImageRef
    tag: str
    digest: str | None = None


def _where(ref: ImageRef) -> str:
    return f"{ref.file}: document {ref.doc + 1}, line {ref.line} ({ref.path})"


def new_value(update: Update, span: Span) -> str:
    """What ``span`` must read after ``update`` (its current value for a name)."""
    ref = update.ref
    pinned = ref.digest is not None
    if pinned and not update.digest:
        raise ManifestError(
            f"{_where(ref)}: {ref.value} is pinned by digest and the digest of "
            f"{update.tag} is unknown; refusing to leave a stale digest"
        )
    if span.role is Role.NAME:
        return span.value
    if span.role is Role.DIGEST:
        return update.digest or span.value
    if span.role is Role.TAG:
        carries_digest = "@" in span.value
        return f"{update.tag}@{update.digest}" if carries_digest else update.tag
    out = f"{ref.image}:{update.tag}"
    return f"{out}@{update.digest}" if pinned else out


def _key(ref: ImageRef) -> tuple[int, str, str, str | None]:
    return ref.doc, ref.path, ref.kind.value, ref.marker


def apply_updates(text: str, updates: Iterable[Update]) -> str:
    """``text`` with every update spliced in and verified by a fresh scan."""
    todo = list(updates)
    if not todo:
        return text
    file = todo[0].ref.file
    if any(u.ref.file != file for u in todo):
        raise ManifestError(f"{file}: updates for several files given to one edit")
    current = {(_key(r), r.spans): r for r in scan_text(text, file)}
    edits: list[tuple[int, int, str]] = []
    for update in todo:
        ref = update.ref
        if ref.unresolved is not None:
            raise ManifestError(f"{_where(ref)}: cannot update: {ref.unresolved}")
        if (_key(ref), ref.spans) not in current:
            raise ManifestError(f"{_where(ref)}: the file changed since it was scanned")
        for span in ref.spans:
            value = new_value(update, span)
            if value != span.value:
                edits.append((span.start, span.end, render(value, span.style, flow=span.flow)))
    try:
        result = splice(text, edits)
    except ValueError:
        raise ManifestError(f"{file}: two updates touch the same scalar") from None
    after = {_key(r): r for r in scan_text(result, file)}
    for update in todo:
        ref = update.ref
        now = after.get(_key(ref))
        want_digest = update.digest if ref.digest is not None else None
        if now is None or now.tag != update.tag or now.digest != want_digest:
            got = "nothing" if now is None else now.value
            raise ManifestError(
                f"{_where(ref)}: after the edit the reference reads {got}, "
                f"not tag {update.tag}; nothing written"
            )
    return result
