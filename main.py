"""Thin launcher, and PyInstaller's entry point: the excepthook first, then the command line.

The hook goes in before anything heavy is imported, so that even an exception raised while
starting up (or later, in a Qt slot) is logged and shown instead of aborting the process.
"""

from __future__ import annotations


def main() -> None:
    from alexnet_gui.ui.excepthook import install_excepthook

    install_excepthook()
    from alexnet_gui.cli import entry_point

    entry_point()


if __name__ == "__main__":
    main()
