"""Registry credentials: docker ``config.json``, credential helpers, k8s dockerconfigjson, config.

Sources are tried in order; the first that knows the host wins::

    creds = Credentials.load(docker_config=Path("~/.docker/config.json").expanduser(),
                             secrets=[Path("pull-secret.yaml")])
    cred = await creds.lookup("ghcr.io")        # Credential | None

``credsStore``/``credHelpers`` run ``docker-credential-<name> get`` with the host on stdin.
Credentials never appear in ``repr``, logs or exception messages.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.core.errors import AuthError, ConfigError
from bot.core.reference import DOCKER_HUB_API, is_docker_hub

__all__ = ["Credential", "Credentials", "registry_key"]

HELPER_TIMEOUT = 20.0


@dataclass(frozen=True)
class Credential:
    """Username and password, or an identity (refresh) token, or a ready registry token."""

    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)
    registry_token: str = field(default="", repr=False)

    def basic(self) -> str:
        """Value of a Basic ``Authorization`` header."""
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    @property
    def has_password(self) -> bool:
        return bool(self.username and self.password)


def registry_key(key: str) -> str:
    """Normalise a config key (``https://index.docker.io/v1/``, ``ghcr.io``) to an API host."""
    key = key.strip()
    host = urlsplit(key).netloc if "://" in key else key.split("/")[0]
    host = host.lower()
    return DOCKER_HUB_API if is_docker_hub(host) else host


def _decode_auth(host: str, entry: Mapping[str, Any]) -> Credential | None:
    username = str(entry.get("username") or "")
    password = str(entry.get("password") or "")
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            username, sep, password = base64.b64decode(auth, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise ConfigError(f"docker config: auth for {host} is not base64") from None
        if not sep:
            raise ConfigError(f"docker config: auth for {host} is not user:password")
    identity = str(entry.get("identitytoken") or "")
    token = str(entry.get("registrytoken") or "")
    if not (username or password or identity or token):
        return None
    return Credential(username, password, identity, token)


@dataclass(frozen=True)
class DockerConfig:
    """One ``config.json`` (or the ``.dockerconfigjson`` of a Secret)."""

    auths: Mapping[str, Credential] = field(default_factory=dict, repr=False)
    creds_store: str | None = None
    cred_helpers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, doc: Any, origin: str) -> DockerConfig:
        if not isinstance(doc, dict):
            raise ConfigError(f"{origin}: not a docker config JSON object")
        auths: dict[str, Credential] = {}
        for key, entry in (doc.get("auths") or {}).items():
            if isinstance(entry, dict):
                cred = _decode_auth(registry_key(key), entry)
                if cred is not None:
                    auths[registry_key(key)] = cred
        helpers = {registry_key(k): str(v) for k, v in (doc.get("credHelpers") or {}).items()}
        store = doc.get("credsStore")
        return cls(auths, str(store) if store else None, helpers)

    @classmethod
    def from_file(cls, path: Path) -> DockerConfig:
        try:
            doc = json.loads(path.read_text())
        except OSError as exc:
            raise ConfigError(f"cannot read docker config {path}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"docker config {path} is not JSON: {exc}") from None
        return cls.from_json(doc, str(path))

    @classmethod
    def from_secret(cls, path: Path) -> DockerConfig:
        """A Kubernetes Secret of type ``kubernetes.io/dockerconfigjson`` (YAML or JSON)."""
        from ruamel.yaml import YAML  # only when a Secret file is given (import costs ~50 ms)

        try:
            doc = YAML(typ="safe").load(path.read_text())
        except OSError as exc:
            raise ConfigError(f"cannot read secret {path}: {exc.strerror}") from None
        except Exception as exc:
            raise ConfigError(f"secret {path} is not YAML: {exc.__class__.__name__}") from None
        if not isinstance(doc, dict):
            raise ConfigError(f"secret {path} is not a mapping")
        data = doc.get("data") or {}
        string_data = doc.get("stringData") or {}
        for key in (".dockerconfigjson", ".dockercfg"):
            raw: str | None = None
            if key in string_data:
                raw = str(string_data[key])
            elif key in data:
                try:
                    raw = base64.b64decode(str(data[key]), validate=True).decode()
                except (binascii.Error, UnicodeDecodeError):
                    raise ConfigError(f"secret {path}: {key} is not base64") from None
            if raw is not None:
                try:
                    parsed = json.loads(raw)
                except json.JSONDecodeError:
                    raise ConfigError(f"secret {path}: {key} is not JSON") from None
                if key == ".dockercfg":  # legacy format: the auths mapping itself
                    parsed = {"auths": parsed}
                return cls.from_json(parsed, str(path))
        raise ConfigError(f"secret {path} has no .dockerconfigjson")


@dataclass
class Credentials:
    """Ordered credential sources plus an in-memory cache of helper answers."""

    configs: Sequence[DockerConfig] = ()
    static: Mapping[str, Credential] = field(default_factory=dict, repr=False)
    helper_path: str | None = None  # PATH used to find docker-credential-* (None: inherit)
    ttl: float = 600.0  # answers are looked up again after this (helpers hand out short tokens)
    clock: Callable[[], float] = time.monotonic
    _cache: dict[str, tuple[float, Credential | None]] = field(default_factory=dict, repr=False)

    @classmethod
    def load(
        cls,
        docker_config: Path | None = None,
        secrets: Sequence[Path] = (),
        static: Mapping[str, Mapping[str, str]] | None = None,
        helper_path: str | None = None,
    ) -> Credentials:
        """Build from files and a ``{host: {username, password}}`` mapping (config or env)."""
        configs = [DockerConfig.from_secret(p) for p in secrets]
        if docker_config is not None and docker_config.exists():
            configs.append(DockerConfig.from_file(docker_config))
        fixed: dict[str, Credential] = {}
        for host, entry in (static or {}).items():
            cred = _decode_auth(host, entry)
            if cred is not None:
                fixed[registry_key(host)] = cred
        return cls(configs, fixed, helper_path)

    async def lookup(self, host: str) -> Credential | None:
        """Credential for an API host (``registry-1.docker.io`` for Docker Hub), or None."""
        key = registry_key(host)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > self.clock():
            return cached[1]
        cred = self.static.get(key)
        for config in self.configs:
            if cred is not None:
                break
            helper = config.cred_helpers.get(key)
            if helper is not None:
                cred = await self._helper(helper, key)
            elif key in config.auths:
                cred = config.auths[key]
            elif config.creds_store:
                cred = await self._helper(config.creds_store, key, missing_ok=True)
        self._cache[key] = (self.clock() + self.ttl, cred)
        return cred

    async def _helper(self, name: str, host: str, missing_ok: bool = False) -> Credential | None:
        server = "https://index.docker.io/v1/" if host == DOCKER_HUB_API else host
        env = dict(os.environ)  # adapter: the helper needs HOME, PATH and friends
        if self.helper_path is not None:
            env["PATH"] = self.helper_path
        try:
            proc = await asyncio.create_subprocess_exec(
                f"docker-credential-{name}",
                "get",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
            )
        except FileNotFoundError:
            if missing_ok:
                return None
            raise AuthError(f"credential helper docker-credential-{name} not found") from None
        try:
            out, _err = await asyncio.wait_for(proc.communicate(server.encode()), HELPER_TIMEOUT)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise AuthError(f"credential helper docker-credential-{name} timed out") from None
        if proc.returncode != 0:
            if missing_ok or b"credentials not found" in out.lower():
                return None
            raise AuthError(
                f"credential helper docker-credential-{name} failed for {host} "
                f"(exit {proc.returncode})"
            )
        try:
            doc = json.loads(out)
            username, secret = str(doc["Username"]), str(doc["Secret"])
        except (json.JSONDecodeError, KeyError, TypeError):
            raise AuthError(f"credential helper docker-credential-{name}: bad answer") from None
        if username == "<token>":
            return Credential(identity_token=secret)
        return Credential(username, secret)
