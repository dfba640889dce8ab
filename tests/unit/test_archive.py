"""One archive reader for GitHub's tarball and GitLab's archive: paths, text, limits, bad input."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest

from bot.adapters.archive import ArchiveLimits, ArchiveUnusable, read_archive
from bot.adapters.github.api import blob_sha, extract_texts
from bot.ports import is_yaml

TOP = "app-0123abcd-0123abcd"


def archive(files: dict[str, bytes], symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        tar.pax_headers = {"comment": "0123abcd"}  # git archive's global header
        top = tarfile.TarInfo(TOP)
        top.type = tarfile.DIRTYPE
        tar.addfile(top)
        for path, data in files.items():
            info = tarfile.TarInfo(f"{TOP}/{path}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if symlink:
            link = tarfile.TarInfo(f"{TOP}/{symlink}")
            link.type = tarfile.SYMTYPE
            link.linkname = "/etc/passwd"
            tar.addfile(link)
    return buffer.getvalue()


def chunks(data: bytes, size: int = 7) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_wanted_text_files_without_the_top_directory() -> None:
    data = archive(
        {
            "apps/a.yaml": b"a: 1\r\n",
            "deep/er/b.yml": "b: \u00e9\n".encode(),
            "README.md": b"# hi\n",
            "bin.yaml": b"\xff\xfe\x00",
        },
        symlink="link.yaml",
    )
    assert read_archive(chunks(data), is_yaml) == {
        "apps/a.yaml": "a: 1\r\n",
        "deep/er/b.yml": "b: \u00e9\n",
    }
    assert set(read_archive([data], lambda p: True)) == {
        "apps/a.yaml",
        "deep/er/b.yml",
        "README.md",
    }


def test_limits() -> None:
    data = archive({"a.yaml": b"x" * 5000, "b.yaml": b"y" * 5000})
    with pytest.raises(ArchiveUnusable, match="larger than"):
        read_archive(chunks(data, 64), is_yaml, ArchiveLimits(compressed=len(data) - 1))
    with pytest.raises(ArchiveUnusable, match="expands beyond"):
        read_archive([data], is_yaml, ArchiveLimits(total=8000))
    with pytest.raises(ArchiveUnusable, match=r"a\.yaml: 5000 bytes"):
        read_archive([data], is_yaml, ArchiveLimits(file=4096))
    assert len(read_archive([data], is_yaml, ArchiveLimits(file=5000))) == 2


@pytest.mark.parametrize(
    "body",
    [b"", b"not an archive", gzip.compress(b"not a tar" * 100), archive({"a.yaml": b"a"})[:-40]],
)
def test_malformed_archives(body: bytes) -> None:
    with pytest.raises(ArchiveUnusable):
        read_archive([body], is_yaml)


def test_truncated_download_is_refused_not_read_as_a_smaller_tree() -> None:
    data = archive({"a.yaml": b"a: 1\n", "b.yaml": b"b: 2\n" * 2000})
    with pytest.raises(ArchiveUnusable):
        read_archive(chunks(data[: len(data) // 2], 64), is_yaml)
    with pytest.raises(ArchiveUnusable, match="truncated"):
        read_archive([data[:-8]], is_yaml)  # only the gzip trailer (CRC, length) missing


def test_decompression_bomb_stops_early() -> None:
    bomb = archive({"zeros.bin": bytes(64 * 1024 * 1024)})
    assert len(bomb) < 200_000
    with pytest.raises(ArchiveUnusable, match="expands beyond"):
        read_archive(chunks(bomb, 65536), is_yaml, ArchiveLimits(total=8 * 1024 * 1024))


def test_github_tarball_texts_are_checked_against_their_blob_sha() -> None:
    data = archive({"a.yaml": b"a: 1\n", "b.yaml": b"b: 2\n", "c.yaml": b"c: 3\n"})
    wanted = {"a.yaml": blob_sha("a: 1\n"), "b.yaml": blob_sha("b: stale\n")}
    assert extract_texts(data, wanted, ArchiveLimits()) == {"a.yaml": "a: 1\n"}


def test_github_tarball_bomb_is_refused_as_gitlabs_is() -> None:
    bomb = archive({"zeros.yaml": bytes(64 * 1024 * 1024)})
    with pytest.raises(ArchiveUnusable, match="expands beyond"):
        extract_texts(bomb, {"zeros.yaml": "0" * 40}, ArchiveLimits(total=8 * 1024 * 1024))
