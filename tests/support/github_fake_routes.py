"""Route handlers of the fake GitHub (sync functions; the middleware holds ``fake.lock``)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.support.github_fake_state import BODY, WHO, Comment, Pull, Repo, Status, now_iso

if TYPE_CHECKING:
    from tests.support.github_fake import FakeGitHub

Handler = Callable[["FakeGitHub", web.Request], web.Response]
ROUTES: list[tuple[str, str, Handler]] = []
R = "/repos/{owner}/{name}"
CODELOAD = "/_codeload/"
PERMISSION = {
    "admin": "admin",
    "maintain": "write",
    "write": "write",
    "triage": "read",
    "read": "read",
}


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        ROUTES.append((method, pattern, fn))
        return fn

    return register


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(data, status=status, headers=headers)


def _error(status: int, message: str) -> web.Response:
    return _json({"message": message, "documentation_url": "https://docs.github.com/rest"}, status)


def _repo(fake: FakeGitHub, request: web.Request) -> Repo:
    name = f"{request.match_info['owner']}/{request.match_info['name']}"
    repo = fake.repos.get(name)
    if repo is None:
        raise web.HTTPNotFound(text='{"message":"Not Found"}', content_type="application/json")
    who = request[WHO]
    if who.installation is not None and name not in fake.installations.get(who.installation, []):
        raise web.HTTPNotFound(text='{"message":"Not Found"}', content_type="application/json")
    return repo


def _page(fake: FakeGitHub, request: web.Request, items: list[Any]) -> web.Response:
    per_page = int(request.query.get("per_page", "30"))
    page = int(request.query.get("page", "1"))
    chunk = items[(page - 1) * per_page : page * per_page]
    headers = {}
    if page * per_page < len(items):
        query = dict(request.query)
        query["page"] = str(page + 1)
        nxt = request.url.with_query(query)
        headers["Link"] = f'<{fake.url}{nxt.path_qs}>; rel="next"'
    return _json(chunk, headers=headers)


def _user(login: str, type_: str = "User") -> dict[str, Any]:
    return {"login": login, "id": abs(hash(login)) % 10**6, "type": type_}


def render_pull(fake: FakeGitHub, repo: Repo, p: Pull) -> dict[str, Any]:
    head_sha = p.head_sha_closed if p.state == "closed" else repo.refs.get(f"heads/{p.head}")
    return {
        "number": p.number,
        "id": p.number + 7000,
        "state": p.state,
        "title": p.title,
        "body": p.body,
        "user": _user(p.user, p.user_type),
        "labels": [{"name": n} for n in p.labels],
        "requested_reviewers": [_user(r) for r in p.reviewers],
        "requested_teams": [{"slug": t} for t in p.team_reviewers],
        "assignees": [_user(a) for a in p.assignees],
        "head": {
            "ref": p.head,
            "sha": head_sha or "",
            "label": f"{repo.full_name.split('/')[0]}:{p.head}",
            "repo": {"full_name": repo.full_name},
        },
        "base": {
            "ref": p.base,
            "sha": repo.refs.get(f"heads/{p.base}", ""),
            "repo": {"full_name": repo.full_name},
        },
        "merged": p.merged,
        "merged_at": p.closed_at if p.merged else None,
        "merge_commit_sha": p.merge_commit_sha,
        "closed_at": p.closed_at,
        "created_at": p.created_at,
        "html_url": f"https://github.test/{repo.full_name}/pull/{p.number}",
        "draft": False,
    }


def _comment(c: Comment) -> dict[str, Any]:
    return {
        "id": c.id,
        "body": c.body,
        "user": _user(c.user, c.user_type),
        "created_at": c.created_at,
    }


# -- repository, refs, git objects ------------------------------------------------------------
@route("GET", R)
def get_repo(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo = _repo(fake, request)
    return _json(
        {
            "id": repo.id,
            "full_name": repo.full_name,
            "default_branch": repo.default_branch,
            "private": True,
            "name": repo.full_name.split("/")[1],
        }
    )


@route("GET", R + "/git/ref/{ref:.+}")
def get_ref(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo = _repo(fake, request)
    ref = request.match_info["ref"]
    if ref not in repo.refs:
        return _error(404, "Not Found")
    return _json({"ref": f"refs/{ref}", "object": {"sha": repo.refs[ref], "type": "commit"}})


@route("GET", R + "/git/matching-refs/{ref:.+}")
def matching_refs(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo = _repo(fake, request)
    prefix = request.match_info["ref"]
    return _json(
        [
            {"ref": f"refs/{name}", "object": {"sha": sha, "type": "commit"}}
            for name, sha in sorted(repo.refs.items())
            if name.startswith(prefix)
        ]
    )


@route("POST", R + "/git/refs")
def create_ref(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo = _repo(fake, request)
    data = request[BODY]
    name = str(data["ref"]).removeprefix("refs/")
    if not str(data["ref"]).startswith("refs/") or name in repo.refs:
        return _error(422, "Reference already exists")
    if data["sha"] not in repo.commits:
        return _error(422, "Object does not exist")
    repo.refs[name] = data["sha"]
    return _json({"ref": data["ref"], "object": {"sha": data["sha"], "type": "commit"}}, 201)


@route("PATCH", R + "/git/refs/{ref:.+}")
def update_ref(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo = _repo(fake, request)
    ref, data = request.match_info["ref"], request[BODY]
    if ref not in repo.refs:
        return _error(422, "Reference does not exist")
    if data["sha"] not in repo.commits:
        return _error(422, "Object does not exist")
    if not data.get("force") and not repo.is_ancestor(repo.refs[ref], data["sha"]):
        return _error(422, "Update is not a fast forward")
    repo.refs[ref] = data["sha"]
    return _json({"ref": f"refs/{ref}", "object": {"sha": data["sha"], "type": "commit"}})


@route("DELETE", R + "/git/refs/{ref:.+}")
def delete_ref(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo = _repo(fake, request)
    if repo.refs.pop(request.match_info["ref"], None) is None:
        return _error(422, "Reference does not exist")
    return web.Response(status=204)


@route("GET", R + "/git/commits/{sha}")
def get_git_commit(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo = _repo(fake, request)
    c = repo.commits.get(request.match_info["sha"])
    if c is None:
        return _error(404, "Not Found")
    return _json(
        {
            "sha": c.sha,
            "tree": {"sha": c.tree},
            "parents": [{"sha": p} for p in c.parents],
            "message": c.message,
        }
    )


@route("POST", R + "/git/commits")
def create_commit(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo = _repo(fake, request)
    data = request[BODY]
    if data["tree"] not in repo.trees or any(
        p not in repo.commits for p in data.get("parents", [])
    ):
        return _error(422, "Tree or parent does not exist")
    sha = repo.put_commit(
        data["tree"], list(data.get("parents", [])), data["message"], request[WHO].login
    )
    return _json(
        {
            "sha": sha,
            "tree": {"sha": data["tree"]},
            "parents": [{"sha": p} for p in data["parents"]],
            "message": data["message"],
        },
        201,
    )


@route("GET", R + "/git/trees/{sha:.+}")
def get_tree(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo = _repo(fake, request)
    key = request.match_info["sha"]
    if key not in repo.trees:
        commit = repo.resolve(key)
        if commit is None:
            return _error(404, "Not Found")
        key = repo.commits[commit].tree
    flat = repo.trees[key]
    recursive = "recursive" in request.query
    entries: list[dict[str, Any]] = []
    dirs: set[str] = set()
    for path, (mode, blob) in sorted(flat.items()):
        parts = path.split("/")
        for i in range(1, len(parts)):
            d = "/".join(parts[:i])
            if d not in dirs and (recursive or i == 1):
                dirs.add(d)
                entries.append(
                    {"path": d, "mode": "040000", "type": "tree", "sha": repo.subtree(key, d + "/")}
                )
        if recursive or len(parts) == 1:
            entries.append(
                {
                    "path": path,
                    "mode": mode,
                    "type": "blob",
                    "sha": blob,
                    "size": len(repo.blobs[blob]),
                }
            )
    truncated = fake_limit(fake) is not None and recursive and len(entries) > fake_limit(fake)  # type: ignore[operator]
    if truncated:
        entries = entries[: fake_limit(fake)]
    return _json({"sha": key, "tree": entries, "truncated": bool(truncated)})


def fake_limit(fake: FakeGitHub) -> int | None:
    return getattr(fake, "tree_limit", None)


@route("POST", R + "/git/trees")
def create_tree(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo = _repo(fake, request)
    data = request[BODY]
    base = data.get("base_tree")
    if base and base not in repo.trees:
        return _error(422, "base_tree is not a tree")
    flat = dict(repo.trees[base]) if base else {}
    for entry in data["tree"]:
        if "content" in entry:
            flat[entry["path"]] = (entry["mode"], repo.put_blob(str(entry["content"]).encode()))
        elif entry.get("sha") is None:
            flat.pop(entry["path"], None)
        elif entry["sha"] in repo.blobs:
            flat[entry["path"]] = (entry["mode"], entry["sha"])
        else:
            return _error(422, "sha is not a blob")
    sha = repo.put_tree(flat)
    return _json({"sha": sha, "tree": [], "truncated": False}, 201)


@route("GET", R + "/git/blobs/{sha}")
def get_blob(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo = _repo(fake, request)
    data = repo.blobs.get(request.match_info["sha"])
    if data is None:
        return _error(404, "Not Found")
    return _json(
        {
            "sha": request.match_info["sha"],
            "size": len(data),
            "encoding": "base64",
            "content": base64.encodebytes(data).decode(),
        }
    )


@route("POST", R + "/git/blobs")
def create_blob(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo = _repo(fake, request)
    data = request[BODY]
    raw = (
        base64.b64decode(data["content"])
        if data.get("encoding") == "base64"
        else str(data["content"]).encode()
    )
    return _json({"sha": repo.put_blob(raw)}, 201)


@route("GET", R + "/contents/{path:.+}")
def get_contents(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo = _repo(fake, request)
    sha = repo.resolve(request.query.get("ref", repo.default_branch))
    path = request.match_info["path"]
    flat = repo.trees[repo.commits[sha].tree] if sha else {}
    if path not in flat:
        return _error(404, "Not Found")
    blob = flat[path][1]
    return _json(
        {
            "type": "file",
            "path": path,
            "sha": blob,
            "encoding": "base64",
            "content": base64.encodebytes(repo.blobs[blob]).decode(),
        }
    )


# -- commits and statuses ---------------------------------------------------------------------
@route("GET", R + "/commits/{ref}/status")
def combined_status(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo = _repo(fake, request)
    sha = repo.resolve(request.match_info["ref"]) or ""
    mine = [s for s in reversed(repo.statuses) if s.sha == sha]
    return _json(
        {
            "sha": sha,
            "state": mine[0].state if mine else "pending",
            "total_count": len(mine),
            "statuses": [
                {
                    "context": s.context,
                    "state": s.state,
                    "description": s.description,
                    "target_url": s.target_url,
                    "id": s.id,
                }
                for s in mine
            ],
        }
    )


@route("GET", R + "/commits/{ref}")
def get_commit(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo = _repo(fake, request)
    sha = repo.resolve(request.match_info["ref"])
    if sha is None:
        return _error(404, "Not Found")
    c = repo.commits[sha]
    return _json(
        {
            "sha": sha,
            "parents": [{"sha": p} for p in c.parents],
            "files": repo.diff(sha),
            "commit": {"message": c.message, "tree": {"sha": c.tree}},
        }
    )


@route("POST", R + "/statuses/{sha}")
def create_status(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo = _repo(fake, request)
    d = request[BODY]
    status = Status(
        request.match_info["sha"],
        d.get("context", "default"),
        d["state"],
        d.get("description", ""),
        d.get("target_url"),
        fake.next_id(),
    )
    repo.statuses.append(status)
    return _json({"id": status.id, "state": status.state, "context": status.context}, 201)


# -- pull requests ---------------------------------------------------------------------------
@route("GET", R + "/pulls")
def list_pulls(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo = _repo(fake, request)
    q = request.query
    state = q.get("state", "open")
    pulls = [p for p in repo.pulls.values() if state == "all" or p.state == state]
    if "head" in q:
        owner, _, branch = q["head"].partition(":")
        pulls = [p for p in pulls if p.head == branch and repo.full_name.startswith(owner + "/")]
    if "base" in q:
        pulls = [p for p in pulls if p.base == q["base"]]
    pulls.sort(
        key=lambda p: p.number,
        reverse=q.get("direction", "desc" if "sort" in q else "asc") == "desc",
    )
    return _page(fake, request, [render_pull(fake, repo, p) for p in pulls])


@route("POST", R + "/pulls")
def create_pull(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo = _repo(fake, request)
    d = request[BODY]
    if f"heads/{d['head']}" not in repo.refs or f"heads/{d['base']}" not in repo.refs:
        return _json(
            {
                "message": "Validation Failed",
                "errors": [{"resource": "PullRequest", "field": "head", "code": "invalid"}],
            },
            422,
        )
    if any(p.head == d["head"] and p.state == "open" for p in repo.pulls.values()):
        return _json(
            {
                "message": "Validation Failed",
                "errors": [
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"A pull request already exists for {d['head']}.",
                    }
                ],
            },
            422,
        )
    who = request[WHO]
    pull = Pull(
        repo.next_number,
        d["head"],
        d["base"],
        d.get("title", ""),
        d.get("body") or "",
        who.login,
        who.type,
    )
    repo.next_number += 1
    repo.pulls[pull.number] = pull
    return _json(render_pull(fake, repo, pull), 201)


def _pull(fake: FakeGitHub, request: web.Request) -> tuple[Repo, Pull]:
    repo = _repo(fake, request)
    pull = repo.pulls.get(int(request.match_info["number"]))
    if pull is None:
        raise web.HTTPNotFound(text='{"message":"Not Found"}', content_type="application/json")
    return repo, pull


@route("GET", R + "/pulls/{number}")
def get_pull(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo, pull = _pull(fake, request)
    return _json(render_pull(fake, repo, pull))


@route("PATCH", R + "/pulls/{number}")
def update_pull(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo, pull = _pull(fake, request)
    d = request[BODY]
    pull.title = d.get("title", pull.title)
    pull.body = d.get("body", pull.body)
    pull.base = d.get("base", pull.base)
    if d.get("state") == "closed" and pull.state == "open":
        pull.head_sha_closed = repo.refs.get(f"heads/{pull.head}")
        pull.state, pull.closed_at = "closed", now_iso()
    elif d.get("state") == "open" and not pull.merged:
        pull.state, pull.closed_at = "open", None
    return _json(render_pull(fake, repo, pull))


@route("POST", R + "/pulls/{number}/requested_reviewers")
def request_reviewers(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo, pull = _pull(fake, request)
    d = request[BODY]
    for login in d.get("reviewers", []):
        if login not in repo.collaborators:
            return _json({"message": "Reviews may only be requested from collaborators."}, 422)
    pull.reviewers += [r for r in d.get("reviewers", []) if r not in pull.reviewers]
    pull.team_reviewers += [t for t in d.get("team_reviewers", []) if t not in pull.team_reviewers]
    return _json(render_pull(fake, repo, pull), 201)


@route("GET", R + "/pulls/{number}/files")
def pull_files(fake: FakeGitHub, request: web.Request) -> web.Response:
    """The PR's files: its head against the merge base with the base it targets (for a merged
    PR, the base as it was when merged: the merge commit's first parent)."""
    repo, pull = _pull(fake, request)
    head = pull.head_sha_closed or repo.refs.get(f"heads/{pull.head}")
    base: str | None
    if pull.merged and pull.merge_commit_sha:
        base = repo.commits[pull.merge_commit_sha].parents[0]
    else:
        base = repo.refs.get(f"heads/{pull.base}")
    if head is None or base is None:
        return _page(fake, request, [])
    files = repo.tree_diff(repo.merge_base(base, head), head)
    return _page(fake, request, files[:3000])


