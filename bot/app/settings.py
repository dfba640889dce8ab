"""Process-wide settings, read from the environment ONLY by entry points (``from_env``).

The core and the jobs receive a :class:`Settings` value; nothing else reads ``os.environ``.
Secrets are held in fields whose ``repr`` is masked so a settings object can be logged.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.core.errors import ConfigError


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def _secret(e: Mapping[str, str], name: str) -> str | None:
    """``NAME`` or the content of the file ``NAME_FILE`` (stripped)."""
    if e.get(name):
        return e[name]
    path = e.get(name + "_FILE")
    if path:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip() or None
    return None


def parse_mirrors(items: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """``("docker.io=mirror:5000", ...)`` → ``(("docker.io", "mirror:5000"), ...)``."""
    out = []
    for item in items:
        source, sep, target = item.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise ConfigError(f"registry mirror must be HOST=MIRROR, got {item!r}")
        out.append((source.strip(), target.strip()))
    return tuple(out)


def parse_registry_auth(raw: str | None) -> dict[str, dict[str, str]]:
    """``FLUXBOT_REGISTRY_AUTH``: JSON ``{"host": {"username": ..., "password": ...}}`` (or
    ``{"auth": base64}``, as in a docker config) → that mapping; empty when unset."""
    if not raw:
        return {}
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError:
        raise ConfigError("FLUXBOT_REGISTRY_AUTH is not JSON") from None
    if not isinstance(doc, dict) or not all(isinstance(v, dict) for v in doc.values()):
        raise ConfigError('FLUXBOT_REGISTRY_AUTH must be {"host": {"username", "password"}}')
    return {str(k): {str(a): str(b) for a, b in v.items()} for k, v in doc.items()}


def parse_registry_rates(raw: str | None) -> tuple[tuple[str, float], ...]:
    """``FLUXBOT_REGISTRY_RATES``: ``"docker.io=5,ghcr.io=0.5"`` → ``(("docker.io", 5.0), ...)``
    (requests per second per ``HOST[:PORT]``)."""
    rates: dict[str, float] = {}
    for item in (raw or "").split(","):
        if not item.strip():
            continue
        host, sep, value = item.partition("=")
        try:
            rate = float(value)
        except ValueError:
            rate = 0.0
        if not sep or not host.strip() or not rate > 0 or rate == float("inf"):
            raise ConfigError(
                f"FLUXBOT_REGISTRY_RATES: {item.strip()!r} is not HOST=REQUESTS_PER_SECOND (> 0)"
            )
        rates[host.strip()] = rate
    return tuple(rates.items())


def parse_seconds(name: str, raw: str | None) -> float | None:
    """A non-negative number of seconds from variable ``name``; None when unset."""
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise ConfigError(f"{name} must be a number of seconds (>= 0), got {raw!r}")
    return value


def _docker_config(e: Mapping[str, str]) -> str | None:
    base = e.get("DOCKER_CONFIG")
    return os.path.join(base, "config.json") if base else None


@dataclass(frozen=True)
class Settings:
    """Everything an entry point configures."""

    insecure_registries: tuple[str, ...] = ()
    # registry host -> mirror host (tags fetched from the mirror; manifests keep the name)
    registry_mirrors: tuple[tuple[str, str], ...] = ()
    # registry credentials and limits (one client for every entry point:
    # bot.adapters.registry.factory)
    docker_config: str | None = None  # config.json path; None = ~/.docker/config.json at use time
    registry_auth: str | None = field(default=None, repr=False)  # raw FLUXBOT_REGISTRY_AUTH JSON
    registry_rates: tuple[tuple[str, float], ...] = ()  # HOST[:PORT] -> requests per second
    registry_secrets: tuple[str, ...] = ()  # Kubernetes dockerconfigjson Secret files
    dry_run: bool = False
    bot_login: str = "fluxbot[bot]"
    cache_path: str | None = None  # SQLite file for the registry/delivery cache; None = memory
    # GitHub App
    github_api_url: str = "https://api.github.com"
    github_app_id: str | None = None
    github_private_key: str | None = field(default=None, repr=False)
    github_webhook_secret: str | None = field(default=None, repr=False)
    github_token: str | None = field(default=None, repr=False)
    github_write_interval: float = 1.0  # seconds between content-creating GitHub requests
    # GitLab
    gitlab_url: str = "https://gitlab.com"
    gitlab_token: str | None = field(default=None, repr=False)
    gitlab_webhook_secret: str | None = field(default=None, repr=False)
    # the GitLab token's username (own events); None: asked from GET /user when serving
    gitlab_bot_login: str | None = None
    gitlab_projects: tuple[str, ...] = ()  # re-planned on the schedule by ``fluxbot serve``
    # scheduler
    schedule_interval: float = 3600.0
    max_body_bytes: int = 25 * 1024 * 1024
    # reconcile on merge (docs/reconcile.md)
    receiver_secret: str | None = field(default=None, repr=False)
    kubeconfig: str | None = None
    in_cluster: bool = False
    # freshness and scale-out (docs: README "Registry notifications", "Scale-out")
    registry_webhook_token: str | None = field(default=None, repr=False)  # None: endpoint 404
    tag_ttl: float | None = None  # seconds; None: 60 in memory, 600 in SQLite/Redis
    redis_url: str | None = field(default=None, repr=False)  # may hold a password

    def login_for(self, forge: str) -> str:
        """fluxbot's login on ``forge``: the GitLab token's user there when known (else
        ``bot_login``, for a GitLab-only deployment that set ``FLUXBOT_BOT_LOGIN``)."""
        if forge == "gitlab" and self.gitlab_bot_login:
            return self.gitlab_bot_login
        return self.bot_login

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``FLUXBOT_*`` variables (``env`` defaults to the process environment)."""
        e = os.environ if env is None else env
        key = e.get("FLUXBOT_GITHUB_PRIVATE_KEY")
        key_path = e.get("FLUXBOT_GITHUB_PRIVATE_KEY_PATH")
        if not key and key_path:
            with open(key_path, encoding="utf-8") as fh:
                key = fh.read()
        if key and "\\n" in key and "\n" not in key:  # a one-line PEM (.env, --env-file)
            key = key.replace("\\n", "\n")
        auth = e.get("FLUXBOT_REGISTRY_AUTH") or None
        parse_registry_auth(auth)  # a malformed value fails at start-up, not at the first lookup
        return cls(
            insecure_registries=_split(e.get("FLUXBOT_INSECURE_REGISTRIES")),
            registry_mirrors=parse_mirrors(_split(e.get("FLUXBOT_REGISTRY_MIRRORS"))),
            docker_config=_docker_config(e),
            registry_auth=auth,
            registry_rates=parse_registry_rates(e.get("FLUXBOT_REGISTRY_RATES")),
            registry_secrets=_split(e.get("FLUXBOT_REGISTRY_SECRETS")),
            dry_run=e.get("FLUXBOT_DRY_RUN", "").lower() in ("1", "true", "yes"),
            bot_login=e.get("FLUXBOT_BOT_LOGIN", "fluxbot[bot]"),
            cache_path=e.get("FLUXBOT_CACHE") or None,
            github_api_url=e.get("FLUXBOT_GITHUB_API_URL", "https://api.github.com").rstrip("/"),
            github_app_id=e.get("FLUXBOT_GITHUB_APP_ID") or None,
            github_private_key=key or None,
            github_webhook_secret=e.get("FLUXBOT_GITHUB_WEBHOOK_SECRET") or None,
            github_token=e.get("FLUXBOT_GITHUB_TOKEN") or e.get("GITHUB_TOKEN") or None,
            github_write_interval=float(e.get("FLUXBOT_GITHUB_WRITE_INTERVAL", "1")),
            gitlab_url=e.get("FLUXBOT_GITLAB_URL", "https://gitlab.com").rstrip("/"),
            gitlab_token=e.get("FLUXBOT_GITLAB_TOKEN") or None,
            gitlab_webhook_secret=e.get("FLUXBOT_GITLAB_WEBHOOK_SECRET") or None,
            gitlab_bot_login=e.get("FLUXBOT_GITLAB_BOT_LOGIN") or None,
            gitlab_projects=_split(e.get("FLUXBOT_GITLAB_PROJECTS")),
            schedule_interval=float(e.get("FLUXBOT_SCHEDULE_INTERVAL", "3600")),
            receiver_secret=_secret(e, "FLUXBOT_RECEIVER_SECRET"),
            kubeconfig=e.get("FLUXBOT_KUBECONFIG") or e.get("KUBECONFIG") or None,
            in_cluster=e.get("FLUXBOT_KUBE_IN_CLUSTER", "").lower() in ("1", "true", "yes"),
            registry_webhook_token=_secret(e, "FLUXBOT_REGISTRY_WEBHOOK_TOKEN"),
            tag_ttl=parse_seconds("FLUXBOT_TAG_TTL", e.get("FLUXBOT_TAG_TTL")),
            redis_url=e.get("FLUXBOT_REDIS_URL") or None,
        )
