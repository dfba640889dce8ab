"""bot.core.manifests.yamlload: real-repo YAML features, limits and clear errors."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.errors import ManifestError
from bot.core.manifests.yamlload import Mapping, Scalar, compose_documents, load_documents
from tests.support.paths import FLUX_EXAMPLE, ONEDR0P


def test_multi_document_anchors_merge_and_custom_tags() -> None:
    text = (
        "base: &b {x: 1, y: [a, b]}\n"
        "other:\n  <<: *b\n  y: over\n"
        "---\n"
        "key: !env_var SONARR_API_KEY\n"
        "seq: !custom [1, 2]\n"
    )
    assert load_documents(text, "f.yaml") == [
        {"base": {"x": 1, "y": ["a", "b"]}, "other": {"x": 1, "y": "over"}},
        {"key": "SONARR_API_KEY", "seq": [1, 2]},
    ]


def test_duplicate_anchor_later_definition_wins() -> None:
    text = "a: &x one\nb: *x\nc: &x two\nd: *x\n"
    assert load_documents(text, "f.yaml") == [{"a": "one", "b": "one", "c": "two", "d": "two"}]


def test_core_schema_scalars() -> None:
    text = (
        "i: 42\nneg: -7\nhex: 0x1F\noct: 0o17\nf: 1.50\ninf: .inf\nt: true\nn: ~\ne:\n"
        "s: '1.0'\nyes: yes\nstr: !!str 3\nflt: !!float 3\nver: 1.2.3\n"
    )
    (doc,) = load_documents(text, "f.yaml")
    assert doc == {
        "i": 42, "neg": -7, "hex": 31, "oct": 15, "f": 1.5, "inf": float("inf"), "t": True,
        "n": None, "e": None, "s": "1.0", "yes": "yes", "str": "3", "flt": 3.0, "ver": "1.2.3",
    }  # fmt: skip


def test_bom_and_crlf_positions() -> None:
    text = "\ufeffkind: Pod\r\nimage: nginx:1.25 # c\r\n"
    (doc,) = compose_documents(text, "f.yaml")
    assert isinstance(doc, Mapping)
    value = doc.pairs[1][1]
    assert isinstance(value, Scalar)
    assert text[value.start : value.end] == "nginx:1.25"
    assert value.line == 1
    assert load_documents(text, "f.yaml") == [{"kind": "Pod", "image": "nginx:1.25"}]


def test_quoted_scalar_span_includes_quotes() -> None:
    text = "a: \"é:1\"\nb: 'x'\n"
    (doc,) = compose_documents(text, "f.yaml")
    assert isinstance(doc, Mapping)
    spans = [text[v.start : v.end] for _, v in doc.pairs]
    assert spans == ['"é:1"', "'x'"]


def test_empty_document_is_none() -> None:
    assert load_documents("---\na: 1\n---\n", "f.yaml") == [{"a": 1}, None]


def test_alias_bomb_refused_with_file_and_document() -> None:
    lines = ["---", "x: 1", "---", "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for i in range(1, 9):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    with pytest.raises(ManifestError, match=r"bomb\.yaml: document 2, line \d+: .*alias"):
        load_documents("\n".join(lines) + "\n", "bomb.yaml")


def test_small_alias_fanout_is_fine() -> None:
    text = "a: &a [1, 2, 3]\nb: [*a, *a, *a, *a]\n"
    assert load_documents(text, "f.yaml")[0]["b"] == [[1, 2, 3]] * 4


def test_recursive_alias_refused() -> None:
    with pytest.raises(ManifestError, match="undefined alias"):
        load_documents("a: &x [1, *x]\n", "rec.yaml")


def test_oversized_file_refused() -> None:
    text = "a: " + "x" * (5 * 1024 * 1024) + "\n"
    with pytest.raises(ManifestError, match=r"big\.yaml: .*limit"):
        load_documents(text, "big.yaml")


def test_syntax_error_names_file_document_and_line() -> None:
    with pytest.raises(ManifestError, match=r"bad\.yaml: document 2, line 4"):
        load_documents("a: 1\n---\nb: [\n", "bad.yaml")


def test_collection_key_refused() -> None:
    with pytest.raises(ManifestError, match="mapping key"):
        load_documents("? [a]\n: b\n", "f.yaml")


def _yaml_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


@pytest.mark.parametrize("root", [ONEDR0P, FLUX_EXAMPLE], ids=["onedr0p", "flux-example"])
def test_every_testdata_file_loads(root: Path) -> None:
    files = _yaml_files(root)
    assert len(files) > 10
    docs = 0
    for path in files:
        docs += len(load_documents(path.read_text(encoding="utf-8"), str(path)))
    assert docs >= len(files)


def test_anchor_and_tag_are_not_part_of_the_scalar_span() -> None:
    text = 'a: &x !!str 1.0\nb: !e &y\n  # note\n  "q"\n'
    (doc,) = compose_documents(text, "f.yaml")
    assert isinstance(doc, Mapping)
    values = [v for _, v in doc.pairs]
    assert all(isinstance(v, Scalar) for v in values)
    spans = [(text[v.start : v.end], v.line) for v in values if isinstance(v, Scalar)]
    assert spans == [("1.0", 0), ('"q"', 3)]


def test_yaml12_flow_plain_with_colon_falls_back_to_pure_parser() -> None:
    # libyaml (YAML 1.1) refuses ``nginx:1.25`` in a flow mapping; go-yaml and ruamel accept it
    text = "\ufeffa: {name: x, image: nginx:1.25}\r\nb: &y !!str 'q'\n"
    (doc,) = compose_documents(text, "f.yaml")
    assert isinstance(doc, Mapping)
    flow_map = doc.pairs[0][1]
    assert isinstance(flow_map, Mapping) and flow_map.flow
    image = flow_map.pairs[1][1]
    assert isinstance(image, Scalar) and image.flow
    assert text[image.start : image.end] == "nginx:1.25"
    quoted = doc.pairs[1][1]
    assert isinstance(quoted, Scalar) and text[quoted.start : quoted.end] == "'q'"
    assert load_documents(text, "f.yaml") == [{"a": {"name": "x", "image": "nginx:1.25"}, "b": "q"}]


def test_excessive_nesting_refused() -> None:
    with pytest.raises(ManifestError, match="nesting deeper"):
        load_documents("a: " + "[" * 300 + "]" * 300 + "\n", "deep.yaml")


@pytest.mark.parametrize("text", ["a: \x07b\n", "a: \x00\n", "a: \ud800\n", "a: *nope\n"])
def test_unreadable_text_is_a_manifest_error(text: str) -> None:
    with pytest.raises(ManifestError, match=r"^x\.yaml: document 1"):
        load_documents(text, "x.yaml")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!|>'\"#,? \n\t\r@%`\\\x00é")), max_size=60))
def test_any_text_loads_or_raises_manifest_error(text: str) -> None:
    with contextlib.suppress(ManifestError):
        load_documents(text, "fuzz.yaml")
