"""Route table and behaviour of the fake GitLab (see :mod:`tests.support.gitlab_fake`).

``route`` takes the raw (still percent-encoded) path after ``/api/v4``: GitLab requires a project
path, file path or branch name inside a URL to be URL-encoded (``group%2Fproject``), so an
unencoded one does not match any route here, exactly as it would 404 on GitLab.
"""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlencode

from tests.support import gitlab_api
from tests.support.gitlab_fake import API, TIMESTAMP, FakeGitLab, HttpError, Project, Violation

Result = tuple[int, Any, dict[str, str]]
Handler = Callable[[FakeGitLab, Project, list[str], str, Any, Any], Result]


def _bool(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def _ids(value: Any) -> list[int]:
    items = value if isinstance(value, list) else str(value).split(",")
    return [int(i) for i in items]


def _params(key: str, query: dict[str, Any], body: Any) -> dict[str, Any]:
    params = dict(query)
    if isinstance(body, dict):
        params |= body
    elif body not in (None, ""):
        raise Violation("body must be JSON")
    problems = gitlab_api.check(gitlab_api.ENDPOINTS[key], params)
    if problems:
        raise Violation("; ".join(problems))
    return params


def _page(fake: FakeGitLab, raw: str, items: list[Any], params: dict[str, Any]) -> Result:
    per_page = min(int(params.get("per_page", 20)), 100)
    page = max(int(params.get("page", 1)), 1)
    chunk = items[(page - 1) * per_page : page * per_page]
    pages = max((len(items) + per_page - 1) // per_page, 1)
    headers = {
        "X-Page": str(page),
        "X-Per-Page": str(per_page),
        "X-Total": str(len(items)),
        "X-Total-Pages": str(pages),
    }
    if page < pages:
        query = {k: v for k, v in params.items() if k in _LIST_KEYS} | {
            "page": page + 1,
            "per_page": per_page,
        }
        headers["X-Next-Page"] = str(page + 1)
        headers["Link"] = f'<{fake.url}{API}{raw}?{urlencode(query)}>; rel="next"'
    return 200, chunk, headers


_LIST_KEYS = {
    "ref",
    "recursive",
    "path",
    "state",
    "order_by",
    "sort",
    "source_branch",
    "target_branch",
    "query",
    "username",
    "all",
    "name",
    "search",
    "regex",
}


def _project(fake: FakeGitLab, ident: str) -> Project:
    for project in fake.projects.values():
        if ident in (str(project.id), project.path):
            return project
    raise HttpError(404, "404 Project Not Found")


def _sha(project: Project, ref: str | None) -> str:
    ref = ref or project.default_branch
    sha = project.branches.get(ref, ref)
    if sha not in project.commits:
        raise HttpError(404, "404 Commit Not Found")
    return sha


def _mr_json(fake: FakeGitLab, project: Project, mr: dict[str, Any]) -> dict[str, Any]:
    out = dict(mr)
    if mr["state"] == "opened" and mr["source_branch"] in project.branches:
        out["sha"] = project.branches[mr["source_branch"]]
    out["web_url"] = f"{fake.url}/{project.path}/-/merge_requests/{mr['iid']}"
    return out


def route(fake: FakeGitLab, method: str, raw: str, query: dict[str, Any], body: Any) -> Result:
    seg = [unquote(s) for s in raw.strip("/").split("/")]
    if seg == ["user"]:
        _params("GET /user", query, body)
        return 200, fake._user(fake.bot), {}
    if seg == ["users"] and method == "GET":
        params = _params("GET /users", query, body)
        names = [params["username"]] if "username" in params else list(fake.users)
        return _page(fake, raw, [fake._user(n) for n in names if n in fake.users], params)
    if len(seg) < 2 or seg[0] != "projects":
        raise Violation(f"no such endpoint: {method} {raw}")
    project = _project(fake, seg[1])
    rest = seg[2:]
    handler = _match(method, rest)
    if handler is None:
        raise Violation(f"no such endpoint: {method} /projects/:id/{'/'.join(rest)}")
    return handler(fake, project, rest, raw, query, body)


def _match(method: str, rest: list[str]) -> Handler | None:
    """The handler whose pattern (``:`` = any one segment) matches ``rest``."""
    for (verb, pattern), handler in _PROJECT_ROUTES.items():
        parts = pattern.split("/") if pattern else []
        same = verb == method and len(parts) == len(rest)
        if same and all(p in (":", s) for p, s in zip(parts, rest, strict=True)):
            return handler
    return None


def _get_project(fake: FakeGitLab, p: Project, rest: list[str], raw: str, q: Any, b: Any) -> Result:
    _params("GET /projects/:id", q, b)
    return 200, p.json(fake.url), {}


def _tree(fake: FakeGitLab, p: Project, rest: list[str], raw: str, q: Any, b: Any) -> Result:
    params = _params("GET /projects/:id/repository/tree", q, b)
    try:
        tree = p.commits[_sha(p, params.get("ref"))].tree
    except HttpError:
        raise HttpError(404, "404 Tree Not Found") from None
    base = str(params.get("path", "")).strip("/")
    recursive = _bool(params.get("recursive", False))
    entries: dict[str, str] = {}
    for path in sorted(tree):
        if base and not path.startswith(base + "/"):
            continue
        rel = path[len(base) + 1 :] if base else path
        parts = rel.split("/")
        for depth in range(1, len(parts)):
            if recursive or depth == 1:
                entries.setdefault("/".join(([base] if base else []) + parts[:depth]), "tree")
        if recursive or len(parts) == 1:
            entries[path] = "blob"
    items = [
        {
            "id": f"{hash(k) & 0xFFFFFFFF:040x}",
            "name": k.rsplit("/", 1)[-1],
            "type": t,
            "path": k,
            "mode": "040000" if t == "tree" else "100644",
        }
        for k, t in sorted(entries.items())
    ]
    return _page(fake, raw, items, params)


def _raw(fake: FakeGitLab, p: Project, rest: list[str], raw: str, q: Any, b: Any) -> Result:
    params = _params("GET /projects/:id/repository/files/:file_path/raw", q, b)
    try:
        text = p.commits[_sha(p, params.get("ref"))].tree.get(rest[2])
    except HttpError:
        text = None
    if text is None:
        raise HttpError(404, "404 File Not Found")
    return 200, text.encode("utf-8", "surrogateescape"), {}


ARCHIVE_FORMATS = ("archive", "archive.tar.gz")


def _archive(fake: FakeGitLab, p: Project, rest: list[str], raw: str, q: Any, b: Any) -> Result:
    """``tar.gz`` of the tree under ``<name>-<sha>-<sha>/``, as GitLab's ``git archive`` makes."""
    params = _params("GET /projects/:id/repository/archive", q, b)
    if rest[1] not in ARCHIVE_FORMATS:
        raise Violation(f"archive format {rest[1]} not supported by the fake")
    fake.archive_requests += 1
    try:
        sha = _sha(p, params.get("sha"))
    except HttpError:
        raise HttpError(404, "404 Not Found") from None
    top = f"{p.path.rsplit('/', 1)[-1]}-{sha}-{sha}"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        tar.pax_headers = {"comment": sha}
        dirs = {top}
        for path, text in sorted(p.commits[sha].tree.items()):
            parts = path.split("/")
            for depth in range(1, len(parts)):
                name = "/".join([top, *parts[:depth]])
                if name not in dirs:
                    dirs.add(name)
                    info = tarfile.TarInfo(name)
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
            data = text.encode("utf-8", "surrogateescape")
            info = tarfile.TarInfo(f"{top}/{path}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return 200, buffer.getvalue(), {"Content-Type": "application/octet-stream"}


def _branch(fake: FakeGitLab, p: Project, rest: list[str], raw: str, q: Any, b: Any) -> Result:
    name = rest[2]
    if name not in p.branches:
        raise HttpError(404, "404 Branch Not Found")
    commit = p.commits[p.branches[name]]
    return (
        200,
        {
            "name": name,
            "commit": commit.json(),
            "merged": False,
            "protected": name == p.default_branch,
            "default": name == p.default_branch,
            "web_url": f"{fake.url}/{p.path}/-/tree/{name}",
        },
        {},
    )


def _list_branches(
    fake: FakeGitLab, p: Project, rest: list[str], raw: str, q: Any, b: Any
) -> Result:
    params = _params("GET /projects/:id/repository/branches", q, b)
    if "search" in params and "regex" in params:
        raise Violation("regex, search are mutually exclusive")
    term = str(params.get("search", ""))
    if "regex" in params:
        rx = re.compile(str(params["regex"]))
        names = [n for n in p.branches if rx.search(n)]
    elif term.startswith("^"):
        names = [n for n in p.branches if n.startswith(term[1:])]
    elif term.endswith("$"):
        names = [n for n in p.branches if n.endswith(term[:-1])]
    else:
        names = [n for n in p.branches if term in n]
    items = [_branch(fake, p, ["repository", "branches", n], raw, q, b)[1] for n in sorted(names)]
    return _page(fake, raw, items, params)


def _get_branch(fake: FakeGitLab, p: Project, rest: list[str], raw: str, q: Any, b: Any) -> Result:
    _params("GET /projects/:id/repository/branches/:branch", q, b)
    return _branch(fake, p, rest, raw, q, b)


def _delete_branch(
    fake: FakeGitLab, p: Project, rest: list[str], raw: str, q: Any, b: Any
) -> Result:
    _params("DELETE /projects/:id/repository/branches/:branch", q, b)
    if rest[2] not in p.branches:
        raise HttpError(404, "404 Branch Not Found")
    del p.branches[rest[2]]
    return 204, None, {}


def _create_commit(
    fake: FakeGitLab, p: Project, rest: list[str], raw: str, q: Any, b: Any
) -> Result:
    params = _params("POST /projects/:id/repository/commits", q, b)
    if "start_branch" in params and "start_sha" in params:
        raise Violation("start_branch, start_sha are mutually exclusive")
    branch = params["branch"]
    force = _bool(params.get("force", False))
    if branch in p.branches and not force:
        parent = p.branches[branch]
    elif "start_sha" in params or "start_branch" in params:
        start = params.get("start_sha") or params["start_branch"]
        if start not in p.commits and start not in p.branches:
            raise HttpError(400, f"Invalid start {start}")
        parent = _sha(p, start)
    elif branch in p.branches:
        parent = p.branches[branch]
    else:
        raise HttpError(400, "You can only create or edit files when you are on a branch")
    tree = dict(p.commits[parent].tree)
    for action in params["actions"]:
        path, kind = action["file_path"], action["action"]
        if kind == "create" and path in tree:
            raise HttpError(400, "A file with this name already exists")
        if kind in ("update", "delete") and path not in tree:
            raise HttpError(400, "A file with this name doesn't exist")
        if kind == "delete":
            del tree[path]
        elif kind in ("create", "update"):
            if "content" not in action:
                raise Violation(f"actions: content is required for {kind}")
            tree[path] = action["content"]
        else:
            raise Violation(f"action {kind} not supported by the fake")
    commit = fake._commit(p, [parent], tree, params["commit_message"])
    p.branches[branch] = commit.id
    return 201, commit.json() | {"stats": {"additions": 1, "deletions": 1, "total": 2}}, {}


def _get_commit(fake: FakeGitLab, p: Project, rest: list[str], raw: str, q: Any, b: Any) -> Result:
    _params("GET /projects/:id/repository/commits/:sha", q, b)
    return 200, p.commits[_sha(p, rest[2])].json(), {}


def _commitish(p: Project, ref: str) -> str:
    """A branch name, a full sha or a unique abbreviated one (at least 7 hex digits)."""
    sha = p.branches.get(ref, ref)
    if sha not in p.commits and len(ref) >= 7:
        found = [c for c in p.commits if c.startswith(ref)]
        sha = found[0] if len(found) == 1 else sha
    return sha


def _merge_base(fake: FakeGitLab, p: Project, rest: list[str], raw: str, q: Any, b: Any) -> Result:
    """repositories.md "Merge base": 400 for unknown refs, 404 when there is no common one."""
    refs = _params("GET /projects/:id/repository/merge_base", q, b)["refs[]"]
    if len(refs) < 2:
        raise HttpError(400, "Provide at least 2 refs")
    shas = [_commitish(p, ref) for ref in refs]
    unknown = [ref for ref, sha in zip(refs, shas, strict=True) if sha not in p.commits]
    if unknown:
        raise HttpError(
            400, f"Could not find ref{'s' if len(unknown) > 1 else ''}: " + ", ".join(unknown)
        )
    base: str | None = shas[0]
    for sha in shas[1:]:
        base = fake.merge_base(p.path, base, sha) if base else None
    if base is None:
        raise HttpError(404, "404 Merge Base Not Found")
    return 200, p.commits[base].json(), {}


def _mr_diffs(fake: FakeGitLab, p: Project, rest: list[str], raw: str, q: Any, b: Any) -> Result:
    """merge_requests.md "List merge request diffs": the source head against the merge base
    with the target (for a merged MR, the target as it was: the merge commit's first parent)."""
    params = _params("GET /projects/:id/merge_requests/:iid/diffs", q, b)
    mr = _mr(p, rest[1])
    if mr["state"] == "merged" and mr.get("merge_commit_sha"):
        target, head = p.commits[mr["merge_commit_sha"]].parent_ids[:2]
    else:
        target = p.branches[mr["target_branch"]]
        head = p.branches[mr["source_branch"]]
    base = fake.merge_base(p.path, target, head)
    old = p.commits[base].tree if base else {}
    new = p.commits[head].tree
    added = [f for f in new if f not in old]
    removed = [f for f in old if f not in new]
    items: list[dict[str, Any]] = []
    for path in sorted(set(new) | set(old)):
        if path in new and path in old and new[path] == old[path]:
            continue
        if path in removed:
            continue
        source = next((r for r in removed if old[r] == new[path]), None) if path in added else None
        if source is not None:
            removed.remove(source)
        items.append({
            "old_path": source or path, "new_path": path, "a_mode": "100644", "b_mode": "100644",
            "diff": "", "new_file": path in added and source is None,
            "renamed_file": source is not None, "deleted_file": False, "generated_file": False,
        })  # fmt: skip
    for path in removed:
        items.append({
            "old_path": path, "new_path": path, "a_mode": "100644", "b_mode": "0", "diff": "",
            "new_file": False, "renamed_file": False, "deleted_file": True,
            "generated_file": False,
        })  # fmt: skip
    return _page(fake, raw, items, params)


def _list_statuses(
    fake: FakeGitLab, p: Project, rest: list[str], raw: str, q: Any, b: Any
) -> Result:
    params = _params("GET /projects/:id/repository/commits/:sha/statuses", q, b)
    found = p.statuses.get(rest[2], [])
    if not _bool(params.get("all", False)):
        latest: dict[str, dict[str, Any]] = {}
        for status in found:
            latest[status["name"]] = status
        found = sorted(latest.values(), key=lambda s: -int(s["id"]))
    return _page(fake, raw, found, params)


def _post_status(fake: FakeGitLab, p: Project, rest: list[str], raw: str, q: Any, b: Any) -> Result:
    params = _params("POST /projects/:id/statuses/:sha", q, b)
    sha = rest[1]
    if sha not in p.commits:
        raise HttpError(404, "404 Commit Not Found")
    name = params.get("name") or params.get("context") or "default"
    for field_name in ("target_url", "description", "ref"):
        if len(str(params.get(field_name, ""))) > 255:
            raise Violation(f"{field_name} is too long (maximum is 255 characters)")
    previous = [s for s in p.statuses.get(sha, []) if s["name"] == name]
    if previous and previous[-1]["status"] == params["state"]:
        state = params["state"]
        raise HttpError(400, f"Cannot transition status via :{state} from :{state}")
    status = {
        "id": sum(len(v) for v in p.statuses.values()) + 1,
        "sha": sha,
        "ref": params.get("ref"),
        "status": params["state"],
        "name": name,
        "target_url": params.get("target_url"),
        "description": params.get("description"),
        "created_at": TIMESTAMP,
        "author": fake._user(fake.bot),
    }
    p.statuses.setdefault(sha, []).append(status)
    return 201, status, {}


def _list_mrs(fake: FakeGitLab, p: Project, rest: list[str], raw: str, q: Any, b: Any) -> Result:
    params = _params("GET /projects/:id/merge_requests", q, b)
    state = params.get("state", "all")
    found = [
        _mr_json(fake, p, mr)
        for mr in p.mrs.values()
        if state in ("all", mr["state"])
        and params.get("source_branch", mr["source_branch"]) == mr["source_branch"]
        and params.get("target_branch", mr["target_branch"]) == mr["target_branch"]
    ]
    found.sort(key=lambda mr: int(mr["iid"]), reverse=params.get("sort", "desc") == "desc")
    return _page(fake, raw, found, params)


def _create_mr(fake: FakeGitLab, p: Project, rest: list[str], raw: str, q: Any, b: Any) -> Result:
    params = _params("POST /projects/:id/merge_requests", q, b)
    source, target = params["source_branch"], params["target_branch"]
    if source not in p.branches or target not in p.branches:
        raise HttpError(400, {"source_branch": ["does not exist"]})
    for mr in p.mrs.values():
        same = (mr["source_branch"], mr["target_branch"]) == (source, target)
        if same and mr["state"] == "opened":
            msg = f"Another open merge request already exists for this source branch: !{mr['iid']}"
            raise HttpError(409, [msg])
    iid = max(p.mrs, default=0) + 1
    labels = [x for x in str(params.get("labels", "")).split(",") if x]
    mr = {
        "id": 9000 + iid,
        "iid": iid,
        "project_id": p.id,
        "title": params["title"],
        "description": params.get("description", ""),
        "state": "opened",
        "source_branch": source,
        "target_branch": target,
        "source_project_id": p.id,
        "target_project_id": p.id,
        "labels": labels,
        "sha": p.branches[source],
        "merge_commit_sha": None,
        "squash_commit_sha": None,
        "author": fake._user(fake.bot),
        "assignees": [_by_id(fake, i) for i in _ids(params.get("assignee_ids", []))],
        "reviewers": [_by_id(fake, i) for i in _ids(params.get("reviewer_ids", []))],
        "force_remove_source_branch": _bool(params.get("remove_source_branch", False)),
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
    }
    p.mrs[iid] = mr
    return 201, _mr_json(fake, p, mr), {}


def _by_id(fake: FakeGitLab, user_id: int) -> dict[str, Any]:
    for name, uid in fake.users.items():
        if uid == user_id:
            return fake._user(name)
    raise HttpError(404, "404 User Not Found")


def _mr(p: Project, iid: str) -> dict[str, Any]:
    mr = p.mrs.get(int(iid))
    if mr is None:
        raise HttpError(404, "404 Not found")
    return mr


def _get_mr(fake: FakeGitLab, p: Project, rest: list[str], raw: str, q: Any, b: Any) -> Result:
    _params("GET /projects/:id/merge_requests/:iid", q, b)
    return 200, _mr_json(fake, p, _mr(p, rest[1])), {}


def _update_mr(fake: FakeGitLab, p: Project, rest: list[str], raw: str, q: Any, b: Any) -> Result:
    params = _params("PUT /projects/:id/merge_requests/:iid", q, b)
    if not any(k in params for k in gitlab_api.UPDATE_MR_ONE_OF):
        raise Violation("at least one parameter of the update is required")
    mr = _mr(p, rest[1])
    for key in ("title", "description", "target_branch"):
        if key in params:
            mr[key] = params[key]
    if "labels" in params:
        mr["labels"] = [x for x in str(params["labels"]).split(",") if x]
    if "add_labels" in params:
        new = [x for x in str(params["add_labels"]).split(",") if x and x not in mr["labels"]]
        mr["labels"] = [*mr["labels"], *new]
    if "reviewer_ids" in params:
        mr["reviewers"] = [_by_id(fake, i) for i in _ids(params["reviewer_ids"])]
    if "remove_source_branch" in params:
        mr["force_remove_source_branch"] = _bool(params["remove_source_branch"])
    event = params.get("state_event")
    if event == "close" and mr["state"] == "opened":
        mr["state"] = "closed"
    elif event == "reopen" and mr["state"] == "closed":
        mr["state"] = "opened"
    return 200, _mr_json(fake, p, mr), {}


def _list_notes(fake: FakeGitLab, p: Project, rest: list[str], raw: str, q: Any, b: Any) -> Result:
    params = _params("GET /projects/:id/merge_requests/:iid/notes", q, b)
    _mr(p, rest[1])
    notes = list(p.notes.get(int(rest[1]), []))
    if params.get("sort", "desc") == "desc":
        notes.reverse()
    return _page(fake, raw, notes, params)


def _create_note(fake: FakeGitLab, p: Project, rest: list[str], raw: str, q: Any, b: Any) -> Result:
    params = _params("POST /projects/:id/merge_requests/:iid/notes", q, b)
    _mr(p, rest[1])
    if not params["body"]:
        raise Violation("body is empty")
    return 201, fake._note(p, int(rest[1]), params["body"], fake.bot, False), {}


def _find_note(p: Project, iid: str, note_id: str) -> dict[str, Any]:
    for note in p.notes.get(int(iid), []):
        if str(note["id"]) == note_id:
            return note
    raise HttpError(404, "404 Note Not Found")


def _update_note(fake: FakeGitLab, p: Project, rest: list[str], raw: str, q: Any, b: Any) -> Result:
    params = _params("PUT /projects/:id/merge_requests/:iid/notes/:note_id", q, b)
    note = _find_note(p, rest[1], rest[3])
    if note["author"]["username"] != fake.bot:
        raise HttpError(403, "403 Forbidden")
    if "body" in params:
        note["body"] = params["body"]
    return 200, note, {}


def _list_emoji(fake: FakeGitLab, p: Project, rest: list[str], raw: str, q: Any, b: Any) -> Result:
    params = _params("GET /projects/:id/merge_requests/:iid/notes/:note_id/award_emoji", q, b)
    note = _find_note(p, rest[1], rest[3])
    return _page(fake, raw, p.emoji.get(int(note["id"]), []), params)


def _award(fake: FakeGitLab, p: Project, rest: list[str], raw: str, q: Any, b: Any) -> Result:
    params = _params("POST /projects/:id/merge_requests/:iid/notes/:note_id/award_emoji", q, b)
    note = _find_note(p, rest[1], rest[3])
    awards = p.emoji.setdefault(int(note["id"]), [])
    if any(a["name"] == params["name"] and a["user"]["username"] == fake.bot for a in awards):
        raise HttpError(404, "404 Award Emoji Name has already been taken Not Found")
    award = {
        "id": len(awards) + 1,
        "name": params["name"],
        "user": fake._user(fake.bot),
        "awardable_id": note["id"],
        "awardable_type": "Note",
        "created_at": TIMESTAMP,
    }
    awards.append(award)
    return 201, award, {}


def _member_json(fake: FakeGitLab, name: str, level: int, state: str) -> dict[str, Any]:
    return fake._user(name) | {"access_level": level, "state": state}


def _members(fake: FakeGitLab, p: Project, rest: list[str], raw: str, q: Any, b: Any) -> Result:
    params = _params("GET /projects/:id/members/all", q, b)
    needle = str(params.get("query", "")).lower()
    found = [
        _member_json(fake, name, level, state)
        for name, (level, state) in sorted(p.members.items())
        if needle in name.lower()
    ]
    return _page(fake, raw, found, params)


def _member(fake: FakeGitLab, p: Project, rest: list[str], raw: str, q: Any, b: Any) -> Result:
    _params("GET /projects/:id/members/all/:user_id", q, b)
    for name, (level, state) in p.members.items():
        if str(fake.users[name]) == rest[2]:
            return 200, _member_json(fake, name, level, state), {}
    raise HttpError(404, "404 Not found")


_PROJECT_ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", ""): _get_project,
    ("GET", "repository/tree"): _tree,
    ("GET", "repository/files/:/raw"): _raw,
    ("GET", "repository/branches"): _list_branches,  # before "repository/:" (the archive)
    ("GET", "repository/merge_base"): _merge_base,
    ("GET", "repository/:"): _archive,
    ("GET", "repository/branches/:"): _get_branch,
    ("DELETE", "repository/branches/:"): _delete_branch,
    ("POST", "repository/commits"): _create_commit,
    ("GET", "repository/commits/:"): _get_commit,
    ("GET", "repository/commits/:/statuses"): _list_statuses,
    ("POST", "statuses/:"): _post_status,
    ("GET", "merge_requests"): _list_mrs,
    ("POST", "merge_requests"): _create_mr,
    ("GET", "merge_requests/:"): _get_mr,
    ("PUT", "merge_requests/:"): _update_mr,
    ("GET", "merge_requests/:/diffs"): _mr_diffs,
    ("GET", "merge_requests/:/notes"): _list_notes,
    ("POST", "merge_requests/:/notes"): _create_note,
    ("PUT", "merge_requests/:/notes/:"): _update_note,
    ("GET", "merge_requests/:/notes/:/award_emoji"): _list_emoji,
    ("POST", "merge_requests/:/notes/:/award_emoji"): _award,
    ("GET", "members/all"): _members,
    ("GET", "members/all/:"): _member,
}
