"""bot.core.manifests.setters.apply: Flux $imagepolicy markers, golden before/after texts."""

from __future__ import annotations

import pytest

from bot.core.errors import ManifestError
from bot.core.manifests.setters import Field, apply, find_markers, parse_marker

DIGEST = "sha256:" + "0123456789abcdef" * 4
RESULTS = {
    "flux-system:podinfo": {"image": "ghcr.io/stefanprodan/podinfo", "tag": "6.7.1"},
    "apps:pinned": {"image": "ghcr.io/org/app", "tag": "2.0.0", "digest": DIGEST},
    "apps:numeric": {"image": "registry.local/num", "tag": "1.10"},
}
M = '# {"$imagepolicy": "flux-system:podinfo"}'


def test_plain_marker_writes_name_and_tag() -> None:
    before = f"spec:\n  containers:\n    - name: app\n      image: podinfo:6.0.0 {M}\n"
    after = before.replace("podinfo:6.0.0", "ghcr.io/stefanprodan/podinfo:6.7.1")
    assert apply(before, RESULTS) == after


def test_plain_marker_with_digest_writes_name_tag_digest() -> None:
    before = 'image: app:1.0.0 # {"$imagepolicy": "apps:pinned"}\n'
    after = f'image: ghcr.io/org/app:2.0.0@{DIGEST} # {{"$imagepolicy": "apps:pinned"}}\n'
    assert apply(before, RESULTS) == after


@pytest.mark.parametrize(
    ("suffix", "before", "after"),
    [
        ("tag", "6.0.0", "6.7.1"),
        ("name", "old/name", "ghcr.io/stefanprodan/podinfo"),
    ],
)
def test_suffix_markers(suffix: str, before: str, after: str) -> None:
    comment = f'# {{"$imagepolicy": "flux-system:podinfo:{suffix}"}}'
    text = f"values:\n  image:\n    x: {before} {comment}\n"
    assert apply(text, RESULTS) == f"values:\n  image:\n    x: {after} {comment}\n"


def test_digest_marker_writes_digest_alone() -> None:
    text = 'digest: sha256:old # {"$imagepolicy": "apps:pinned:digest"}\n'
    assert apply(text, RESULTS) == text.replace("sha256:old", DIGEST)


def test_digest_marker_without_digest_left_alone() -> None:
    text = 'digest: sha256:old # {"$imagepolicy": "flux-system:podinfo:digest"}\n'
    assert apply(text, RESULTS) == text


def test_kustomize_images_name_and_tag_markers() -> None:
    before = (
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "images:\n"
        "- name: podinfo\n"
        '  newName: old # {"$imagepolicy": "flux-system:podinfo:name"}\n'
        '  newTag: v1 # {"$imagepolicy": "flux-system:podinfo:tag"}\n'
    )
    after = before.replace("newName: old", "newName: ghcr.io/stefanprodan/podinfo").replace(
        "newTag: v1", "newTag: 6.7.1"
    )
    assert apply(before, RESULTS) == after


def test_namespace_is_required_and_unknown_policies_left_alone() -> None:
    text = (
        'a: x:1 # {"$imagepolicy": "podinfo"}\n'
        'b: x:1 # {"$imagepolicy": "other:policy"}\n'
        'c: x:1 # {"$imagepolicy": "flux-system:podinfo:bogus"}\n'
        'd: x:1 # {"$imagepolicy": ""}\n'
    )
    assert apply(text, RESULTS) == text


def test_marker_inside_block_scalar_is_text() -> None:
    text = 'script: |\n  image: x:1 # {"$imagepolicy": "flux-system:podinfo"}\n  - y:1\nz: 1\n'
    assert apply(text, RESULTS) == text


def test_comment_must_be_a_json_object_of_strings() -> None:
    text = (
        'a: x:1 # see {"$imagepolicy": "flux-system:podinfo"}\n'
        'b: x:1 # {"$imagepolicy": "flux-system:podinfo", "n": 1}\n'
        "c: x:1 # {'$imagepolicy': 'flux-system:podinfo'}\n"
        'd: x:1 # {"$imagepolicy": "flux-system:podinfo"} trailing\n'
    )
    assert apply(text, RESULTS) == text
    ok = 'e: x:1 ##{"$imagepolicy":"flux-system:podinfo","other":"v"}\n'
    assert apply(ok, RESULTS) == ok.replace("x:1", "ghcr.io/stefanprodan/podinfo:6.7.1")


def test_equal_value_changes_nothing_even_quoting() -> None:
    text = 'tag: 1.10 # {"$imagepolicy": "apps:numeric:tag"}\n'
    assert apply(text, RESULTS) == text


