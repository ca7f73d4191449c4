"""``python -m alexnet_gui``: the same as the ``alexnet-gui`` command."""

from alexnet_gui.cli import entry_point

if __name__ == "__main__":
    entry_point()
