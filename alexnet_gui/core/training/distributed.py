"""Running one command as several processes under ``torchrun``: training and folder jobs.

``torchrun`` starts N copies of ``alexnet-gui`` and tells each, through environment variables
(``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``...), who it is and where to meet the
others. Nothing here starts processes: a command reads those variables (:func:`cluster`), joins
PyTorch's process group for its length (:func:`joined`) and splits its work by rank. Started
alone, every helper is a no-op, so the single-process path is the same code.

The choices, and why:

* Backend: NCCL for CUDA tensors (the fast GPU all-reduce), gloo for everything on the CPU and
  for the small Python objects (file rows, broken-image indices) that are gathered to rank 0 even
  on GPUs: one group, ``cpu:gloo,cuda:nccl``.
* Training splits the *global* batch (``--batch-size``) among the processes, so a run with N
  processes follows the same steps and learning-rate schedule as one process with that batch;
  the checkpoints hold the bare model, never the DDP wrapper, so any world size resumes them.
* Only rank 0 writes files and reports. A process that fails, or a SIGTERM from ``torchrun``
  stopping the survivors, ends the run with :class:`PeerLost` after rank 0 saved ``OUT.last``.
* Folder jobs take every N-th file (rank r: files r, r+N, ...) in rounds of
  :data:`ROUND_PER_PROCESS` files per process; rank 0 gathers each round and hands the rows on
  in input order, so output streams and memory stays bounded on millions of files.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from types import FrameType
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import nn

from alexnet_gui.core.errors import UserFacingError
from alexnet_gui.core.inference.classifier import cuda_available

T = TypeVar("T")
R = TypeVar("R")

#: Files each process classifies between two gathers to rank 0 (four forward passes of 32).
ROUND_PER_PROCESS = 128
#: How long a collective waits for a slow peer before giving up (a first epoch can be slow).
TIMEOUT = timedelta(minutes=30)


class PeerLost(UserFacingError):
    """Another process of the run failed or ``torchrun`` stopped this one; the run cannot go on."""


class _Stopped(Exception):
    """Raised in the main thread by the SIGTERM handler, so ``finally`` blocks and saves run."""


@dataclass(frozen=True)
class Cluster:
    """Who this process is among the processes ``torchrun`` started (one, when started alone)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0 writes the files and the output."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def describe(self) -> str:
        return f"process {self.rank + 1} of {self.world_size}"


def cluster(environ: Mapping[str, str] | None = None) -> Cluster:
    """This process's place, from the variables ``torchrun`` sets; alone without them."""
    env = os.environ if environ is None else environ
    try:
        world = int(env.get("WORLD_SIZE", "1"))
        rank = int(env.get("RANK", "0"))
        local = int(env.get("LOCAL_RANK", str(rank)))
    except ValueError as exc:
        raise UserFacingError(f"Unreadable torchrun variables (RANK, WORLD_SIZE): {exc}") from exc
    if world <= 1:
        return Cluster()
    return Cluster(rank=rank, world_size=world, local_rank=local)


def backend_for(device: str) -> str:
    """``cpu:gloo,cuda:nccl`` when the processes use GPUs, ``gloo`` on the CPU."""
    if device != "cpu" and cuda_available():
        return "cpu:gloo,cuda:nccl"
    return "gloo"


def join(device: str) -> Cluster:
    """Join the process group (once per process) and pin this process to its GPU.

    A no-op when started alone. Call before any model is moved to ``cuda``: the plain ``cuda``
    device then means this process's GPU (``LOCAL_RANK``).
    """
    place = cluster()
    if not place.distributed or dist.is_initialized():
        return place
    backend = backend_for(device)
    if "nccl" in backend:
        count = torch.cuda.device_count()
        if place.local_rank >= count:
            raise UserFacingError(
                f"{place.describe()} has no GPU of its own: this machine has {count}; start at "
                f"most {count} processes per node (torchrun --nproc_per_node {count})."
            )
        torch.cuda.set_device(place.local_rank)
    dist.init_process_group(backend, timeout=TIMEOUT)
    atexit.register(leave)  # for callers that do not leave themselves (classify)
    return place


