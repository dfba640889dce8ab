"""The image → repositories index (:class:`bot.ports.ImageIndex`), in memory or in the SQLite
cache file beside the tag cache (the Redis one lives in :mod:`bot.adapters.redis_state`).

    index = SQLiteImageIndex(Path("cache.db"))
    await index.record(RepoRef("github", "acme/gitops", 7), ["ghcr.io/acme/app"], replace=True)
    await index.repositories("ghcr.io/acme/app")   # [RepoRef("github", "acme/gitops", 7)]

Only a cache (DESIGN.md §4): losing it means a push waits for the next scheduled plan.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from bot.adapters.registry.cache import open_table
from bot.ports import RepoRef

__all__ = ["MemoryImageIndex", "SQLiteImageIndex"]


class MemoryImageIndex:
    """In-process index (the embedded default without ``FLUXBOT_CACHE``)."""

    def __init__(self) -> None:
        self._by_image: dict[str, dict[RepoRef, None]] = {}
        self._by_repo: dict[tuple[str, str], set[str]] = {}

    async def record(self, repo: RepoRef, keys: Iterable[str], *, replace: bool) -> None:
        wanted = set(keys)
        ident = (repo.forge, repo.repo)
        old = self._by_repo.get(ident, set())
        for key in old - wanted if replace else ():
            entries = self._by_image.get(key, {})
            for ref in [r for r in entries if (r.forge, r.repo) == ident]:
                entries.pop(ref)
            if not entries:
                self._by_image.pop(key, None)
        for key in wanted:
            entries = self._by_image.setdefault(key, {})
            for ref in [r for r in entries if (r.forge, r.repo) == ident and r != repo]:
                entries.pop(ref)  # a new installation id replaces the old one
            entries[repo] = None
        self._by_repo[ident] = wanted if replace else old | wanted

    async def repositories(self, key: str) -> list[RepoRef]:
        return sorted(self._by_image.get(key, {}), key=lambda r: (r.forge, r.repo))


class SQLiteImageIndex:
    """The index as a table of the cache file (``FLUXBOT_CACHE``), so a restart keeps it."""

    def __init__(self, path: Path) -> None:
        self._db = open_table(
            path,
            "the image index",
            "CREATE TABLE IF NOT EXISTS image_index (image TEXT NOT NULL, forge TEXT NOT NULL,"
            " repo TEXT NOT NULL, installation INTEGER, PRIMARY KEY (image, forge, repo))",
        )

    async def record(self, repo: RepoRef, keys: Iterable[str], *, replace: bool) -> None:
        rows = [(key, repo.forge, repo.repo, repo.installation_id) for key in set(keys)]
        with self._db:
            self._db.execute("BEGIN")
            if replace:
                self._db.execute(
                    "DELETE FROM image_index WHERE forge = ? AND repo = ?", (repo.forge, repo.repo)
                )
            self._db.executemany(
                "INSERT OR REPLACE INTO image_index (image, forge, repo, installation)"
                " VALUES (?, ?, ?, ?)",
                rows,
            )

    async def repositories(self, key: str) -> list[RepoRef]:
        rows = self._db.execute(
            "SELECT forge, repo, installation FROM image_index WHERE image = ?"
            " ORDER BY forge, repo",
            (key,),
        ).fetchall()
        return [RepoRef(str(f), str(r), None if i is None else int(i)) for f, r, i in rows]

    def close(self) -> None:
        self._db.close()
