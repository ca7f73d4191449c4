"""The devices a model can run on, named once for the menus, the settings and every command.

Torch-free, so settings and the UI read it for free; :mod:`.classifier` resolves a name to a
``torch.device``.
"""

from __future__ import annotations

#: ``auto`` is CUDA when a GPU is present, else the CPU.
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
