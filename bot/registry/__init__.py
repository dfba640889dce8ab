"""Registry adapter: an async OCI distribution client (tags, digests, metadata) over httpx.

    from bot.registry import RegistryClient
    async with RegistryClient(insecure=["127.0.0.1:5000"]) as client:
        tags = await client.tags("127.0.0.1:5000/app")

Modules: ``protocol`` (pure parsing), ``guard`` (SSRF), ``credentials``, ``auth`` (token flow),
``transport`` (retries, limits, redirects), ``cache`` (TTL tag cache), ``client``.
"""

from __future__ import annotations

from bot.registry.cache import MemoryTagCache, SQLiteTagCache, TagCache
from bot.registry.client import FLUX_DEFAULT_EXCLUSION, ImageInfo, Limits, RegistryClient
from bot.registry.credentials import Credential, Credentials
from bot.registry.protocol import Platform
from bot.registry.transport import Retry, Stats

__all__ = [
    "FLUX_DEFAULT_EXCLUSION",
    "Credential",
    "Credentials",
    "ImageInfo",
    "Limits",
    "MemoryTagCache",
    "Platform",
    "RegistryClient",
    "Retry",
    "SQLiteTagCache",
    "Stats",
    "TagCache",
]
