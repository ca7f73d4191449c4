"""Shared test set-up: offscreen Qt, isolated caches and settings, fixture modules.

Every module in ``tests/fixtures/`` is a pytest plugin, so each area of the suite adds fixtures
in a file of its own.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if not os.environ.get("XDG_RUNTIME_DIR"):
    # Qt warns without one, and qt_log_level_fail turns any Qt warning into a failure.
    os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="alexnet-gui-runtime-")
    os.chmod(os.environ["XDG_RUNTIME_DIR"], 0o700)

pytest_plugins = sorted(
    f"tests.fixtures.{path.stem}"
    for path in (Path(__file__).parent / "fixtures").glob("*.py")
    if path.stem != "__init__"
)


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> Path:
    """No test reads or writes the developer's torch cache, models folder or app settings."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("TORCH_HOME", str(home / "torch"))
    monkeypatch.setenv("ALEXNET_GUI_MODELS", str(home / "models"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    return home
