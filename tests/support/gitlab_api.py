"""The request shapes the fake GitLab accepts, from GitLab's REST API documentation (v4).

Each :class:`Endpoint` lists the documented parameters of one route: required ones, optional ones
and their types. Anything else a client sends is a *violation*: the fake answers 400 as GitLab's
Grape layer would and records it, and the ``gitlab`` fixture fails the test at teardown. Sources
(``doc/api/*.md`` in gitlab-org/gitlab): commits.md (create a commit with multiple files and
actions; list the statuses of a commit; set the pipeline status of a commit), merge_requests.md
(list project MRs; get, create, update MR), notes.md (list/create/modify MR notes),
emoji_reactions.md (award emoji on notes), members.md (list all members, incl. inherited),
repositories.md (list repository tree; get file archive; merge base), merge_requests.md
(list merge request diffs), repository_files.md (get raw file),
branches.md (list branches, ``search`` with ``^`` prefix; get, delete a branch), projects.md,
users.md (list users by username; get the current user),
rest/index.md (pagination).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PAGINATION = {"page": "int", "per_page": "int", "pagination": "enum:offset,keyset"}

MR_STATES = "opened,closed,locked,merged,all"
STATUS_STATES = "pending,running,success,failed,canceled,skipped"
ACCESS_LEVELS = (0, 5, 10, 15, 20, 30, 40, 50)


@dataclass(frozen=True)
class Endpoint:
    """Documented parameters of one route: name → type (``str``, ``int``, ``bool``, ``enum:a,b``,
    ``ids`` (array of integers), ``actions`` (commit actions))."""

    required: Mapping[str, str] = field(default_factory=dict)
    optional: Mapping[str, str] = field(default_factory=dict)
    paginated: bool = False


ENDPOINTS: dict[str, Endpoint] = {
    "GET /projects/:id": Endpoint(
        optional={"license": "bool", "statistics": "bool", "with_custom_attributes": "bool"}
    ),
    "GET /projects/:id/repository/tree": Endpoint(
        optional={"path": "str", "ref": "str", "recursive": "bool", "page_token": "str"},
        paginated=True,
    ),
    "GET /projects/:id/repository/files/:file_path/raw": Endpoint(
        optional={"ref": "str", "lfs": "bool"}
    ),
    "GET /projects/:id/repository/archive": Endpoint(
        optional={
            "sha": "str",
            "path": "str",
            "include_lfs_blobs": "bool",
            "exclude_paths": "str",
        }
    ),
    "GET /projects/:id/repository/branches": Endpoint(
        optional={"search": "str", "regex": "str"}, paginated=True
    ),
    "GET /projects/:id/repository/branches/:branch": Endpoint(),
    "DELETE /projects/:id/repository/branches/:branch": Endpoint(),
    "POST /projects/:id/repository/commits": Endpoint(
        required={"branch": "str", "commit_message": "str", "actions": "actions"},
        optional={
            "start_branch": "str",
            "start_sha": "str",
            "start_project": "str",
            "author_email": "str",
            "author_name": "str",
            "stats": "bool",
            "force": "bool",
        },
    ),
    "GET /projects/:id/repository/commits/:sha": Endpoint(optional={"stats": "bool"}),
    "GET /projects/:id/repository/merge_base": Endpoint(required={"refs[]": "strs"}),
    "GET /projects/:id/repository/commits/:sha/statuses": Endpoint(
        optional={"ref": "str", "stage": "str", "name": "str", "all": "bool"}, paginated=True
    ),
    "POST /projects/:id/statuses/:sha": Endpoint(
        required={"state": f"enum:{STATUS_STATES}"},
        optional={
            "ref": "str",
            "name": "str",
            "context": "str",
            "target_url": "str",
            "description": "str",
            "coverage": "float",
            "pipeline_id": "int",
        },
    ),
    "GET /projects/:id/merge_requests": Endpoint(
        optional={
            "state": f"enum:{MR_STATES}",
            "order_by": "enum:created_at,updated_at,title,merged_at,label_priority,"
            "milestone_due,popularity,priority",
            "sort": "enum:asc,desc",
            "source_branch": "str",
            "target_branch": "str",
            "labels": "str",
            "milestone": "str",
            "view": "enum:simple",
            "scope": "enum:created_by_me,assigned_to_me,all",
            "author_id": "int",
            "author_username": "str",
            "assignee_id": "int",
            "reviewer_id": "int",
            "reviewer_username": "str",
            "search": "str",
            "iids[]": "int",
            "created_after": "str",
            "created_before": "str",
            "updated_after": "str",
            "updated_before": "str",
            "wip": "enum:yes,no",
            "draft": "enum:yes,no",
            "with_labels_details": "bool",
            "with_merge_status_recheck": "bool",
        },
        paginated=True,
    ),
    "POST /projects/:id/merge_requests": Endpoint(
        required={"source_branch": "str", "target_branch": "str", "title": "str"},
        optional={
            "allow_collaboration": "bool",
            "allow_maintainer_to_push": "bool",
            "approvals_before_merge": "int",
            "assignee_id": "int",
            "assignee_ids": "ids",
            "description": "str",
            "labels": "str",
            "merge_after": "str",
            "milestone_id": "int",
            "remove_source_branch": "bool",
            "reviewer_ids": "ids",
            "squash": "bool",
            "target_project_id": "int",
        },
    ),
    "GET /projects/:id/merge_requests/:iid": Endpoint(
        optional={
            "render_html": "bool",
            "include_diverged_commits_count": "bool",
            "include_rebase_in_progress": "bool",
        }
    ),
    "PUT /projects/:id/merge_requests/:iid": Endpoint(
        optional={
            "target_branch": "str",
            "title": "str",
            "assignee_id": "int",
            "assignee_ids": "ids",
            "reviewer_ids": "ids",
            "milestone_id": "int",
            "labels": "str",
            "add_labels": "str",
            "remove_labels": "str",
            "description": "str",
            "state_event": "enum:close,reopen",
            "remove_source_branch": "bool",
            "squash": "bool",
            "discussion_locked": "bool",
            "allow_collaboration": "bool",
            "allow_maintainer_to_push": "bool",
            "merge_after": "str",
        }
    ),
    "GET /projects/:id/merge_requests/:iid/diffs": Endpoint(
        optional={"unidiff": "bool"}, paginated=True
    ),
    "GET /projects/:id/merge_requests/:iid/notes": Endpoint(
        optional={"sort": "enum:asc,desc", "order_by": "enum:created_at,updated_at"},
        paginated=True,
    ),
    "POST /projects/:id/merge_requests/:iid/notes": Endpoint(
        required={"body": "str"},
        optional={
            "created_at": "str",
            "internal": "bool",
            "merge_request_diff_head_sha": "str",
        },
    ),
    "PUT /projects/:id/merge_requests/:iid/notes/:note_id": Endpoint(
        optional={"body": "str", "confidential": "bool"}
    ),
    "GET /projects/:id/merge_requests/:iid/notes/:note_id/award_emoji": Endpoint(paginated=True),
    "POST /projects/:id/merge_requests/:iid/notes/:note_id/award_emoji": Endpoint(
        required={"name": "str"}
    ),
    "GET /projects/:id/members/all": Endpoint(
        optional={"query": "str", "user_ids": "ids", "show_seat_info": "bool", "state": "str"},
        paginated=True,
    ),
    "GET /projects/:id/members/all/:user_id": Endpoint(),
    "GET /users": Endpoint(
        optional={"username": "str", "search": "str", "active": "bool", "humans": "bool"},
        paginated=True,
    ),
    "GET /user": Endpoint(),
}

# At least one of these must be present (merge_requests.md, "Update MR").
UPDATE_MR_ONE_OF = tuple(ENDPOINTS["PUT /projects/:id/merge_requests/:iid"].optional)
COMMIT_ACTION = Endpoint(
    required={"action": "enum:create,delete,move,update,chmod", "file_path": "str"},
    optional={
        "previous_path": "str",
        "content": "str",
        "encoding": "enum:text,base64",
        "last_commit_id": "str",
        "execute_filemode": "bool",
    },
)


def _type_error(name: str, kind: str, value: Any) -> str | None:
    text = str(value)
    if kind == "str":
        return None if isinstance(value, str) else f"{name} must be a string"
    if kind == "int":
        try:
            int(text)
            return None
        except ValueError:
            return f"{name} must be an integer"
    if kind == "float":
        try:
            float(text)
            return None
        except ValueError:
            return f"{name} must be a number"
    if kind == "bool":
        ok = isinstance(value, bool) or text.lower() in ("true", "false", "1", "0")
        return None if ok else f"{name} must be a boolean"
    if kind.startswith("enum:"):
        return None if text in kind[5:].split(",") else f"{name} does not have a valid value"
    if kind == "strs":  # an array parameter (``name[]=a&name[]=b``)
        ok = isinstance(value, list) and all(isinstance(i, str) for i in value)
        return None if ok else f"{name} must be an array of strings"
    if kind == "ids":
        items = value if isinstance(value, list) else text.split(",")
        ok = all(str(i).isdigit() for i in items)
        return None if ok else f"{name} must be an array of integers"
    if kind == "actions":
        if not isinstance(value, list) or not value:
            return f"{name} must be a non-empty array"
        for i, action in enumerate(value):
            if not isinstance(action, dict):
                return f"{name}[{i}] must be an object"
            for problem in check(COMMIT_ACTION, action):
                return f"{name}[{i}]: {problem}"
        return None
    raise AssertionError(f"unknown parameter type {kind}")


def check(endpoint: Endpoint, params: Mapping[str, Any]) -> list[str]:
    """Every way ``params`` departs from the documented shape of ``endpoint``."""
    allowed = dict(endpoint.required) | dict(endpoint.optional)
    if endpoint.paginated:
        allowed |= PAGINATION
    problems = [f"{name} is missing" for name in endpoint.required if name not in params]
    for name, value in params.items():
        kind = allowed.get(name)
        if kind is None:
            problems.append(f"{name} is not a documented parameter")
            continue
        error = _type_error(name, kind, value)
        if error:
            problems.append(error)
    return problems
