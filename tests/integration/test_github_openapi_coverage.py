"""Every GitHub request the adapter's code makes (method and endpoint) is made, and so validated
against GitHub's OpenAPI description by the fake, in one tour of every Forge method and App helper.

The requests come from the source itself: each request call in ``bot/adapters/github/*.py`` (its
method and URL literal), matched to its path template in ``@octokit/openapi``. A request added to
the adapter without a test that exercises it fails here."""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from typing import Any

from bot.adapters.github.auth import TokenCache, app_login, app_repositories, token_login
from bot.adapters.github.forge import open_forge
from bot.app.settings import Settings
from bot.ports import Reaction, StatusState
from tests.support.github_fake import spec_path
from tests.support.paths import REPO

SOURCES = (
    "bot/adapters/github/forge.py",
    "bot/adapters/github/auth.py",
    "bot/adapters/github/api.py",
    "bot/adapters/github/history.py",
)
# requested by gidgethub on our behalf (gidgethub.apps.get_installation_access_token)
LIBRARY = {"/app/installations/{installation_id}/access_tokens"}
TOP_LEVEL = ("/repos/", "/app", "/installation", "/user")


def url_literals() -> set[str]:
    """URL-like string literals of the adapter, placeholders as ``{}``, queries dropped."""
    found: set[str] = set()
    for source in SOURCES:
        tree = ast.parse((REPO / source).read_text("utf-8"))
        inner = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                text = "".join(
                    str(v.value) if isinstance(v, ast.Constant) else "{}" for v in node.values
                )
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) in inner:
                    continue
                text = node.value
            else:
                continue
            if re.fullmatch(r"(\{\})?/[\w{}./:-]*(\?\S*)?", text) and len(text) > 1:
                found.add(text.split("?", 1)[0])
    return found


READS = {"_get", "_get_or_none", "_paged", "getitem", "getiter", "download"}


def _text(node: ast.expr, names: dict[str, str]) -> str | None:
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "{}" for v in node.values)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return names.get(node.id)
    return None


