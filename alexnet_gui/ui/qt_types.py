"""Small typing helpers for PyQt5's stubs.

The stubs mark many getters Optional (``menuBar()``, ``style()``, ``horizontalHeader()``,
``QMenu.addMenu()``...) because the C++ API may return a null pointer. For the live widgets this
package asks, they never do; :func:`present` states that once instead of at every call site.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def present(value: T | None) -> T:
    """``value``, which Qt's stubs call Optional but which is never None here."""
    assert value is not None, "Qt returned a null object"
    return value
