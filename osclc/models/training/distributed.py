"""Multi-process training under ``torchrun``: process group set-up and sums over processes.

``torchrun --nproc_per_node K osclc train ...`` starts K copies with ``RANK``, ``LOCAL_RANK`` and
``WORLD_SIZE`` in the environment. :func:`init_distributed` then joins the process group
(``nccl`` when training on CUDA, ``gloo`` on the CPU) and picks ``cuda:LOCAL_RANK`` per process.
Without those variables (a plain ``osclc train``) everything runs in one process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class ProcessInfo:
    """This process's ``rank`` among ``world_size`` processes (``local_rank`` on its machine)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """True on the process that writes checkpoints, logs and run records (rank 0)."""
        return self.rank == 0


def process_info() -> ProcessInfo:
    """Rank and world size of the initialised process group (rank 0 of 1 without one)."""
    if dist.is_available() and dist.is_initialized():
        return ProcessInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))
    return ProcessInfo()


def launched_by_torchrun() -> bool:
    """True when the environment asks for more than one process (``WORLD_SIZE`` > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_distributed(device: torch.device) -> tuple[ProcessInfo, torch.device]:
    """Join the torchrun process group if there is one; returns this process's info and device.

    On CUDA each process takes ``cuda:LOCAL_RANK`` and the ``nccl`` backend; on the CPU ``gloo``.
    """
    if not launched_by_torchrun():
        return ProcessInfo(), device
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return process_info(), device


def shutdown_distributed() -> None:
    """Leave the process group together (no-op in a single process): a barrier first, so no rank tears the
    group down while rank 0 still writes the run (seen under load: the gloo rank that left early aborted with
    "terminate called without an active exception", and torchrun's SIGTERM then cut rank 0's plots short)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def sum_over_processes(values: list[float], device: torch.device) -> list[float]:
    """Element-wise sum of ``values`` over all processes (the values themselves in one process)."""
    if not (dist.is_available() and dist.is_initialized()):
        return list(values)
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor.tolist()