def test_plain_value_reading_as_number_gets_double_quotes() -> None:
    text = 'tag: 1.9 # {"$imagepolicy": "apps:numeric:tag"}\n'
    assert apply(text, RESULTS) == 'tag: "1.10" # {"$imagepolicy": "apps:numeric:tag"}\n'


@pytest.mark.parametrize(
    ("value", "expected"),
    [("'1.9'", "'1.10'"), ('"1.9"', '"1.10"'), ("'v1'", "'1.10'"), ('"v1"', '"1.10"')],
)
def test_quoted_values_keep_their_style(value: str, expected: str) -> None:
    text = f'tag: {value} # {{"$imagepolicy": "apps:numeric:tag"}}\n'
    assert apply(text, RESULTS) == text.replace(value, expected)


def test_yaml11_booleans_are_quoted() -> None:
    results = {"a:b": {"image": "x", "tag": "yes"}}
    text = 'tag: v1 # {"$imagepolicy": "a:b:tag"}\n'
    assert apply(text, results) == 'tag: "yes" # {"$imagepolicy": "a:b:tag"}\n'


def test_sequence_items_line_and_head_comment() -> None:
    before = (
        "args:\n"
        '  - podinfo:1 # {"$imagepolicy": "flux-system:podinfo"}\n'
        '  # {"$imagepolicy": "flux-system:podinfo:tag"}\n'
        "  - 6.0.0\n"
        "  # two lines\n"
        '  # {"$imagepolicy": "flux-system:podinfo:tag"}\n'
        "  - 6.0.0\n"
    )
    after = (
        "args:\n"
        '  - ghcr.io/stefanprodan/podinfo:6.7.1 # {"$imagepolicy": "flux-system:podinfo"}\n'
        '  # {"$imagepolicy": "flux-system:podinfo:tag"}\n'
        "  - 6.7.1\n"
        "  # two lines\n"
        '  # {"$imagepolicy": "flux-system:podinfo:tag"}\n'
        "  - 6.0.0\n"
    )
    assert apply(before, RESULTS) == after


def test_head_comment_above_mapping_key_is_not_a_marker() -> None:
    text = '# {"$imagepolicy": "flux-system:podinfo"}\nimage: x:1\n'
    assert apply(text, RESULTS) == text


def test_crlf_bom_comments_blank_lines_and_document_markers_preserved() -> None:
    before = (
        "\ufeff# header comment\r\n"
        "---\r\n"
        "kind: A   # trailing   \r\n"
        "\r\n"
        f"image: podinfo:6.0.0   {M}\r\n"
        "...\r\n"
        "---\r\n"
        f"other: [a, b]\r\n"
        f"image: 'podinfo:6.0.0'\t{M}\r\n"
    )
    after = before.replace("podinfo:6.0.0", "ghcr.io/stefanprodan/podinfo:6.7.1")
    assert apply(before, RESULTS) == after


def test_anchor_and_alias_value_set_once() -> None:
    before = f"a: &img podinfo:6.0.0 {M}\nb: *img\n"
    after = f"a: &img ghcr.io/stefanprodan/podinfo:6.7.1 {M}\nb: *img\n"
    assert apply(before, RESULTS) == after


def test_flow_mapping_value_with_marker_after_it_is_not_a_marker() -> None:
    text = f'x: {{image: "podinfo:6.0.0"}} {M}\n'
    assert apply(text, RESULTS) == text


def test_any_crd_and_nested_lists() -> None:
    before = (
        "apiVersion: example.com/v1\nkind: Thing\nspec:\n  matrix:\n    - - name: a\n"
        f"        ref: podinfo:6.0.0 {M}\n"
    )
    assert apply(before, RESULTS) == before.replace(
        "podinfo:6.0.0", "ghcr.io/stefanprodan/podinfo:6.7.1"
    )


def test_file_without_token_is_returned_untouched_even_if_invalid() -> None:
    text = "this: is: not: yaml: [\n"
    assert apply(text, RESULTS) is text


def test_invalid_yaml_with_markers_is_a_manifest_error() -> None:
    with pytest.raises(ManifestError):
        apply(f"a: [x {M}\n", RESULTS)


def test_parse_marker_and_find_markers() -> None:
    assert parse_marker(' {"$imagepolicy": "ns:p:tag"}') == ("ns:p", Field.TAG)
    assert parse_marker('{"$imagepolicy": "ns:p"}') == ("ns:p", Field.IMAGE)
    assert parse_marker('{"$imagepolicy": "p"}') is None
    text = f"k: v\nimage: podinfo:6.0.0 {M}\n"
    (marker,) = find_markers(text)
    assert (marker.policy, marker.field, marker.line, marker.path) == (
        "flux-system:podinfo",
        Field.IMAGE,
        1,
        ("image",),
    )
    assert text[marker.start : marker.end] == "podinfo:6.0.0"
