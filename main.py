"""Thin launcher, and PyInstaller's entry point: the excepthook first, then the command line.

The hook goes in before anything heavy is imported, so that even an exception raised while
starting up (or later, in a Qt slot) is logged and shown instead of aborting the process.
"""

from __future__ import annotations


def main() -> None:
    import multiprocessing

    # A frozen app re-executes itself for DataLoader workers (Windows, macOS): let those children
    # run their task instead of starting another window.
    multiprocessing.freeze_support()
    from alexnet_gui.excepthook import install_excepthook

    install_excepthook()
    from alexnet_gui.cli import entry_point

    entry_point()


if __name__ == "__main__":
    main()
