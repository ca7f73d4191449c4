"""``alexnet-gui`` as ``torchrun`` starts it, with two switches the distributed tests need.

Run as ``python -m torch.distributed.run ... -m tests.core.training.torchrun_driver ARGS``:

* ``ALEXNET_TEST_NO_DROPOUT=1``: dropout off, because its masks are the one random draw that
  differs per process (see ``core/training/loop.py``); with it off, N processes and one must
  reach the same weights.
* ``ALEXNET_TEST_KILL=RANK:EPOCH:ITEM``: that rank kills itself (SIGKILL, no clean-up) when it
  loads its ITEM-th training image of EPOCH, the way a crashed node or an OOM kill ends.
"""

from __future__ import annotations

import os
import signal
import sys

import torch

from alexnet_gui.cli import main
from alexnet_gui.core.training.datasets import ImageSamples


def _install_switches() -> None:
    if os.environ.get("ALEXNET_TEST_NO_DROPOUT") == "1":
        torch.nn.Dropout.forward = lambda self, x: x  # type: ignore[method-assign]
    kill = os.environ.get("ALEXNET_TEST_KILL")
    if not kill:
        return
    rank, epoch, item = (int(part) for part in kill.split(":"))
    if int(os.environ.get("RANK", "0")) != rank:
        return
    load = ImageSamples.__getitem__
    seen: dict[int, int] = {}

    def dying(self: ImageSamples, index: int):  # type: ignore[no-untyped-def]
        if self.augment_seed is not None:  # a training image
            seen[self.epoch] = seen.get(self.epoch, 0) + 1
            if self.epoch == epoch and seen[self.epoch] == item:
                os.kill(os.getpid(), signal.SIGKILL)
        return load(self, index)

    ImageSamples.__getitem__ = dying  # type: ignore[method-assign]


if __name__ == "__main__":
    _install_switches()
    sys.exit(main(sys.argv[1:]))
