"""Local "pull requests" as JSON files under ``.git/fluxbot/``: the storage half of
:class:`bot.adapters.local.forge.LocalForge` (PR files, comments, reactions, commit statuses, and
the
PR text written to an output directory or a stream).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from bot.core.errors import ForgeError
from bot.core.model import PRState
from bot.ports import Reaction, StatusState


def write_atomic(file: Path, text: str) -> None:
    """Write ``text`` to ``file`` through a temporary file and a rename: a failure or a crash
    midway leaves the previous content, never half a file."""
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(f".{file.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(file)
    finally:
        tmp.unlink(missing_ok=True)


class PRFiles:
    """Mixin: everything about local PRs that needs no git command."""

    _git_dir: Path
    _output: Path | None
    _stream: IO[str]

    # ------------------------------------------------------------------ PRs as files

    @property
    def _prs_dir(self) -> Path:
        return self._git_dir / "fluxbot" / "prs"

    def _load_all(self) -> list[dict[str, Any]]:
        if not self._prs_dir.is_dir():
            return []
        out = []
        for file in self._prs_dir.glob("*.json"):
            try:
                out.append(json.loads(file.read_text(encoding="utf-8")))
            except (OSError, ValueError) as exc:
                raise ForgeError(f"unreadable local PR file {file.name}: {exc}") from exc
        return sorted(out, key=lambda d: -int(d["number"]))

    def _save(self, data: dict[str, Any]) -> None:
        file = self._prs_dir / f"{int(data['number'])}.json"
        write_atomic(file, json.dumps(data, indent=2, sort_keys=True) + "\n")

    def _data(self, number: int) -> dict[str, Any]:
        file = self._prs_dir / f"{number}.json"
        if not file.is_file():
            raise ForgeError(f"no local PR #{number}")
        data: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
        return data

    def _pr_file(self, branch: str) -> Path:
        assert self._output is not None
        return self._output / (branch.replace("/", "-") + ".md")

    def _publish(self, data: dict[str, Any], created: bool, changed: bool) -> None:
        """Write the PR text to the output directory, or print it when it is new or changed."""
        text = f"# {data['title']}\n\n{data['body'].rstrip()}\n"
        if self._output is not None:
            self._output.mkdir(parents=True, exist_ok=True)
            file = self._pr_file(data["branch"])
            if not file.is_file() or file.read_text(encoding="utf-8") != text:
                write_atomic(file, text)
        elif changed:
            verb = "opened" if created else "updated"
            rule = "─" * 72
            self._stream.write(
                f"{rule}\nPR #{data['number']} {verb}: {data['branch']} → {data['base']}\n"
                f"{rule}\n{text}\n"
            )
            self._stream.flush()

    async def close_pr(self, number: int, comment: str | None = None) -> None:
        data = self._data(number)
        if comment:
            data.setdefault("comments", []).append(
                {"id": len(data["comments"]) + 1, "body": comment}
            )
        data["state"] = PRState.CLOSED.value
        self._save(data)

    async def update_pr_body(self, number: int, body: str) -> None:
        data = self._data(number)
        data["body"] = body
        self._save(data)

    async def ensure_comment(self, number: int, marker: str, body: str) -> None:
        data = self._data(number)
        comments = data.setdefault("comments", [])
        for c in comments:
            if marker in c["body"]:
                c["body"] = body
                break
        else:
            comments.append({"id": len(comments) + 1, "body": body})
        self._save(data)

    async def comment(self, number: int, body: str) -> None:
        data = self._data(number)
        comments = data.setdefault("comments", [])
        comments.append({"id": len(comments) + 1, "body": body})
        self._save(data)

    async def comments(self, number: int) -> list[str]:
        """Bodies of the comments on a local PR (for tests and the CLI)."""
        return [c["body"] for c in self._data(number).get("comments", [])]

    async def react(self, number: int, comment_id: int, reaction: Reaction) -> None:
        data = self._data(number)
        data.setdefault("reactions", []).append([comment_id, reaction.value])
        self._save(data)

    async def can_write(self, user: str) -> bool:
        return True  # whoever runs the CLI owns the clone

    @property
    def _status_file(self) -> Path:
        return self._git_dir / "fluxbot" / "statuses.json"

    async def set_status(
        self, sha: str, context: str, state: StatusState, description: str, url: str | None = None
    ) -> None:
        file = self._status_file
        data: dict[str, dict[str, str]] = (
            json.loads(file.read_text(encoding="utf-8")) if file.is_file() else {}
        )
        data.setdefault(sha, {})[context] = state.value
        write_atomic(file, json.dumps(data, indent=2, sort_keys=True))
        texts = self._status_texts()  # kept apart: statuses.json keeps its format
        texts.setdefault(sha, {})[context] = description
        write_atomic(self._status_text_file, json.dumps(texts, indent=2, sort_keys=True))

    @property
    def _status_text_file(self) -> Path:
        return self._git_dir / "fluxbot" / "status-descriptions.json"

    def _status_texts(self) -> dict[str, dict[str, str]]:
        file = self._status_text_file
        texts: dict[str, dict[str, str]] = (
            json.loads(file.read_text(encoding="utf-8")) if file.is_file() else {}
        )
        return texts

    async def commit_status_details(self, sha: str) -> dict[str, tuple[StatusState, str]]:
        texts = self._status_texts().get(sha, {})
        return {c: (s, texts.get(c, "")) for c, s in (await self.commit_statuses(sha)).items()}

    async def commit_statuses(self, sha: str) -> dict[str, StatusState]:
        file = self._status_file
        if not file.is_file():
            return {}
        data = json.loads(file.read_text(encoding="utf-8"))
        return {k: StatusState(v) for k, v in data.get(sha, {}).items()}