def requests_named() -> set[tuple[str, str]]:
    """(method, URL literal) of every request call in the adapter: ``_write("POST", url)``,
    ``delete(url)``, and reads (``_get``, ``_paged``, ``getitem``, ...); a URL held in a local
    variable is followed to its literal."""
    found: set[tuple[str, str]] = set()
    for source in SOURCES:
        tree = ast.parse((REPO / source).read_text("utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            names: dict[str, str] = {}
            for node in ast.walk(fn):
                if isinstance(node, ast.Assign) and len(node.targets) == 1:
                    target = node.targets[0]
                    text = _text(node.value, {})
                    if isinstance(target, ast.Name) and text is not None:
                        names[target.id] = text
            for node in ast.walk(fn):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                    continue
                attr, args = node.func.attr, node.args
                if attr == "_write" and len(args) >= 2 and isinstance(args[0], ast.Constant):
                    method, url = str(args[0].value), _text(args[1], names)
                elif attr == "delete" and args:
                    method, url = "DELETE", _text(args[0], names)
                elif attr in READS and args:
                    method, url = "GET", _text(args[0], names)
                else:
                    continue
                if url is not None:
                    found.add((method, url.split("?", 1)[0]))
    return found


class Templates:
    def __init__(self, spec: Any) -> None:
        paths = spec.spec / "paths"
        self.patterns = []
        for template in paths.keys():  # noqa: SIM118 (a SchemaPath, not a dict)
            regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(str(template)))
            self.patterns.append((re.compile(f"^{regex}$"), str(template)))

    def of(self, path: str) -> str | None:
        encoded = spec_path(path)
        hits = [t for rx, t in self.patterns if rx.match(encoded)]
        # the most literal template wins (/pulls/{n} over /{owner}/{repo}/...)
        return min(hits, key=lambda t: t.count("{")) if hits else None

    def of_literal(self, literal: str) -> str | None:
        """The template of an adapter literal: ``{}`` is any value, a relative path is under
        ``/repos/{owner}/{repo}`` (the forge's ``self._path``)."""
        path = literal.replace("/repos/{}", "/repos/o/r")
        if path.startswith("{}/"):
            path = "/repos/o/r" + path[2:]
        elif not path.startswith(TOP_LEVEL):
            path = "/repos/o/r" + path
        return self.of(path.replace("{}", "x1"))


async def tour(fake: Any, settings: Settings) -> None:
    """Every Forge method, the App helpers and the token helper, against the fake."""
    repo = "o/r"
    fake.add_collaborator(repo, "alice", "write")
    async with open_forge(repo, settings, write_interval=0) as forge:
        main = await forge.branch_sha("main")
        assert main and await forge.default_branch() == "main"
        await forge.read_tree(main)
        fake.tree_limit = 1  # a truncated listing: subtrees one by one
        await forge.read_tree("main")
        fake.tree_limit = None
        many = {f"apps/t{i:03}.yaml": f"n: {i}\n" for i in range(60)}
        fake.push(repo, many)
        await forge.read_tree("main")  # > TARBALL_THRESHOLD uncached: the tarball
        base = await forge.branch_sha("main")
        assert base
        await forge.ensure_branch("fluxbot/app", base, {"apps/app.yaml": "v: 2\n"}, "m")
        await forge.ensure_branch(
            "fluxbot/app", base, {"apps/app.yaml": "v: 2\n", "x.yaml": ""}, "m"
        )
        await forge.ensure_branch(
            "fluxbot/app", base, {"apps/app.yaml": "v: 2\n", "x.yaml": ""}, "m"
        )
        pr, _ = await forge.ensure_pr(
            "fluxbot/app", "main", "t", "b", ["deps"], ["alice"], assignees=["alice"]
        )
        assert await forge.pr_paths(pr.number) == ["apps/app.yaml", "x.yaml"]
        head = fake.branch_sha(repo, "fluxbot/app")
        assert await forge.is_ancestor(base, head)
        assert await forge.merge_base("main", "fluxbot/app") == base
        await forge.ensure_pr("fluxbot/app", "main", "t2", "b2", ["deps"], ["alice"])
        await forge.get_pr(pr.number)
        await forge.update_pr_body(pr.number, "b3")
        await forge.ensure_comment(pr.number, "<!-- m -->", "<!-- m --> 1")
        await forge.ensure_comment(pr.number, "<!-- m -->", "<!-- m --> 2")
        cid = fake.add_comment(repo, pr.number, "/fluxbot diff", "alice")
        await forge.react(pr.number, cid, Reaction.EYES)
        assert await forge.can_write("alice")
        sha = fake.branch_sha(repo, "fluxbot/app")
        await forge.set_status(sha, "fluxbot", StatusState.SUCCESS, "ok", "https://e/x")
        await forge.commit_statuses(sha)
        await forge.commit_status_details(sha)
        await forge.close_pr(pr.number, "bye")
        await forge.delete_branch("fluxbot/app")
        await forge._older_closed({})  # what list_prs adds past its cap
        await forge.list_prs()
    assert await token_login(settings) == "fluxbot[bot]"
    fake.add_installation(5, [repo])
    app = replace(
        settings, github_token=None, github_app_id=fake.app_id, github_private_key=fake.private_key
    )
    assert await app_login(app) == "fluxbot[bot]"
    assert [r async for _f, r, _i in app_repositories(app, TokenCache())()] == [repo]
    async with open_forge(repo, app, tokens=TokenCache()) as forge:
        assert await forge.default_branch() == "main"


async def test_every_request_the_adapter_names_is_validated(
    github_fake: Any, github_spec: Any, github_settings: Settings
) -> None:
    github_fake.create_repo("o/r", {"apps/app.yaml": "v: 1\n", "README.md": "hi\n"})
    templates = Templates(github_spec)
    named: dict[tuple[str, str], str] = {}
    for method, literal in requests_named():
        template = templates.of_literal(literal) if literal else "/repos/{owner}/{repo}"
        assert template is not None, f"{method} {literal} is not in GitHub's description"
        named[(method, template)] = literal
    named.update({("POST", t): "(gidgethub)" for t in LIBRARY})
    # every URL literal of the adapter is accounted for by a request call
    literals = {templates.of_literal(lit) for lit in url_literals()} - {None}
    assert literals <= {t for _m, t in named}, literals - {t for _m, t in named}
    assert len(named) >= 30, sorted(named)
    await tour(github_fake, github_settings)
    hit = {
        (method, templates.of(path))
        for method, path, _s in github_fake.requests
        if "/_codeload/" not in path
    }
    assert all(t is not None for _m, t in hit)  # nothing outside the description reached it
    missing = {k: lit for k, lit in named.items() if k not in hit}
    assert not missing, f"requests named in the adapter but never made in a test: {missing}"
    assert not github_fake.invalid


def test_the_extraction_sees_a_new_endpoint(github_spec: Any) -> None:
    templates = Templates(github_spec)
    assert templates.of_literal("/git/tags/{}") == "/repos/{owner}/{repo}/git/tags/{tag_sha}"
    assert templates.of_literal("{}/tarball/{}") == "/repos/{owner}/{repo}/tarball/{ref}"
    assert templates.of_literal("/user") == "/user"
