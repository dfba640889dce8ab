"""Registry push notifications → :class:`ImagePush` values (pure).

One parser per sender, one entry point, :func:`parse_notification`, that tells the formats apart:

* CNCF Distribution ``notifications.endpoints`` envelopes (media types
  ``application/vnd.docker.distribution.events.v1+json`` and ``...v2+json``, or plain JSON):
  ``{"events": [{"action": "push", "target": {"repository", "tag", ...}, "request": {"host"}}]}``;
* Harbor (``{"type": "PUSH_ARTIFACT", "event_data": {"resources": [...], "repository": ...}}``);
* Quay repository push (``{"docker_url": "quay.io/org/app", "updated_tags": [...]}``);
* Docker Hub (``{"push_data": {"tag"}, "repository": {"repo_name"}}``);
* GHCR, which announces pushes as GitHub ``package`` / ``registry_package`` events:
  :func:`parse_github_package`.

Pulls, deletes, blob pushes, pushes by digest only and other actions are not pushes: they are
counted in :attr:`Notification.ignored`, never an error. A body that is none of these formats, or
a push whose image cannot be named, raises :class:`NotificationError` (the webhook answers 400).

    >>> n = parse_notification({"events": [{"id": "1", "action": "push",
    ...     "target": {"repository": "team/app", "tag": "1.2.0"}, "request": {"host": "r:5000"}}]})
    >>> n.pushes[0].key, n.pushes[0].tag
    ('r:5000/team/app', '1.2.0')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from bot.core.reference import InvalidReference, parse

__all__ = [
    "DISTRIBUTION_MEDIA_TYPES",
    "ImagePush",
    "Notification",
    "NotificationError",
    "Sender",
    "image_key",
    "parse_github_package",
    "parse_notification",
]

DISTRIBUTION_MEDIA_TYPES = (
    "application/vnd.docker.distribution.events.v1+json",
    "application/vnd.docker.distribution.events.v2+json",
)
MAX_EVENTS = 1000  # Distribution batches at most a few dozen; more is not a registry


class NotificationError(ValueError):
    """The body is not a registry notification fluxbot understands."""


class Sender(StrEnum):
    DISTRIBUTION = "distribution"
    HARBOR = "harbor"
    QUAY = "quay"
    DOCKER_HUB = "dockerhub"
    GHCR = "ghcr"


def image_key(image: str) -> str:
    """The cache and index key of an image: ``api_host/api_repository`` (the tag cache's key)."""
    ref = parse(image)
    return f"{ref.api_host}/{ref.api_repository}"


@dataclass(frozen=True)
class ImagePush:
    """One tag pushed to one image repository."""

    image: str  # host/repository as the registry names it
    tag: str
    digest: str = ""
    event_id: str = ""  # the sender's id, when it gives one (delivery dedupe)
    sender: Sender = Sender.DISTRIBUTION

    @classmethod
    def of(cls, image: str, tag: str, digest: str, event_id: str, sender: Sender) -> ImagePush:
        """Validated: ``image`` must parse as a reference without tag or digest."""
        try:
            ref = parse(image)
        except InvalidReference as exc:
            raise NotificationError(f"{sender.value}: not an image name {image!r}: {exc}") from None
        if ref.tag or ref.digest:
            raise NotificationError(f"{sender.value}: image name {image!r} carries a tag")
        return cls(image, tag, digest, event_id, sender)

    @property
    def key(self) -> str:
        return image_key(self.image)


@dataclass(frozen=True)
class Notification:
    """What one delivery announced: the pushes, and how many other events it carried."""

    sender: Sender
    pushes: tuple[ImagePush, ...]
    ignored: int = 0

    @property
    def keys(self) -> tuple[str, ...]:
        """The image keys pushed to, first-seen order, once each."""
        return tuple(dict.fromkeys(p.key for p in self.pushes))


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def parse_notification(doc: Any) -> Notification:
    """The pushes of a decoded JSON body from any supported sender (see the module docstring)."""
    if not isinstance(doc, Mapping):
        raise NotificationError("the body is not a JSON object")
    if "events" in doc:
        return _distribution(doc["events"])
    if "event_data" in doc and "type" in doc:
        return _harbor(doc)
    if "push_data" in doc:
        return _docker_hub(doc)
    if "docker_url" in doc or "updated_tags" in doc:
        return _quay(doc)
    raise NotificationError("not a Distribution, Harbor, Quay or Docker Hub notification")


def _distribution(events: Any) -> Notification:
    if not isinstance(events, list):
        raise NotificationError("events is not a list")
    if len(events) > MAX_EVENTS:
        raise NotificationError(f"more than {MAX_EVENTS} events in one envelope")
    pushes: list[ImagePush] = []
    ignored = 0
    for event in events:
        if not isinstance(event, Mapping):
            raise NotificationError("an event is not an object")
        target = _obj(event.get("target"))
        tag = _str(target.get("tag"))
        # blob pushes and pushes by digest change no tag list: nothing to invalidate
        if _str(event.get("action")) != "push" or not tag:
            ignored += 1
            continue
        repository = _str(target.get("repository"))
        host = (
            _str(_obj(event.get("request")).get("host")) or urlsplit(_str(target.get("url"))).netloc
        )
        if not repository or not host:
            raise NotificationError("a push event names no repository or host")
        pushes.append(
            ImagePush.of(
                f"{host}/{repository}",
                tag,
                _str(target.get("digest")),
                _str(event.get("id")),
                Sender.DISTRIBUTION,
            )
        )
    return Notification(Sender.DISTRIBUTION, tuple(pushes), ignored)


def _harbor(doc: Mapping[str, Any]) -> Notification:
    if _str(doc.get("type")).upper() != "PUSH_ARTIFACT":
        return Notification(Sender.HARBOR, (), 1)
    data = _obj(doc.get("event_data"))
    resources = data.get("resources")
    if not isinstance(resources, list) or not resources:
        raise NotificationError("harbor: event_data.resources is missing")
    full_name = _str(_obj(data.get("repository")).get("repo_full_name"))
    pushes: list[ImagePush] = []
    for res in resources[:MAX_EVENTS]:
        res = _obj(res)
        tag = _str(res.get("tag"))
        url = _str(res.get("resource_url"))  # "harbor.example.com/library/app:1.0"
        if not tag:
            continue
        host, _, path = url.partition("/")
        repository = full_name or path.rsplit(":", 1)[0].split("@", 1)[0]
        if not host or not repository:
            raise NotificationError("harbor: a resource has no resource_url")
        pushes.append(
            ImagePush.of(f"{host}/{repository}", tag, _str(res.get("digest")), "", Sender.HARBOR)
        )
    return Notification(Sender.HARBOR, tuple(pushes), 0 if pushes else 1)


def _quay(doc: Mapping[str, Any]) -> Notification:
    image = _str(doc.get("docker_url"))
    if not image:
        repository = _str(doc.get("repository"))
        image = f"quay.io/{repository}" if repository else ""
    tags = doc.get("updated_tags")
    if not image or not isinstance(tags, list):
        raise NotificationError("quay: docker_url and updated_tags are required")
    pushes = tuple(
        ImagePush.of(image, t.strip(), "", "", Sender.QUAY)
        for t in tags[:MAX_EVENTS]
        if isinstance(t, str) and t.strip()
    )
    return Notification(Sender.QUAY, pushes, 0 if pushes else 1)


def _docker_hub(doc: Mapping[str, Any]) -> Notification:
    repo_name = _str(_obj(doc.get("repository")).get("repo_name"))
    tag = _str(_obj(doc.get("push_data")).get("tag"))
    if not repo_name:
        raise NotificationError("docker hub: repository.repo_name is required")
    if not tag:
        return Notification(Sender.DOCKER_HUB, (), 1)
    return Notification(
        Sender.DOCKER_HUB, (ImagePush.of(f"docker.io/{repo_name}", tag, "", "", Sender.DOCKER_HUB),)
    )


def parse_github_package(event: str, data: Mapping[str, Any]) -> Notification | None:
    """A GitHub ``package`` / ``registry_package`` delivery as pushes to GHCR; None when it is
    not one of those events. Only ``published`` container versions are pushes; other actions,
    npm/maven packages and untagged (digest-only) versions are ignored."""
    if event not in ("package", "registry_package"):
        return None
    package = _obj(data.get("package") or data.get("registry_package"))
    version = _obj(package.get("package_version"))
    registry_type = _str(_obj(package.get("registry")).get("type")).lower()
    package_type = _str(package.get("package_type")).lower()
    container = registry_type == "container" or package_type in ("container", "docker")
    container = container or "container_metadata" in version
    if _str(data.get("action")) != "published" or not container:
        return Notification(Sender.GHCR, (), 1)
    tag = _str(_obj(_obj(version.get("container_metadata")).get("tag")).get("name"))
    if not tag:
        return Notification(Sender.GHCR, (), 1)
    url = _str(version.get("package_url"))  # "ghcr.io/owner/name:tag"
    if url:
        name = url.split("@", 1)[0]
        head, sep, last = name.rpartition(":")
        image = head if sep and "/" not in last else name
    else:
        owner = _str(_obj(package.get("owner")).get("login")) or _str(package.get("namespace"))
        image = f"ghcr.io/{owner}/{_str(package.get('name'))}"
    digest = _str(_obj(_obj(version.get("container_metadata")).get("tag")).get("digest"))
    push = ImagePush.of(image.lower(), tag, digest, str(version.get("id") or ""), Sender.GHCR)
    return Notification(Sender.GHCR, (push,))
