"""Text fluxbot shows to people: the flux-diff preview comment (markdown), plain text and JSON.

Pure: values in, strings out. The preview comment starts with the hidden :data:`DIFF_MARKER` so a
forge adapter can find and edit its one sticky comment; it holds a summary table (per
Kustomization: created/changed/deleted counts and images changed) and one collapsible
``<details>`` per Kustomization, and stays under GitHub's 65,536-character limit by dropping
diffs from the end with an explicit truncation note. :func:`diff_markdown` is the same with a
larger cap, for job summaries and check runs that hold the full diff.

    >>> diff_comment(PreviewDiff()).splitlines()[0]
    '<!-- fluxbot:diff -->'
"""

from __future__ import annotations

import json

from bot.core.flux.diff import Action, KustomizationDiff, ObjectChange, PreviewDiff
from bot.core.markers import DIFF_MARKER

__all__ = ["DIFF_MARKER", "diff_comment", "diff_json", "diff_markdown", "diff_text"]
GITHUB_COMMENT_LIMIT = 65_536
DEFAULT_MAX_CHARS = 60_000
JOB_SUMMARY_LIMIT = 1_000_000  # GitHub Actions step summaries hold 1 MiB
_TITLE = "### Flux diff"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _images(entry: KustomizationDiff) -> str:
    if not entry.images:
        return ""
    parts = []
    for old, new in entry.images:
        if old and new:
            parts.append(f"`{old}` → `{new}`")
        elif new:
            parts.append(f"+ `{new}`")
        else:
            parts.append(f"− `{old}`")
    return "<br>".join(_cell(p) for p in parts)


def _status(entry: KustomizationDiff) -> str:
    if entry.base_error or entry.head_error:
        return "⚠️ render failed"
    return ""


def _first_line(text: str) -> str:
    line = next((x.strip() for x in text.splitlines() if x.strip()), "failed")
    return line if len(line) <= 300 else line[:297] + "..."


def failure_lines(entry: KustomizationDiff) -> list[str]:
    """One line per side that failed: which Kustomization and why (the error's first line)."""
    return [
        f"{entry.label} failed to render on {side}: {_first_line(error)}"
        for side, error in (("base", entry.base_error), ("head", entry.head_error))
        if error
    ]


UNRECONCILED = "not rendered: nothing in this repository reconciles it"


def _counts(entry: KustomizationDiff) -> str:
    if entry.base_error or entry.head_error:
        return "render failed"
    return (
        f"+{entry.count(Action.CREATED)} ~{entry.count(Action.CHANGED)} "
        f"-{entry.count(Action.DELETED)}"
    )


def _fence(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}diff\n{text}{'' if text.endswith(chr(10)) else chr(10)}{fence}"


def _title(change: ObjectChange) -> str:
    if change.renamed_from is not None:
        return (
            f"**{change.action}** `{change.renamed_from}` → `{change.key.name}` "
            "(generated, new hash suffix)"
        )
    return f"**{change.action}** `{change.key}`"


def _object(change: ObjectChange, body: bool = True) -> list[str]:
    """A change as its hunks; a created or deleted object as a header and a collapsed body."""
    if change.action is Action.CHANGED:
        return [_title(change), "", _fence(change.diff), ""]
    if not body:
        return [_title(change) + " (body left out: comment size limit)", ""]
    size = change.diff.count("\n")
    return [
        _title(change),
        "",
        f"<details><summary>{size} lines</summary>",
        "",
        _fence(change.diff),
        "",
        "</details>",
        "",
    ]


def _details(entry: KustomizationDiff, budget: int | None = None, full_diff: str = "") -> str:
    """One Kustomization's section; within ``budget`` characters created/deleted bodies go
    first, then whole objects from the end, named in a note: changed lines are never cut."""
    head = [f"<details><summary><code>{entry.label}</code> ({_counts(entry)})</summary>", ""]
    for side, error in (("base", entry.base_error), ("head", entry.head_error)):
        if error:
            head += [f"**Render failed on {side}:**", "", _fence(error.rstrip() + "\n"), ""]
    head += [f"> {note}" for note in entry.notes]
    if entry.notes:
        head.append("")
    pieces = [_object(c) for c in entry.changes]

    def join(parts: list[list[str]], tail: list[str]) -> str:
        return "\n".join([*head, *(x for part in parts for x in part), *tail, "</details>"])

    text = join(pieces, [])
    if budget is None or len(text) <= budget:
        return text
    pieces = [_object(c, body=False) for c in entry.changes]
    left_out: list[str] = []
    while True:
        tail = []
        if left_out:
            names = ", ".join(f"`{k}`" for k in reversed(left_out))
            tail = [f"> ⚠️ Left out (comment size limit): {names}; {full_diff}.", ""]
        text = join(pieces, tail)
        if len(text) <= budget or not pieces:
            return text
        pieces.pop()
        left_out.append(str(entry.changes[len(pieces)].key))


