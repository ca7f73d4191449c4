"""Every test here fails if it leaves a QThread running (see tests/fixtures/qt.py)."""

import pytest


@pytest.fixture(autouse=True)
def _no_thread_left_running(qthread_guard) -> None:
    """Apply the thread guard to every test of this folder."""
