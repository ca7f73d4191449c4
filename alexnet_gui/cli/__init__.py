"""The command line: no sub-command starts the GUI; sub-commands work without a window.

Each sub-command lives in its own module with ``register(subparsers)``, which adds its parser and
sets ``run``, a function from the parsed arguments to an exit status. Errors meant for the user
(:class:`UserFacingError`) become one line on stderr and exit status 1; usage errors exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from alexnet_gui import APP_NAME, __version__
from alexnet_gui.core.errors import UserFacingError
from alexnet_gui.runtime import prepare_process

COMMANDS: tuple[str, ...] = (
    "classify",
    "explain",
    "download",
    "summary",
    "info",
    "train",
    "evaluate",
    "bench",
    "export",
)


def _command_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The sub-commands' parser; ``only`` registers just that one, so running a command imports
    no other command's module (some import torch, seconds that ``classify`` need not pay)."""
    parser = argparse.ArgumentParser(
        prog="alexnet-gui",
        description=f"{APP_NAME}: classify images with AlexNet and look inside the network.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS if only is None else (only,):
        importlib.import_module(f"alexnet_gui.cli.{name}").register(subparsers)
    return parser


def _gui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alexnet-gui",
        description=(
            f"Start the {APP_NAME} window. Sub-commands: {', '.join(COMMANDS)} "
            "(alexnet-gui COMMAND --help)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--weights", metavar="FILE", help="weights file or alexnet-gui checkpoint")
    parser.add_argument("files", nargs="*", metavar="FILE", help="images or folders to open")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    prepare_process()  # before anything imports torch or Qt
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in COMMANDS:
        args = _command_parser(args_list[0]).parse_args(args_list)
        return _run_command(args)
    if args_list and args_list[0] in ("-h", "--help"):
        _gui_parser().print_help()
        return 0
    gui_args = _gui_parser().parse_args(args_list)
    from alexnet_gui.app import run_gui

    return run_gui(files=gui_args.files, weights=gui_args.weights)


def _run_command(args: argparse.Namespace) -> int:
    try:
        return int(args.run(args))
    except UserFacingError as exc:
        print(f"alexnet-gui {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"alexnet-gui {args.command}: interrupted", file=sys.stderr)
        return 130


def entry_point() -> None:
    """Console-script entry: exit with :func:`main`'s status."""
    sys.exit(main())
