"""PR text for an update group: title, markdown body with the hidden state marker, commit message.

Pure: everything here is a function of the :class:`~bot.core.model.UpdateGroup` (and the marker's
ignores), so re-running a job renders byte-identical text and ``ensure_pr`` sees no change.

    >>> from bot.core.model import Update, UpdateGroup
    >>> g = UpdateGroup("ghcr.io-o-app", (Update("a.yaml", 3, "ghcr.io/o/app", "1.0", "1.1"),))
    >>> pr_title(g)
    'Update ghcr.io/o/app to 1.1'
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from bot.core.markers import PRMarker
from bot.core.model import Ignore, Update, UpdateGroup

_SHORT_DIGEST = 19  # "sha256:" + 12 hex digits


def _images(group: UpdateGroup) -> list[str]:
    return list(dict.fromkeys(u.image for u in group.updates))


def _version(tag: str, digest: str | None) -> str:
    return f"{tag}@{digest[:_SHORT_DIGEST]}" if digest else tag


def template_fields(group: UpdateGroup) -> dict[str, str]:
    """Placeholders of the title and commit templates.

    ``{image}``, ``{old}``, ``{new}`` (for several images: ``N images``, ``current versions``,
    ``new versions``), ``{policy}``, ``{group}``, ``{images}`` and ``{updates}`` (one
    ``- image old → new (path:line)`` line per update).
    """
    images = _images(group)
    olds = list(dict.fromkeys(u.old for u in group.updates))
    news = list(dict.fromkeys(u.new for u in group.updates))
    policies = list(dict.fromkeys(u.policy for u in group.updates if u.policy))
    single = len(images) == 1
    return {
        "image": images[0] if single else f"{len(images)} images",
        "old": ", ".join(olds) if single else "current versions",
        "new": ", ".join(news) if single else "new versions",
        "policy": "; ".join(policies),
        "group": group.name,
        "images": ", ".join(images),
        "updates": "\n".join(
            f"- {u.image} {_version(u.old, u.old_digest)} → {_version(u.new, u.new_digest)}"
            f" ({u.path}:{u.line})"
            for u in group.updates
        ),
    }


def pr_title(group: UpdateGroup, template: str | None = None) -> str:
    """The title from ``template``; without one ``Update <image> to <tag>`` (or ``N images``)."""
    if template:
        return _format(template, template_fields(group)).strip().splitlines()[0]
    images = _images(group)
    if len(images) == 1:
        news = list(dict.fromkeys(u.new for u in group.updates))
        return f"Update {images[0]} to {', '.join(news)}"
    return f"Update {len(images)} images ({group.name})"


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell and inline code."""
    return text.replace("|", "\\|").replace("`", "'").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{_cell(text)}`" if text else ""


def release_links(update: Update) -> list[tuple[str, str]]:
    """(label, url) links for an update: its source and, on GitHub/GitLab, the releases page."""
    if not update.source_url:
        return []
    url = update.source_url.rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        return []
    links = [("source", url)]
    if parts.netloc == "github.com" and parts.path.count("/") == 2:
        links.append(("release notes", f"{url}/releases"))
    elif parts.netloc.startswith("gitlab.") and parts.path.count("/") >= 2:
        links.append(("release notes", f"{url}/-/releases"))
    return links


def updates_table(updates: Sequence[Update]) -> str:
    """The markdown table: image, change, file:line, policy."""
    rows = [
        "| Image | Change | File | Policy |",
        "|---|---|---|---|",
    ]
    for u in updates:
        change = f"{_code(_version(u.old, u.old_digest))} → {_code(_version(u.new, u.new_digest))}"
        where = _code(f"{u.path}:{u.line}")
        rows.append(f"| {_code(u.image)} | {change} | {where} | {_cell(u.policy) or '—'} |")
    return "\n".join(rows)


MAX_BODY = 60_000
"""Characters a PR body may take (GitHub refuses bodies over 65,536; GitLab allows more)."""
_TABLE_ROWS_WHEN_LONG = 100


def _compact(u: Update) -> Update:
    """The update as the marker needs it: what changes where, without prose."""
    return Update(u.path, u.line, u.image, u.old, u.new, u.old_digest, u.new_digest, site=u.site)


def pr_body(group: UpdateGroup, ignores: Sequence[Ignore] = (), *, footer: str = "") -> str:
    """The PR body: summary, table, links, reasons, and the hidden :class:`PRMarker`.

    A body that would exceed :data:`MAX_BODY` (a big ``group: all``) drops the reasons, keeps the
    first rows of the table, and stores compact updates in its marker, one per image and new
    version, as many as fit (the branch's commit still carries every change).
    """
    body = _body(group, ignores, footer, long=False)
    if len(body) <= MAX_BODY:
        return body
    return _body(group, ignores, footer, long=True)


def _body(group: UpdateGroup, ignores: Sequence[Ignore], footer: str, *, long: bool) -> str:
    images = _images(group)
    n = len(group.updates)
    shown = group.updates[:_TABLE_ROWS_WHEN_LONG] if long else group.updates
    lines = [
        f"fluxbot updates {n} image reference{'s' if n != 1 else ''} "
        f"({len(images)} image{'s' if len(images) != 1 else ''}) in group `{_cell(group.name)}`.",
        "",
        updates_table(shown),
        "",
    ]
    if len(shown) < n:
        lines += [f"… and {n - len(shown)} more (see the commit).", ""]
    seen: set[tuple[str, str]] = set()
    link_lines = []
    for u in shown:
        if (u.image, u.new) in seen:
            continue
        seen.add((u.image, u.new))
        links = release_links(u)
        if links:
            joined = " · ".join(f"[{label}]({url})" for label, url in links)
            link_lines.append(f"- {_code(u.image)} {_code(u.new)}: {joined}")
    if link_lines:
        lines += ["### Release notes", "", *link_lines, ""]
    if not long:
        reasons = [
            f"- {_code(f'{u.path}:{u.line}')} ({u.site or 'reference'}"
            f"{', Kustomization ' + _code(u.kustomization) if u.kustomization else ''}): "
            f"{_cell(u.reason) or 'newer version'}"
            for u in group.updates
        ]
        lines += [
            "<details><summary>Why these versions</summary>",
            "",
            *reasons,
            "",
            "</details>",
            "",
        ]
    lines.append(
        "Closing this PR without merging it ignores these versions (and older ones) from then on."
    )
    if footer:
        lines += ["", footer.rstrip()]
    if not long:
        marker = PRMarker(group=group.name, updates=group.updates, ignores=tuple(ignores))
        return "\n".join([*lines, "", marker.render(), ""])
    text = "\n".join(lines)
    # one compact entry per (image, new version), as many as the budget allows
    distinct = tuple({(u.image, u.new): _compact(u) for u in group.updates}.values())
    keep = len(distinct)
    while True:
        marker = PRMarker(group=group.name, updates=distinct[:keep], ignores=tuple(ignores))
        rendered = marker.render()
        if len(text) + len(rendered) + 3 <= MAX_BODY or keep == 0:
            return f"{text}\n\n{rendered}\n"
        per = max(1, len(rendered) // max(keep, 1))
        keep = max(0, min(keep - 1, (MAX_BODY - len(text) - 3 - 200) // per))


class _Lenient(string.Formatter):
    """A formatter that leaves unknown ``{fields}`` as written instead of raising."""

    def get_value(self, key: int | str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if isinstance(key, str) and key not in kwargs:
            return "{" + key + "}"
        return super().get_value(key, args, kwargs)


def _format(template: str, fields: Mapping[str, str]) -> str:
    try:
        return _Lenient().format(template, **fields)
    except (ValueError, IndexError):  # a stray brace: use the template literally
        return template


def commit_message(group: UpdateGroup, template: str | None = None) -> str:
    """The commit message: the template's subject, then one line per update.

    Fields as :func:`template_fields`; unknown ``{fields}`` stay as written. A template that
    places ``{updates}`` itself gets no list appended.
    """
    fields = template_fields(group)
    if not template:
        return f"{pr_title(group)}\n\n{fields['updates']}\n"
    text = _format(template, fields).strip()
    if "{updates}" not in template:
        text += "\n\n" + fields["updates"]
    return text + "\n"


__all__ = ["MAX_BODY", "commit_message", "pr_body", "pr_title", "release_links", "template_fields"]
