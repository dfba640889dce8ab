"""``pip install .`` (not editable) ships policies/ and fluxbot finds it there.

Building a wheel needs setuptools>=68 from the network, so the packaging is checked from its
two halves: pyproject's data-files cover every file of policies/, and the lookup finds an
installed copy under the scheme's data path when no checkout sits next to the package.
"""

from __future__ import annotations

import glob
import sysconfig
import tomllib
from pathlib import Path

import pytest

from bot.core.errors import ConfigError
from bot.core.policy import presets

ROOT = Path(__file__).resolve().parents[2]


def test_data_files_cover_every_policy_file() -> None:
    data_files = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "data-files"
    ]
    installed: dict[str, str] = {}
    for target, patterns in data_files.items():
        for pattern in patterns:
            for source in glob.glob(pattern, root_dir=ROOT):
                installed[source] = f"{target}/{Path(source).name}"
    shipped = {str(p.relative_to(ROOT)) for p in (ROOT / "policies").rglob("*") if p.is_file()} - {
        "policies/README.md"
    }
    assert shipped <= set(installed), f"not installed: {sorted(shipped - set(installed))}"
    for source in shipped:  # the same layout under share/fluxbot/ as in the checkout
        assert installed[source] == "share/fluxbot/" + source


def _install_copy(prefix: Path) -> Path:
    target = prefix / "share" / "fluxbot" / "policies"
    (target / "presets").mkdir(parents=True)
    (target / "schema.json").write_text((ROOT / "policies" / "schema.json").read_text())
    for preset in (ROOT / "policies" / "presets").glob("*.yaml"):
        (target / "presets" / preset.name).write_text(preset.read_text())
    return target


@pytest.mark.parametrize("scheme", ["prefix", "user"])
def test_installed_copy_is_found(
    scheme: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix, elsewhere = tmp_path / scheme, tmp_path / "elsewhere"
    target = _install_copy(prefix)
    user_scheme = sysconfig.get_preferred_scheme("user")

    def get_path(name: str, scheme_name: str | None = None) -> str:
        assert name == "data"
        is_user = scheme_name == user_scheme
        return str(prefix if is_user == (scheme == "user") else elsewhere)

    monkeypatch.setattr(presets, "_CHECKOUT", tmp_path / "no-checkout" / "policies")
    monkeypatch.setattr(presets.sysconfig, "get_path", get_path)
    assert presets.policies_dir() == target


def test_missing_data_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(presets, "_CHECKOUT", tmp_path / "policies")
    monkeypatch.setattr(presets.sysconfig, "get_path", lambda *_: str(tmp_path))
    with pytest.raises(ConfigError, match=r"schema\.json, presets"):
        presets.policies_dir()