def _summary(preview: PreviewDiff) -> list[str]:
    changed = [k for k in preview.kustomizations if not k.empty]
    lines = [DIFF_MARKER, _TITLE, ""]
    for k in preview.failed:
        lines += [f"> ⚠️ {_cell(line)}" for line in failure_lines(k)]
    if preview.failed:
        lines.append("")
    for path in preview.unreconciled:
        lines.append(f"- `{_cell(path)}`: {UNRECONCILED}")
    if preview.unreconciled:
        lines.append("")
    if not changed:
        lines.append(
            f"No changes to rendered objects ({preview.affected} affected Kustomization"
            f"{'' if preview.affected == 1 else 's'} rendered)."
        )
        return lines
    lines += [
        "| Kustomization | Created | Changed | Deleted | Images | |",
        "|---|---:|---:|---:|---|---|",
    ]
    for k in changed:
        if k.base_error or k.head_error:
            counts = "– | – | –"
        else:
            counts = (
                f"{k.count(Action.CREATED)} | {k.count(Action.CHANGED)} | {k.count(Action.DELETED)}"
            )
        lines.append(f"| `{_cell(k.label)}` | {counts} | {_images(k)} | {_status(k)} |")
    lines.append("")
    return lines


FULL_DIFF_HINT = "run `fluxbot diff --base <base branch> --output diff.md` for the full diff"


def diff_comment(
    preview: PreviewDiff, max_chars: int = DEFAULT_MAX_CHARS, full_diff: str = FULL_DIFF_HINT
) -> str:
    """Markdown for the sticky preview comment, never longer than ``max_chars`` (nor 65,536).

    ``full_diff`` ends the truncation note: where the whole diff is (the Action passes "see the
    job summary"; elsewhere the default tells how to get it with ``fluxbot diff --output``).
    """
    return diff_markdown(preview, min(max_chars, GITHUB_COMMENT_LIMIT), full_diff)


def diff_markdown(
    preview: PreviewDiff, max_chars: int = JOB_SUMMARY_LIMIT, full_diff: str = FULL_DIFF_HINT
) -> str:
    """The same markdown with a larger cap: Action job summaries, check runs, artifacts."""
    head = "\n".join(_summary(preview)).rstrip("\n")
    blocks = [_details(k) for k in preview.kustomizations if not k.empty]
    problems = ""
    if preview.problems:
        problems = (
            "\n\n<details><summary>Files that could not be read</summary>\n\n"
            + "\n".join(f"- {_cell(p)}" for p in preview.problems[:50])
            + "\n</details>"
        )
    out = head
    entries = [k for k in preview.kustomizations if not k.empty]
    for i, block in enumerate(blocks):
        remaining = len(blocks) - i
        note = (
            f"\n\n> ⚠️ Truncated: {remaining} more Kustomization diff"
            f"{'' if remaining == 1 else 's'} not shown (comment size limit): {full_diff}."
        )
        room = max_chars - len(out) - 2 - len(problems)
        if len(block) <= room - len(note):
            out += "\n\n" + block
            continue
        # the first section that does not fit is cut by whole objects, the rest named
        rest = remaining - 1
        later = (
            f"\n\n> ⚠️ Truncated: {rest} more Kustomization diff"
            f"{'' if rest == 1 else 's'} not shown (comment size limit): {full_diff}."
            if rest
            else ""
        )
        cut = _details(entries[i], room - len(later), full_diff)
        if len(cut) <= room - len(later):
            out += "\n\n" + cut + later
        else:
            out += note
        break
    if len(out) + len(problems) <= max_chars:
        out += problems
    if len(out) > max_chars:  # a single enormous summary table: hard cut with a note
        note = "\n\n> ⚠️ Truncated (comment size limit)."
        out = out[: max_chars - len(note)] + note
    return out + "\n"


def diff_text(preview: PreviewDiff) -> str:
    """Plain text: one section per Kustomization with its object diffs."""
    lines: list[str] = []
    for k in preview.kustomizations:
        if k.empty:
            continue
        lines.append(f"=== {k.label}: {_counts(k)}")
        for old, new in k.images:
            lines.append(f"image: {old or '(none)'} -> {new or '(none)'}")
        for side, error in (("base", k.base_error), ("head", k.head_error)):
            if error:
                lines.append(f"render failed on {side}: {error}")
        lines += [f"note: {n}" for n in k.notes]
        for change in k.changes:
            lines.append(f"--- {change.action} {change.key}")
            lines.append(change.diff.rstrip("\n"))
    lines += [f"{path}: {UNRECONCILED}" for path in preview.unreconciled]
    if not lines:
        lines.append(f"no changes ({preview.affected} affected Kustomizations rendered)")
    lines += [f"problem: {p}" for p in preview.problems]
    return "\n".join(lines) + "\n"


def diff_json(preview: PreviewDiff) -> str:
    """Stable JSON of the whole preview."""
    return json.dumps(preview.as_dict(), indent=2, sort_keys=True) + "\n"
