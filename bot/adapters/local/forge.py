"""A :class:`~bot.ports.Forge` on a local git clone: branches are real, "PRs" are files.

``fluxbot run --forge local`` needs no server: each group becomes a branch ``fluxbot/<group>``
holding one commit on the default branch (built with plumbing in a private index, so the working
tree and the current checkout are never touched), and each "pull request" is a JSON file under
``.git/fluxbot/prs/`` so that ``list_prs``/``ensure_pr`` are idempotent across runs. The PR title
and body are written to ``output`` (one ``<branch>.md`` file per PR) or printed to ``stream``.

    async with LocalForge.open("/path/to/clone", output=None) as forge:
        sha = await forge.ensure_branch("fluxbot/app", base, {"a.yaml": "..."}, "update app")

A local PR is reported ``merged`` once its head commit is contained in its base branch.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bot.adapters.local.prs import PRFiles
from bot.core.errors import ForgeError
from bot.core.model import BRANCH_PREFIX, PRState, PullRequest
from bot.ports import MAX_PR_PATHS, is_yaml

GIT_TIMEOUT = 60.0
_IDENTITY = {
    "GIT_AUTHOR_NAME": "fluxbot",
    "GIT_AUTHOR_EMAIL": "fluxbot@localhost",
    "GIT_COMMITTER_NAME": "fluxbot",
    "GIT_COMMITTER_EMAIL": "fluxbot@localhost",
}


@dataclass(frozen=True)
class _GitResult:
    stdout: bytes
    returncode: int


async def _git(
    cwd: Path,
    *args: str,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> _GitResult:
    """Run ``git args`` in ``cwd`` (argv, no shell) with a timeout; ForgeError with stderr."""
    full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
    try:
        proc = await asyncio.create_subprocess_exec(
            "git",
            *args,
            cwd=str(cwd),
            env=full_env,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise ForgeError(f"cannot run git: {exc}") from exc
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin), GIT_TIMEOUT)
    except TimeoutError as exc:
        proc.kill()
        await proc.wait()
        raise ForgeError(f"git {args[0]} timed out after {GIT_TIMEOUT:.0f}s") from exc
    if check and proc.returncode != 0:
        msg = err.decode("utf-8", "replace").strip().splitlines()
        raise ForgeError(f"git {args[0]} failed: {msg[-1] if msg else proc.returncode}")
    return _GitResult(out, proc.returncode or 0)


def _blob_id(data: bytes) -> str:
    """The id git gives a blob with this content (SHA-1 repositories)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


