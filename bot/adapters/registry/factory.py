"""The one place a :class:`RegistryClient` is built from :class:`bot.app.settings.Settings`.

Every entry point — ``fluxbot tags|inspect|policy test --image``, ``fluxbot plan|run``, the GitHub
Action and ``fluxbot serve`` — calls :func:`client_from_settings`, so they all honour the same
configuration:

- credentials, first match wins: ``FLUXBOT_REGISTRY_AUTH`` (``settings.registry_auth``), then the
  Kubernetes dockerconfigjson Secret files (``secrets`` arguments, then
  ``FLUXBOT_REGISTRY_SECRETS``), then the docker config (``docker_config`` argument, else
  ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``; a missing file is no error);
- per-registry request rates: ``FLUXBOT_REGISTRY_RATES``;
- insecure registries (plain HTTP, private addresses): ``FLUXBOT_INSECURE_REGISTRIES`` plus
  ``extra_insecure`` (``--insecure-registry`` flags, a CLI repository's ``registries.insecure``).
  A registry mirror is NOT implied insecure: a mirror on plain HTTP or a private address must be
  named there too, like any other registry;
- the tag cache: SQLite at ``tag_cache`` (``--tag-cache``), else at ``settings.cache_path``
  (``FLUXBOT_CACHE``), else in memory (``cache`` overrides: the Redis cache of a scale-out
  deployment); its TTL is ``FLUXBOT_TAG_TTL`` when set.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot.adapters.registry.cache import MemoryTagCache, SQLiteTagCache, TagCache
from bot.adapters.registry.client import RegistryClient
from bot.adapters.registry.credentials import Credentials
from bot.app.settings import Settings, parse_registry_auth

__all__ = [
    "client_from_settings",
    "docker_config_path",
    "insecure_registries",
    "tag_cache_for",
]


def docker_config_path(settings: Settings, override: Path | None = None) -> Path:
    """The docker ``config.json`` to read: ``override``, ``$DOCKER_CONFIG``'s, or the home one."""
    if override is not None:
        return override
    if settings.docker_config:
        return Path(settings.docker_config)
    return Path.home() / ".docker" / "config.json"


def insecure_registries(settings: Settings, extra: Sequence[str] = ()) -> tuple[str, ...]:
    """``settings.insecure_registries`` then ``extra``, de-duplicated; mirrors are not added."""
    hosts = (h.strip() for h in (*settings.insecure_registries, *extra))
    return tuple(dict.fromkeys(h for h in hosts if h))


def tag_cache_for(settings: Settings, cache_file: Path | None) -> TagCache:
    """SQLite at ``cache_file`` when given, else memory; ``settings.tag_ttl`` when set."""
    if cache_file is not None:
        ttl = 600.0 if settings.tag_ttl is None else settings.tag_ttl
        return SQLiteTagCache(cache_file, ttl=ttl)
    return MemoryTagCache(60.0 if settings.tag_ttl is None else settings.tag_ttl)


def client_from_settings(
    settings: Settings,
    *,
    extra_insecure: Sequence[str] = (),
    docker_config: Path | None = None,
    secrets: Sequence[Path] = (),
    tag_cache: Path | None = None,
    cache: TagCache | None = None,
) -> RegistryClient:
    """A registry client configured as the module docstring says (not entered yet)."""
    all_secrets = [*secrets, *(Path(s) for s in settings.registry_secrets)]
    credentials = Credentials.load(
        docker_config_path(settings, docker_config),
        list(dict.fromkeys(all_secrets)),
        parse_registry_auth(settings.registry_auth),
    )
    cache_file = tag_cache or (Path(settings.cache_path) if settings.cache_path else None)
    return RegistryClient(
        insecure=insecure_registries(settings, extra_insecure),
        credentials=credentials,
        cache=cache if cache is not None else tag_cache_for(settings, cache_file),
        host_rates=dict(settings.registry_rates),
    )
