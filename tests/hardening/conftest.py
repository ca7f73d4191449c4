"""Set-up shared by the hardening tests (hostile inputs, faults; see tests/fixtures/hostile.py)."""

import pytest


@pytest.fixture(autouse=True)
def _pytorch_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pin ``auto`` to PyTorch: converting a model for a faster engine is not under test here."""
    monkeypatch.setenv("ALEXNET_GUI_ENGINE", "pytorch")
