"""Process tuning, done once at start-up by the entry point, before torch or Qt is loaded.

Each setting here is an environment variable read by a library when it loads, so it has to be set
before the first import of that library, and it is set only if the user has not chosen otherwise.
It used to be a side effect of importing modules; one explicit call is easier to see and to test.
"""

from __future__ import annotations

import os
import sys


def prepare_process() -> None:
    """Set the environment the app runs best in; call before torch and Qt are imported.

    - ``OMP_WAIT_POLICY=PASSIVE``: torch's OpenMP threads otherwise spin for a while after every
      parallel op (pre-processing), and on a 2-core machine they took the cores OpenVINO's own
      threads needed next: a batch of 32 took 42-48 ms instead of 35. Read once, when torch
      loads its OpenMP runtime, so it is skipped when torch is already loaded.
    - ``QT_XCB_GL_INTEGRATION=none`` on Linux: Qt's GLX integration loads Mesa, and Mesa loads
      its own libLLVM; when the worker then imports torch, which imports triton (another LLVM),
      the process segfaults. The app draws with QPainter only, so X11 without OpenGL loses
      nothing. Set the variable to ``xcb_glx`` to get OpenGL back.
    """
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if sys.platform.startswith("linux"):
        os.environ.setdefault("QT_XCB_GL_INTEGRATION", "none")
