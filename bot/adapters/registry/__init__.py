"""Registry adapter: an async OCI distribution client (tags, digests, metadata) over httpx.

    from bot.adapters.registry import RegistryClient
    async with RegistryClient(insecure=["127.0.0.1:5000"]) as client:
        tags = await client.tags("127.0.0.1:5000/app")

Modules: ``protocol`` (pure parsing), ``guard`` (SSRF), ``credentials``, ``auth`` (token flow),
``transport`` (retries, limits, redirects), ``cache`` (TTL tag cache), ``client``.
"""

from __future__ import annotations

from bot.adapters.registry.cache import MemoryTagCache, SQLiteTagCache, TagCache
from bot.adapters.registry.client import ImageInfo, Limits, RegistryClient
from bot.adapters.registry.credentials import Credential, Credentials
from bot.adapters.registry.protocol import Platform
from bot.adapters.registry.transport import Retry, Stats

__all__ = [
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