def leave() -> None:
    """Leave the process group; a group broken by a dead peer may refuse, which is fine."""
    if dist.is_initialized():
        with contextlib.suppress(Exception):
            dist.destroy_process_group()


@contextlib.contextmanager
def joined(device: str) -> Iterator[Cluster]:
    """:func:`join` for the length of a block, leaving only a group this block joined, with
    SIGTERM (how ``torchrun`` stops the survivors of a failed process) raised as an exception."""
    owned = not dist.is_initialized()
    place = join(device)
    if not place.distributed:
        yield place
        return
    try:
        with _sigterm_raises():
            yield place
    finally:
        if owned:
            leave()


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """SIGTERM raises :class:`_Stopped` once; later ones are ignored so a save can finish."""
    try:
        previous = signal.getsignal(signal.SIGTERM)
    except ValueError:  # pragma: no cover - not the main thread: leave signals alone
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise _Stopped("stopped by torchrun (SIGTERM)")

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def shield() -> None:
    """Ignore SIGTERM from now on: the process is saving its state and about to end anyway."""
    with contextlib.suppress(ValueError):  # not the main thread: nothing was installed
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


#: What a collective raises when a peer died or the process was stopped.
FAILURES: tuple[type[BaseException], ...] = (_Stopped, dist.DistError, RuntimeError)


def peer_lost(place: Cluster, exc: BaseException, saved: str | None) -> PeerLost:
    """The one-line message for a run that lost a process, saying where its state is."""
    first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
    where = f"; the state of this moment is saved to {saved}" if saved else ""
    how = " (continue with --resume, with any number of processes)" if saved else ""
    return PeerLost(
        f"{place.describe()}: the run stopped because another process failed or was stopped "
        f"({first}){where}{how}"
    )


def wrap(model: nn.Module, place: Cluster, device: torch.device) -> nn.Module:
    """The model to train with: DistributedDataParallel across processes, else the model."""
    if not place.distributed:
        return model
    ids = [device] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def per_process_batch(global_batch: int, place: Cluster) -> int:
    """The share of ``--batch-size`` each process loads, which must divide evenly."""
    if global_batch % place.world_size:
        raise UserFacingError(
            f"--batch-size {global_batch} is the global batch and must divide among the "
            f"{place.world_size} processes; use a multiple of {place.world_size}."
        )
    return global_batch // place.world_size


def sum_across(values: Sequence[float], place: Cluster) -> list[float]:
    """Each value summed over the processes (float64, so counts stay exact)."""
    if not place.distributed:
        return list(values)
    tensor = torch.tensor(list(values), dtype=torch.float64)
    dist.all_reduce(tensor)  # on the CPU: the gloo part of the group
    return tensor.tolist()


def gather_all(value: T, place: Cluster) -> list[T]:
    """Every process's ``value``, in rank order, on every process."""
    if not place.distributed:
        return [value]
    values: list[Any] = [None] * place.world_size
    dist.all_gather_object(values, value)
    return values


def share(items: Sequence[T], place: Cluster) -> list[T]:
    """This process's share: every ``world_size``-th item from its rank."""
    return list(items[place.rank :: place.world_size])


def interleave(shares: Sequence[Sequence[T]]) -> list[T]:
    """The inverse of :func:`share` over all ranks: the items back in input order."""
    merged: list[T] = []
    longest = max((len(part) for part in shares), default=0)
    for index in range(longest):
        merged.extend(part[index] for part in shares if index < len(part))
    return merged


def in_input_order(
    place: Cluster, items: Sequence[T], work: Callable[[Sequence[T]], Iterable[R]]
) -> Iterator[R]:
    """``work``'s results (one per item) in input order, the work split among the processes.

    Alone, this is ``work(items)``. Under ``torchrun`` each process runs ``work`` on its share of
    each round and rank 0 yields the merged rows; the other ranks yield nothing.
    """
    if not place.distributed:
        yield from work(items)
        return
    size = ROUND_PER_PROCESS * place.world_size
    for first in range(0, len(items), size):
        rows = list(work(share(items[first : first + size], place)))
        gathered: list[Any] = [None] * place.world_size if place.is_main else []
        dist.gather_object(rows, gathered if place.is_main else None, dst=0)
        if place.is_main:
            yield from interleave(gathered)