@route("GET", R + "/compare/{basehead:.+}")
def compare(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo = _repo(fake, request)
    a, sep, b = request.match_info["basehead"].partition("...")
    base, head = repo.resolve(a), repo.resolve(b)
    if not sep or base is None or head is None:
        return _error(404, "Not Found")
    mb = repo.merge_base(base, head)
    if mb is None:
        return _error(404, "No common ancestor between the two commits.")
    ahead = [c for c in repo.ancestors(head) if not repo.is_ancestor(c, base)]
    behind = [c for c in repo.ancestors(base) if not repo.is_ancestor(c, head)]
    status = (
        "identical"
        if not ahead and not behind
        else "ahead"
        if not behind
        else "behind"
        if not ahead
        else "diverged"
    )
    return _json(
        {
            "status": status,
            "ahead_by": len(ahead),
            "behind_by": len(behind),
            "total_commits": len(ahead),
            "merge_base_commit": {"sha": mb},
            "base_commit": {"sha": base},
            "commits": [{"sha": c} for c in ahead[:1]],
            "files": repo.tree_diff(mb, head)[:300],
        }
    )


# -- issues: labels, comments, reactions ------------------------------------------------------
@route("POST", R + "/issues/{number}/assignees")
def add_assignees(fake: FakeGitHub, request: web.Request) -> web.Response:
    """GitHub silently skips logins that cannot be assigned (not collaborators)."""
    repo, pull = _pull(fake, request)
    for login in request[BODY].get("assignees", []):
        if login in repo.collaborators and login not in pull.assignees:
            pull.assignees.append(login)
    return _json(render_pull(fake, repo, pull), 201)


@route("POST", R + "/issues/{number}/labels")
def add_labels(fake: FakeGitHub, request: web.Request) -> web.Response:
    _, pull = _pull(fake, request)
    d = request[BODY]
    names = d["labels"] if isinstance(d, dict) else d
    names = [n if isinstance(n, str) else n["name"] for n in names]
    pull.labels += [n for n in names if n not in pull.labels]
    return _json([{"name": n, "id": abs(hash(n)) % 10**6} for n in pull.labels])


@route("GET", R + "/issues/{number}/comments")
def list_comments(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo = _repo(fake, request)
    n = int(request.match_info["number"])
    items = [
        _comment(c) for c in sorted(repo.comments.values(), key=lambda c: c.id) if c.issue == n
    ]
    return _page(fake, request, items)


@route("POST", R + "/issues/{number}/comments")
def create_comment(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo = _repo(fake, request)
    who = request[WHO]
    c = Comment(
        fake.next_id(),
        int(request.match_info["number"]),
        request[BODY]["body"],
        who.login,
        who.type,
    )
    repo.comments[c.id] = c
    return _json(_comment(c), 201)


@route("PATCH", R + "/issues/comments/{id}")
def update_comment(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo = _repo(fake, request)
    c = repo.comments.get(int(request.match_info["id"]))
    if c is None:
        return _error(404, "Not Found")
    c.body = request[BODY]["body"]
    return _json(_comment(c))


@route("POST", R + "/issues/comments/{id}/reactions")
def add_reaction(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo = _repo(fake, request)
    cid = int(request.match_info["id"])
    if cid not in repo.comments:
        return _error(404, "Not Found")
    entry = (request[WHO].login, request[BODY]["content"])
    have = repo.reactions.setdefault(cid, [])
    body = {"id": fake.next_id(), "content": entry[1], "user": _user(entry[0])}
    if entry in have:
        return _json(body, 200)
    have.append(entry)
    return _json(body, 201)


@route("GET", R + "/collaborators/{user}/permission")
def permission(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo = _repo(fake, request)
    user = request.match_info["user"]
    if user not in repo.collaborators:
        return _error(404, f"{user} is not a user")
    role = repo.collaborators[user]
    return _json(
        {"permission": PERMISSION.get(role, "none"), "role_name": role, "user": _user(user)}
    )


# -- apps and installations ------------------------------------------------------------------
def _require_app(request: web.Request) -> None:
    if request[WHO].type != "App":
        raise web.HTTPUnauthorized(
            text='{"message":"A JSON web token could not be decoded"}',
            content_type="application/json",
        )


@route("GET", R + "/installation")
def repo_installation(fake: FakeGitHub, request: web.Request) -> web.Response:
    _require_app(request)
    name = f"{request.match_info['owner']}/{request.match_info['name']}"
    for inst, repos in fake.installations.items():
        if name in repos:
            return _json({"id": inst, "account": _user(name.split("/")[0])})
    return _error(404, "Not Found")


@route("GET", "/user")
def authenticated_user(fake: FakeGitHub, request: web.Request) -> web.Response:
    who = request[WHO]
    if who.type == "App" or who.installation is not None:
        return _error(403, "Resource not accessible by integration")
    return _json(_user(who.login, who.type))


@route("GET", "/app")
def get_app(fake: FakeGitHub, request: web.Request) -> web.Response:
    _require_app(request)
    return _json({"id": int(fake.app_id), "slug": fake.app_slug, "name": fake.app_slug})


@route("GET", "/app/installations")
def app_installations(fake: FakeGitHub, request: web.Request) -> web.Response:
    _require_app(request)
    return _page(
        fake,
        request,
        [
            {"id": i, "account": _user(r[0].split("/")[0] if r else "x")}
            for i, r in sorted(fake.installations.items())
        ],
    )


@route("GET", "/app/hook/deliveries")
def hook_deliveries(fake: FakeGitHub, request: web.Request) -> web.Response:
    """Newest first, cursor-paginated like GitHub (``cursor`` in the next Link)."""
    _require_app(request)
    per_page = int(request.query.get("per_page", "30"))
    start = int(request.query.get("cursor", "0") or 0)
    chunk = fake.hook_deliveries[start : start + per_page]
    headers = {}
    if start + per_page < len(fake.hook_deliveries):
        query = {**request.query, "cursor": str(start + per_page)}
        headers["Link"] = f'<{fake.url}{request.url.with_query(query).path_qs}>; rel="next"'
    return _json(chunk, headers=headers)


@route("POST", "/app/hook/deliveries/{id}/attempts")
def redeliver(fake: FakeGitHub, request: web.Request) -> web.Response:
    _require_app(request)
    ident = int(request.match_info["id"])
    if not any(d["id"] == ident for d in fake.hook_deliveries):
        return _error(404, "Not Found")
    fake.redelivered.append(ident)
    return _json({}, 202)


@route("POST", "/app/installations/{id}/access_tokens")
def access_token(fake: FakeGitHub, request: web.Request) -> web.Response:
    _require_app(request)
    inst = int(request.match_info["id"])
    if inst not in fake.installations:
        return _error(404, "Not Found")
    expires = now_iso(__import__("time").time() + 3600)
    return _json({"token": fake.mint_installation_token(inst), "expires_at": expires}, 201)


@route("GET", "/installation/repositories")
def installation_repositories(fake: FakeGitHub, request: web.Request) -> web.Response:
    who = request[WHO]
    if who.installation is None:
        return _error(403, "not an installation token")
    names = fake.installations.get(who.installation, [])
    repos = [{"full_name": n, "id": fake.repos[n].id if n in fake.repos else 0} for n in names]
    return _json({"total_count": len(repos), "repositories": repos})


# -- archives ----------------------------------------------------------------------------------
@route("GET", R + "/tarball/{ref:.+}")
def tarball(fake: FakeGitHub, request: web.Request) -> web.Response:
    repo = _repo(fake, request)
    sha = repo.resolve(request.match_info["ref"])
    if sha is None:
        return _error(404, "Not Found")
    location = f"{fake.url}{CODELOAD}{repo.full_name}/legacy.tar.gz/{sha}?token=x"
    return web.Response(status=302, headers={"Location": location})


@route("GET", CODELOAD + "{owner}/{name}/legacy.tar.gz/{sha}")
def codeload(fake: FakeGitHub, request: web.Request) -> web.Response:
    import io
    import tarfile

    repo = fake.repos[f"{request.match_info['owner']}/{request.match_info['name']}"]
    sha = request.match_info["sha"]
    top = f"{repo.full_name.replace('/', '-')}-{sha[:7]}"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path, (_mode, blob) in sorted(repo.trees[repo.commits[sha].tree].items()):
            data = repo.blobs[blob]
            info = tarfile.TarInfo(f"{top}/{path}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    fake.archives += 1
    return web.Response(body=buffer.getvalue(), content_type="application/x-gzip")
