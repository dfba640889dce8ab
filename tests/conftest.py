"""Root conftest: loads every ``tests/support/*_fixtures.py`` as a pytest plugin.

Each feature ships its shared fixtures (loopback registry, fake GitHub, ...) in its own
``tests/support/<feature>_fixtures.py`` so features never edit a common file.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.paths import SHARED, TESTDATA  # noqa: F401  (re-exported)

pytest_plugins = sorted(
    f"tests.support.{p.stem}" for p in (Path(__file__).parent / "support").glob("*_fixtures.py")
)
