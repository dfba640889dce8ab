"""The fake GitLab itself: it must refuse what GitLab would, or the forge tests prove nothing."""

from __future__ import annotations

import asyncio

import gitlab as gitlab_lib
import httpx
import pytest

from tests.support.gitlab_api import ENDPOINTS, Endpoint, check
from tests.support.gitlab_fake import FakeGitLab


def test_check_reports_each_kind_of_departure() -> None:
    endpoint = ENDPOINTS["POST /projects/:id/merge_requests"]
    assert check(endpoint, {"source_branch": "a", "target_branch": "b", "title": "t"}) == []
    problems = check(endpoint, {"source_branch": "a", "titel": "t", "squash": "maybe"})
    assert "target_branch is missing" in problems and "title is missing" in problems
    assert "titel is not a documented parameter" in problems
    assert "squash must be a boolean" in problems
    actions = check(
        ENDPOINTS["POST /projects/:id/repository/commits"],
        {"branch": "b", "commit_message": "m", "actions": [{"action": "rename", "file_path": "x"}]},
    )
    assert actions == ["actions[0]: action does not have a valid value"]
    assert check(Endpoint(paginated=True), {"page": "2", "per_page": "x"}) == [
        "per_page must be an integer"
    ]


async def test_fake_refuses_bad_requests_and_records_them() -> None:
    fake = FakeGitLab()
    url = await fake.start()
    fake.add_project("g/p", {"a.yaml": "a: 1\n"})
    headers = {"PRIVATE-TOKEN": fake.token}
    try:
        async with httpx.AsyncClient(base_url=url + "/api/v4") as http:
            assert (await http.get("/projects/g%2Fp")).status_code == 401
            ok = await http.get("/projects/g%2Fp", headers=headers)
            assert ok.json()["default_branch"] == "main"
            unencoded = await http.get("/projects/g/p", headers=headers)
            assert unencoded.status_code == 404
            bogus = await http.post(
                "/projects/g%2Fp/merge_requests",
                headers=headers,
                json={"source_branch": "main", "target_branch": "main", "title": "t", "x": 1},
            )
            assert bogus.status_code == 400
            wrong = await http.get(
                "/projects/g%2Fp/merge_requests", headers=headers, params={"state": "open"}
            )
            assert wrong.status_code == 400  # GitLab's value is "opened"
            empty_update = await http.put(
                "/projects/g%2Fp/merge_requests/1", headers=headers, json={}
            )
            assert empty_update.status_code == 400
    finally:
        await fake.close()
    assert len(fake.violations) == 3  # the unencoded path is a 404, as on GitLab
    assert any("x is not a documented parameter" in v for v in fake.violations)
    assert any("state does not have a valid value" in v for v in fake.violations)


async def test_python_gitlab_misuse_is_caught(gitlab: FakeGitLab) -> None:
    gitlab.add_project("g/p", {"a.yaml": "a: 1\n"})
    client = gitlab_lib.Gitlab(gitlab.url, private_token=gitlab.token)
    project = client.projects.get("g/p", lazy=True)
    with pytest.raises(gitlab_lib.exceptions.GitlabCreateError):
        await asyncio.to_thread(  # python-gitlab blocks; the fake runs on this loop
            project.commits.create,
            {
                "branch": "x",
                "commit_message": "m",
                "start_branch": "main",
                "start_sha": "abc",
                "actions": [{"action": "create", "file_path": "b", "content": "c"}],
            },
        )
    assert gitlab.violations == [
        "POST /projects/g/p/repository/commits: start_branch, start_sha are mutually exclusive"
    ]
    gitlab.violations.clear()  # expected here; the fixture fails on any left over
