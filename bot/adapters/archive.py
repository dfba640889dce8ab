"""Read a repository tree from a forge's ``tar.gz`` archive (one request instead of one per file).

GitHub's ``GET /repos/{owner}/{repo}/tarball/{ref}`` and GitLab's ``GET /projects/:id/repository/
archive?sha=`` both give the whole tree under one top directory (``owner-repo-sha/``,
``<project>-<sha>-<sha>/``). :func:`read_archive` consumes the stream once, without
writing anything to disk, keeps the text of the regular files ``want`` accepts, and gives up with
:class:`ArchiveUnusable` past its limits (compressed bytes, total member bytes, one file's bytes)
or on a malformed archive; the caller then falls back to the tree and raw-file endpoints.

    files = read_archive(chunks, is_yaml)
"""

from __future__ import annotations

import io
import tarfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass


class ArchiveUnusable(Exception):
    """The archive is too large, malformed or unavailable; read file by file instead."""


@dataclass(frozen=True)
class ArchiveLimits:
    compressed: int = 64 * 1024 * 1024  # bytes downloaded
    total: int = 512 * 1024 * 1024  # sum of member sizes (decompression bomb guard)
    file: int = 4 * 1024 * 1024  # one wanted file


class _GunzipReader(io.RawIOBase):
    """Decompressed bytes of a gzip stream arriving as chunks, within the limits.

    zlib checks the gzip trailer (CRC-32 and length) itself; :meth:`finish` insists on it, so a
    truncated download is refused instead of read as a smaller tree.
    """

    def __init__(self, chunks: Iterable[bytes], limits: ArchiveLimits) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._zlib = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        self._buffer = b""
        self._limits = limits
        self._compressed = 0
        self._expanded = 0

    def readable(self) -> bool:
        return True

    def _more(self) -> bool:
        chunk = next(self._chunks, None)
        if chunk is None:
            return False
        self._compressed += len(chunk)
        if self._compressed > self._limits.compressed:
            raise ArchiveUnusable(f"archive larger than {self._limits.compressed} bytes")
        if self._zlib.eof:
            return True  # bytes after the gzip member: ignored, as gzip does
        self._buffer += self._zlib.decompress(chunk, self._limits.file)
        while self._zlib.unconsumed_tail:  # bounded steps: a small chunk can expand a lot
            self._check()
            self._buffer += self._zlib.decompress(self._zlib.unconsumed_tail, self._limits.file)
        self._check()
        return True

    def _check(self) -> None:
        if self._expanded + len(self._buffer) > self._limits.total:
            raise ArchiveUnusable(f"archive expands beyond {self._limits.total} bytes")

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._buffer:
            if not self._more():
                return 0
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        self._expanded += n
        return n

    def finish(self) -> None:
        """Consume the rest of the stream; refuse it unless the gzip trailer was verified."""
        while not self._zlib.eof and self._more():
            self._buffer = b""
        if not self._zlib.eof:
            raise ArchiveUnusable("archive truncated")


def read_archive(
    chunks: Iterable[bytes], want: Callable[[str], bool], limits: ArchiveLimits | None = None
) -> dict[str, str]:
    """``{path: text}`` of the wanted regular files in a forge's ``tar.gz`` archive stream."""
    limits = limits or ArchiveLimits()
    files: dict[str, str] = {}
    total = 0
    raw = _GunzipReader(chunks, limits)
    try:
        with tarfile.open(fileobj=io.BufferedReader(raw, 64 * 1024), mode="r|") as tar:
            for member in tar:
                total += max(member.size, 0)
                if total > limits.total:
                    raise ArchiveUnusable(f"archive expands beyond {limits.total} bytes")
                _top, sep, path = member.name.partition("/")
                if not member.isreg() or not sep or not path or not want(path):
                    continue
                if member.size > limits.file:
                    raise ArchiveUnusable(f"{path}: {member.size} bytes")
                handle = tar.extractfile(member)
                if handle is None:
                    continue
                try:
                    files[path] = handle.read().decode("utf-8")
                except UnicodeDecodeError:
                    continue  # not text: nothing fluxbot can plan in it
        raw.finish()
    except (tarfile.TarError, EOFError, OSError, ValueError, zlib.error) as exc:
        raise ArchiveUnusable(f"unreadable archive: {type(exc).__name__}") from exc
    return files
