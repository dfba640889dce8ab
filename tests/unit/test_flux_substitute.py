"""postBuild substitution: drone/envsubst semantics as kustomize-controller applies them."""

from __future__ import annotations

import pytest

from bot.core.errors import RenderError
from bot.core.flux.substitute import collect_vars, disabled, envsubst, validate_names

# cases from drone/envsubst's own eval tests (tldp parameter-substitution examples)
CASES = [
    ({}, "abcdEFGH28ij", "abcdEFGH28ij"),
    ({"var01": "abcdEFGH28ij"}, "${#var01}", "12"),
    ({"var01": "abcdEFGH28ij"}, "${var01^}", "AbcdEFGH28ij"),
    ({"var01": "abcdEFGH28ij"}, "${var01^^}", "ABCDEFGH28IJ"),
    ({"var01": "ABCDEFGH28IJ"}, "${var01,}", "aBCDEFGH28IJ"),
    ({"var01": "ABCDEFGH28IJ"}, "${var01,,}", "abcdefgh28ij"),
    ({"p": "/home/bozo/ideas/thoughts.for.today"}, "${p:11}", "ideas/thoughts.for.today"),
    ({"p": "/home/bozo/ideas/thoughts.for.today"}, "${p:11:5}", "ideas"),
    ({"var": "abc"}, "${var=abc}", "abc"),
    ({}, "${var=xyz}", "xyz"),
    ({"default_var": "foo"}, "something ${var=${default_var}}", "something foo"),
    ({"default_var": "foo1"}, "foo: ${var=${default_var}-suffix}", "foo: foo1-suffix"),
    ({"default_var": "foo1"}, "foo: ${var=prefix${default_var}-suffix}", "foo: prefixfoo1-suffix"),
    ({}, "${var:=xyz}", "xyz"),
    ({}, "${var:-xyz}", "xyz"),
    ({"var": "set"}, "${var:-xyz}", "set"),
    ({"s": "abcABC123ABCabc"}, "${s/%abc/XYZ}", "abcABC123ABCXYZ"),
    ({"s": "abcABC123ABCabc"}, "${s/#abc/XYZ}", "XYZABC123ABCabc"),
    ({"s": "abcABC123ABCabc"}, "${s//abc/xyz}", "xyzABC123ABCxyz"),
    ({"s": "abcABC123ABCabc"}, "${s/abc/xyz}", "xyzABC123ABCabc"),
    ({"f": "bash.string.txt"}, "${f#*.}", "string.txt"),
    ({"f": "bash.string.txt"}, "${f##*.}", "txt"),
    ({"f": "path/to/file"}, "${f##*/}", "file"),
    ({"f": "bash.string.txt"}, "${f%.*}", "bash.string"),
    ({"f": "bash.string.txt"}, "${f%%.*}", "bash"),
    ({"var01": "abcdEFGH28ij"}, "${var=${var01^^}}", "ABCDEFGH28IJ"),
    ({"var01": "abcdEFGH28ij"}, "$${var01}", "${var01}"),
    (
        {"var01": "abcdEFGH28ij"},
        "some text ${var01}$${var$${var01}$var01${var01}",
        "some text abcdEFGH28ij${var${var01}$var01abcdEFGH28ij",
    ),
    ({"default_var": "foo"}, "something $${var=${default_var}}", "something ${var=foo}"),
    ({"s": "foo/bar"}, "${s/\\//-}", "foo-bar"),
    ({"s": "foo/bar/baz"}, "${s//\\//-}", "foo-bar-baz"),
    ({"s": "foo.bar"}, "${s/./}", "foobar"),
    ({}, "unknown: '${NOPE}' and $PLAIN", "unknown: '' and $PLAIN"),
]


@pytest.mark.parametrize(("params", "text", "want"), CASES)
def test_envsubst_matches_drone(params: dict[str, str], text: str, want: str) -> None:
    assert envsubst(text, params) == want


@pytest.mark.parametrize("bad", ["${}", "${a b}", "${a", "${a:?x", "${!x}"])
def test_bad_substitution_is_a_render_error(bad: str) -> None:
    with pytest.raises(RenderError, match="bad substitution"):
        envsubst(bad, {"a": "1"})


def test_vars_order_newlines_and_names() -> None:
    merged = collect_vars([{"A": "1", "B": "x\ny"}, {"A": "2"}], {"C": "3", "A": "4"})
    assert merged == {"A": "4", "B": "xy", "C": "3"}
    with pytest.raises(RenderError, match="var name is invalid"):
        validate_names({"bad-name": "1"})


def test_disabled_by_label_or_annotation() -> None:
    key = "kustomize.toolkit.fluxcd.io/substitute"
    assert disabled({"metadata": {"labels": {key: "disabled"}}})
    assert disabled({"metadata": {"annotations": {key: "disabled"}}})
    assert not disabled({"metadata": {"annotations": {key: "enabled"}}})
