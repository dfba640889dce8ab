"""Reading rendered output through bot.core.manifests.yamlload; stable writing for diffs."""

from __future__ import annotations

import pytest

from bot.core.errors import ManifestError
from bot.core.flux._yaml import dump_yaml, load_rendered


def test_rendered_output_larger_than_the_limit_is_read_by_whole_documents() -> None:
    docs = [{"kind": "ConfigMap", "metadata": {"name": f"c{i}"}, "data": {"k": "v" * 50}}
            for i in range(40)]  # fmt: skip
    text = "".join("---\n" + dump_yaml(d) for d in docs)
    assert load_rendered(text, "big", limit=300) == docs  # ~100 characters a document
    with pytest.raises(ManifestError, match="big"):
        load_rendered("---\na: [" + "x, " * 200 + "\n", "big", limit=300)


def test_custom_tags_kept_as_text_and_timestamps_stay_strings() -> None:
    (doc,) = load_rendered("a: !env_var HOME\nb: 2024-01-01T00:00:00Z\nc: 'on'\nd: on\n", "x")
    assert doc == {"a": "HOME", "b": "2024-01-01T00:00:00Z", "c": "on", "d": "on"}


def test_alias_bombs_in_rendered_output_are_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 9):
        bomb += f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}"] * 10) + "]\n"
    with pytest.raises(ManifestError, match="alias bomb"):
        load_rendered(bomb, "helm output")


def test_dump_sorted_keys_and_literal_blocks() -> None:
    text = dump_yaml({"b": 1, "a": {"z": "line1\nline2\n", "y": [2, 1]}})
    assert text == "a:\n  y:\n  - 2\n  - 1\n  z: |\n    line1\n    line2\nb: 1\n"