class LocalForge(PRFiles):
    """One local git repository seen as a forge (see module docstring)."""

    kind = "local"

    def __init__(
        self,
        path: Path,
        git_dir: Path,
        *,
        base: str | None = None,
        output: Path | None = None,
        stream: IO[str] | None = None,
    ) -> None:
        self.path = path
        self.repo = str(path)
        self._git_dir = git_dir
        self._base = base
        self._output = output
        self._stream = stream if stream is not None else sys.stdout
        self._lock = asyncio.Lock()

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        path: str | Path,
        *,
        base: str | None = None,
        output: str | Path | None = None,
        stream: IO[str] | None = None,
    ) -> AsyncIterator[LocalForge]:
        """A forge on the clone at ``path`` (ForgeError when it is not a git work tree)."""
        root = Path(path).resolve()
        if not root.is_dir():
            raise ForgeError(f"not a directory: {root}")
        res = await _git(root, "rev-parse", "--show-toplevel", "--git-common-dir", check=False)
        if res.returncode != 0:
            raise ForgeError(f"not a git repository: {root}")
        top, common = res.stdout.decode().splitlines()[:2]
        git_dir = Path(common) if Path(common).is_absolute() else root / common
        out = Path(output) if output is not None else None
        yield cls(Path(top), git_dir.resolve(), base=base, output=out, stream=stream)

    # ------------------------------------------------------------------ branches and trees

    async def default_branch(self) -> str:
        if self._base:
            return self._base
        res = await _git(self.path, "symbolic-ref", "--short", "-q", "HEAD", check=False)
        name = res.stdout.decode().strip()
        if res.returncode != 0 or not name:
            raise ForgeError("HEAD is detached: pass the base branch explicitly")
        if name.startswith(BRANCH_PREFIX):
            raise ForgeError(f"the checkout is on {name}: switch back to the default branch")
        return name

    async def branch_sha(self, branch: str) -> str | None:
        res = await _git(
            self.path, "rev-parse", "--verify", "-q", f"refs/heads/{branch}^{{commit}}", check=False
        )
        return res.stdout.decode().strip() or None if res.returncode == 0 else None

    async def _resolve(self, ref: str) -> str:
        res = await _git(self.path, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}", check=False)
        if res.returncode != 0:
            raise ForgeError(f"unknown ref: {ref}")
        return res.stdout.decode().strip()

    async def read_tree(self, ref: str, want: Callable[[str], bool] = is_yaml) -> dict[str, str]:
        sha = await self._resolve(ref)
        listing = await _git(self.path, "ls-tree", "-r", "-z", sha)
        blobs: list[tuple[str, str]] = []
        for entry in listing.stdout.split(b"\0"):
            if not entry:
                continue
            meta, _, name = entry.partition(b"\t")
            mode, kind, obj = meta.decode().split()
            path = name.decode("utf-8", "surrogateescape")
            if kind == "blob" and mode != "120000" and want(path):
                blobs.append((path, obj))
        if not blobs:
            return {}
        batch = await _git(
            self.path, "cat-file", "--batch", stdin="".join(f"{o}\n" for _, o in blobs).encode()
        )
        data, pos, out = batch.stdout, 0, {}
        for path, _obj in blobs:
            eol = data.index(b"\n", pos)
            size = int(data[pos:eol].split()[2])
            content = data[eol + 1 : eol + 1 + size]
            pos = eol + 1 + size + 1
            try:
                out[path] = content.decode("utf-8")
            except UnicodeDecodeError:
                continue  # not text: nothing fluxbot can edit
        return out

    async def ensure_branch(
        self, branch: str, base_sha: str, files: Mapping[str, str], message: str
    ) -> str:
        async with self._lock:
            return await self._ensure_branch(branch, base_sha, files, message)

    async def _branch_commit(self, branch: str) -> tuple[str, list[str], dict[str, str]] | None:
        """(sha, parents, {path: new blob id} changed against its first parent), in one call."""
        res = await _git(
            self.path,
            "show",
            "-z",
            "--raw",
            "--no-abbrev",
            "--no-renames",
            "--format=%H %P",
            f"refs/heads/{branch}",
            "--",
            check=False,
        )
        if res.returncode != 0:
            return None
        head, _, rest = res.stdout.partition(b"\0")
        ids = head.decode().split()
        fields = rest.lstrip(b"\n").split(b"\0")
        changed: dict[str, str] = {}
        for meta, name in zip(fields[0::2], fields[1::2], strict=False):
            if meta.startswith(b":"):
                parts = meta.decode().split()
                changed[name.decode("utf-8", "surrogateescape")] = parts[3]
        return ids[0], ids[1:], changed

    @staticmethod
    def _unchanged(
        existing: tuple[str, list[str], dict[str, str]], base_sha: str, files: Mapping[str, str]
    ) -> bool:
        """Whether the commit already sits on ``base_sha`` and changes only ``files``, each to
        the wanted content (files it leaves alone are checked by :meth:`_same_as_base`)."""
        _sha, parents, changed = existing
        if parents != [base_sha] or not set(changed) <= set(files):
            return False
        return all(changed[p] == _blob_id(files[p].encode("utf-8")) for p in changed)

    async def _ensure_branch(
        self, branch: str, base_sha: str, files: Mapping[str, str], message: str
    ) -> str:
        existing = await self._branch_commit(branch)
        current = existing[0] if existing else None
        if (
            existing is not None
            and self._unchanged(existing, base_sha, files)
            and await self._same_as_base(base_sha, files, set(existing[2]))
        ):
            return existing[0]
        head = await _git(self.path, "symbolic-ref", "-q", "HEAD", check=False)
        if head.stdout.decode().strip() == f"refs/heads/{branch}":
            raise ForgeError(f"{branch} is checked out: switch to another branch first")
        index = self._git_dir / "fluxbot" / f"index-{os.getpid()}"
        index.parent.mkdir(parents=True, exist_ok=True)
        env = {"GIT_INDEX_FILE": str(index)}
        try:
            await _git(self.path, "read-tree", base_sha, env=env)
            modes = await self._modes(base_sha, files)
            lines = []
            for path, text in sorted(files.items()):
                blob = await _git(
                    self.path, "hash-object", "-w", "--stdin", stdin=text.encode("utf-8")
                )
                lines.append(f"{modes.get(path, '100644')} {blob.stdout.decode().strip()}\t{path}")
            await _git(
                self.path,
                "update-index",
                "--index-info",
                stdin=("\n".join(lines) + "\n").encode(),
                env=env,
            )
            tree = (await _git(self.path, "write-tree", env=env)).stdout.decode().strip()
        finally:
            index.unlink(missing_ok=True)
        if current is not None:
            info = await _git(self.path, "log", "-1", "--format=%T %P", current)
            parts = info.stdout.decode().split()
            if parts[0] == tree and parts[1:] == [base_sha]:
                return current
        env_commit = {**_IDENTITY, **self._identity_from_config()}
        commit = await _git(
            self.path, "commit-tree", tree, "-p", base_sha, stdin=message.encode(), env=env_commit
        )
        sha = commit.stdout.decode().strip()
        await _git(
            self.path,
            "update-ref",
            "-m",
            "fluxbot: update branch",
            f"refs/heads/{branch}",
            sha,
            *([current] if current else []),
        )
        return sha

    def _identity_from_config(self) -> dict[str, str]:
        """The author/committer, when the environment overrides the fluxbot identity."""
        keys = ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")
        return {k: os.environ[k] for k in keys if os.environ.get(k)}

    async def _modes(self, base_sha: str, files: Mapping[str, str]) -> dict[str, str]:
        """File modes at ``base_sha`` of the paths we write (keeps an executable bit)."""
        if not files:
            return {}
        res = await _git(self.path, "ls-tree", "-z", base_sha, "--", *sorted(files))
        modes = {}
        for entry in res.stdout.split(b"\0"):
            if entry:
                meta, _, name = entry.partition(b"\t")
                modes[name.decode("utf-8", "surrogateescape")] = meta.decode().split()[0]
        return modes

    async def delete_branch(self, branch: str) -> None:
        if await self.branch_sha(branch) is not None:
            await _git(self.path, "update-ref", "-d", f"refs/heads/{branch}")

    async def _same_as_base(
        self, base_sha: str, files: Mapping[str, str], changed: set[str]
    ) -> bool:
        """The files the commit left alone read at ``base_sha`` what ``files`` wants."""
        rest = sorted(p for p in files if p not in changed)
        if not rest:
            return True
        listing = await _git(self.path, "ls-tree", "-z", base_sha, "--", *rest)
        blobs = {}
        for entry in listing.stdout.split(b"\0"):
            if entry:
                meta, _, name = entry.partition(b"\t")
                blobs[name.decode("utf-8", "surrogateescape")] = meta.decode().split()[2]
        return all(blobs.get(p) == _blob_id(files[p].encode("utf-8")) for p in rest)

    async def _heads(self) -> dict[str, str]:
        """Every local branch → its commit, in one call."""
        fmt = "--format=%(refname:short) %(objectname)"
        res = await _git(self.path, "for-each-ref", fmt, "refs/heads/")
        return dict(line.split(" ", 1) for line in res.stdout.decode().splitlines() if line)

    async def _merged(self, base: str) -> set[str]:
        """fluxbot branches whose head is contained in ``base``."""
        res = await _git(
            self.path,
            "for-each-ref",
            "--format=%(refname:short)",
            f"--merged=refs/heads/{base}",
            "refs/heads/fluxbot/",
            check=False,
        )
        return set(res.stdout.decode().split()) if res.returncode == 0 else set()

    async def _to_pr(
        self,
        data: dict[str, Any],
        heads: dict[str, str] | None = None,
        merged: dict[str, set[str]] | None = None,
    ) -> PullRequest:
        heads = heads if heads is not None else await self._heads()
        merged = merged if merged is not None else {}
        head = heads.get(data["branch"], "")
        state = PRState(data["state"])
        merge_sha = None
        if state is PRState.OPEN and head and data["base"] in heads:
            if data["base"] not in merged:
                merged[data["base"]] = await self._merged(data["base"])
            if data["branch"] in merged[data["base"]]:
                state, merge_sha = PRState.MERGED, heads[data["base"]]
        return PullRequest(
            number=int(data["number"]),
            branch=data["branch"],
            base=data["base"],
            title=data["title"],
            body=data["body"],
            state=state,
            head_sha=head,
            merge_sha=merge_sha,
            url=str(self._pr_file(data["branch"])) if self._output else "",
            author="fluxbot",
            labels=tuple(data.get("labels", ())),
        )

    async def list_prs(self) -> list[PullRequest]:
        heads: dict[str, str] = await self._heads()
        merged: dict[str, set[str]] = {}
        return [
            await self._to_pr(d, heads, merged)
            for d in self._load_all()
            if str(d.get("branch", "")).startswith(BRANCH_PREFIX)
        ]

    async def get_pr(self, number: int) -> PullRequest:
        return await self._to_pr(self._data(number))

    async def ensure_pr(
        self,
        branch: str,
        base: str,
        title: str,
        body: str,
        labels: Sequence[str] = (),
        reviewers: Sequence[str] = (),
        assignees: Sequence[str] = (),
    ) -> tuple[PullRequest, bool]:
        async with self._lock:
            existing = [d for d in self._load_all() if d["branch"] == branch]
            open_ = [d for d in existing if d["state"] == PRState.OPEN.value]
            created = not open_
            if open_:
                data = open_[0]
                changed = (data["title"], data["body"], data["base"], data.get("labels")) != (
                    title,
                    body,
                    base,
                    list(labels),
                )
            else:
                numbers = [int(d["number"]) for d in self._load_all()]
                data = {"number": max(numbers, default=0) + 1, "comments": []}
                changed = True
            data.update(
                branch=branch,
                base=base,
                title=title,
                body=body,
                state=PRState.OPEN.value,
                labels=list(labels),
                reviewers=list(reviewers),
                assignees=list(assignees),
            )
            if changed:
                self._save(data)
            self._publish(data, created, changed)
            # just ensured on the base: open, not merged (skips the merged-branches lookup)
            return await self._to_pr(data, merged={base: set()}), created

    # ------------------------------------------------------------------ history (ForgeHistory)

    async def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """``git merge-base --is-ancestor``; an unknown commit is a ForgeError."""
        a, d = await self._resolve(ancestor), await self._resolve(descendant)
        res = await _git(self.path, "merge-base", "--is-ancestor", a, d, check=False)
        if res.returncode not in (0, 1):
            raise ForgeError(f"git merge-base --is-ancestor failed ({res.returncode})")
        return res.returncode == 0

    async def merge_base(self, a: str, b: str) -> str:
        ours, theirs = await self._resolve(a), await self._resolve(b)
        res = await _git(self.path, "merge-base", ours, theirs, check=False)
        sha = res.stdout.decode().strip()
        if res.returncode != 0 or not sha:
            raise ForgeError(f"no common ancestor of {a} and {b}")
        return sha

    async def pr_paths(self, number: int) -> list[str]:
        """``git diff --name-only`` of the PR's head against its merge base with the base (both
        names of a rename). Once merged (the base contains the head), the head against its first
        parent: exact for fluxbot's one-commit branches. A deleted branch has no paths."""
        data = self._data(number)
        head = await self.branch_sha(str(data["branch"]))
        base = await self.branch_sha(str(data["base"]))
        if head is None or base is None:
            return []
        start: str | None = await self.merge_base(base, head)
        if start == head:
            parent = await _git(self.path, "rev-parse", "--verify", "-q", f"{head}^1", check=False)
            start = parent.stdout.decode().strip() if parent.returncode == 0 else None
        if not start:
            return []
        res = await _git(self.path, "diff", "--name-only", "-z", "--no-renames", start, head)
        names = (n.decode("utf-8", "surrogateescape") for n in res.stdout.split(b"\0") if n)
        return sorted(names)[:MAX_PR_PATHS]


__all__ = ["LocalForge"]
