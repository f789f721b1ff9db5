"""Data-parallel training under ``torchrun``: every rank trains on its shard of each global batch, and the ranks
average their gradients before each optimiser step, so N ranks x batch b train exactly as 1 process x batch N*b.

``torchrun --nproc_per_node=N -m ganzoo train ...`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; ``setup``
reads them, joins the process group (gloo on CPU, NCCL on CUDA) and picks ``cuda:LOCAL_RANK`` on GPUs.

Why gradients are averaged at each optimiser step instead of wrapping G and D in ``DistributedDataParallel``
(StyleGAN2-ADA's training loop does the same, for the same reasons): a GAN step runs D on real and fake batches
before one backward, runs G through a D whose gradients must not be synchronised, and R1 / WGAN-GP take
``autograd.grad(create_graph=True)``, which DDP does not support. Here each role is synchronised on its own, when
its own optimiser steps (D is never synchronised in G's phase); a gradient penalty's ``autograd.grad`` stays local
and the backward that follows averages like any other gradient. The average is one flat ``all_reduce`` per
optimiser step (what DDP's buckets compute, without overlapping it with the backward).

What every rank shares: the networks (broadcast from rank 0 at the start), the torch RNG (seeded alike, so all
ranks draw the same global batch of latents and each keeps its rows), the data order (one permutation, sharded by
rank). What is per rank: its rows of each batch, and batch-norm statistics (per rank on CPU; ``sync_bn`` uses
``SyncBatchNorm``, which torch implements for CUDA only). Only the main rank writes files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from ganzoo.errors import GanzooError


class DistributedError(GanzooError, RuntimeError):
    """The ranks of a torchrun run disagree (weights diverged, another world size than the checkpoint's)."""


@dataclass(frozen=True)
class World:
    """This process's place in the run: ``rank`` of ``size`` processes (``local_rank`` on its machine)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    owns_group: bool = False  # whether ``setup`` created the process group (and ``teardown`` ends it)

    @property
    def enabled(self) -> bool:
        """More than one process: gradients, RNG states and checks go through the process group."""
        return self.size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that writes logs, previews, checkpoints and the model."""
        return self.rank == 0

    def rows(self, n: int) -> slice:
        """This rank's rows of a global batch of ``n * size`` rows."""
        return slice(self.rank * n, (self.rank + 1) * n)


SINGLE = World()
_current = SINGLE


def current() -> World:
    """The world of the training run in progress (``SINGLE`` outside ``torchrun``)."""
    return _current


def environment_world() -> tuple[int, int, int]:
    """``(rank, world size, local rank)`` from torchrun's environment variables (``(0, 1, 0)`` without them)."""
    try:
        return tuple(
            int(os.environ.get(name, default)) for name, default in (("RANK", 0), ("WORLD_SIZE", 1), ("LOCAL_RANK", 0))
        )
    except ValueError as exc:
        raise DistributedError(f"RANK, WORLD_SIZE and LOCAL_RANK must be integers ({exc}); use torchrun") from None


def setup(device: torch.device) -> tuple[World, torch.device]:
    """Join the run's process group when torchrun started several processes; returns the world and the device
    this rank trains on (``cuda:LOCAL_RANK`` for a CUDA device)."""
    global _current
    rank, size, local_rank = environment_world()
    if size <= 1:
        _current = SINGLE
        return SINGLE, device
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    if dist.get_world_size() != size or dist.get_rank() != rank:
        raise DistributedError("the process group does not match RANK / WORLD_SIZE; launch with torchrun")
    _current = World(rank, size, local_rank, owns)
    return _current, device


def teardown(world: World) -> None:
    """Leave the process group ``setup`` created (after a barrier, so no rank exits while others still talk)."""
    global _current
    if world.enabled and world.owns_group and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    _current = SINGLE


def barrier(world: World) -> None:
    """Wait for every rank (no-op for one process)."""
    if world.enabled:
        dist.barrier()


def broadcast_modules(world: World, modules: dict[str, nn.Module]) -> None:
    """Give every rank rank 0's weights and buffers (they are seeded alike; this makes it certain)."""
    if not world.enabled:
        return
    for module in modules.values():
        for tensor in [*module.parameters(), *module.buffers()]:
            dist.broadcast(tensor.data, src=0)


def average_gradients_on_step(world: World, optimizer: torch.optim.Optimizer) -> None:
    """Average this optimiser's gradients over the ranks right before each of its steps (one flat all-reduce).

    Every rank runs the same code on same-shaped batches, so the same parameters have gradients on every rank.
    """
    if not world.enabled:
        return

    def hook(opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        grads = [p.grad for group in opt.param_groups for p in group["params"] if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= world.size
        offset = 0
        for g in grads:
            g.copy_(flat[offset : offset + g.numel()].view_as(g))
            offset += g.numel()

    optimizer.register_step_pre_hook(hook)


def average_metrics(world: World, values: dict[str, float]) -> dict[str, float]:
    """Log values averaged over the ranks (each rank's are of its own rows)."""
    if not world.enabled or not values:
        return values
    keys = list(values)  # the same metrics in the same order on every rank: the same method ran the same step
    stacked = torch.tensor([values[k] for k in keys], dtype=torch.float64)
    dist.all_reduce(stacked)
    return {k: float(v) / world.size for k, v in zip(keys, stacked.tolist(), strict=True)}


def any_rank(world: World, flag: bool) -> bool:
    """Whether ``flag`` is true on any rank (so every rank takes the same branch, e.g. stopping on a time limit)."""
    if not world.enabled:
        return flag
    value = torch.tensor([1.0 if flag else 0.0])
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def fingerprint(modules: dict[str, nn.Module]) -> list[float]:
    """A float64 checksum per role (sum and sum of squares of every parameter and buffer): equal weights give
    equal fingerprints, and a rank that drifted shows."""
    out = []
    for role in sorted(modules):
        tensors = [t.detach().double() for t in [*modules[role].parameters(), *modules[role].buffers()]]
        out += [float(sum(t.sum() for t in tensors)), float(sum((t * t).sum() for t in tensors))]
    return out


def check_in_sync(world: World, modules: dict[str, nn.Module], step: int) -> list[list[float]]:
    """Every rank's weight fingerprints; a ``DistributedError`` if any rank's differ from rank 0's (``[]`` for one
    process: there is nothing to compare)."""
    if not world.enabled:
        return []
    mine = fingerprint(modules)
    everyone: list[Any] = [None] * world.size
    dist.all_gather_object(everyone, mine)
    if any(other != everyone[0] for other in everyone):
        raise DistributedError(
            f"step {step}: the ranks' weights differ ({everyone}); the run is no longer data-parallel. A method or "
            "plugin draws different random numbers or takes a different code path per rank."
        )
    return everyone


def gather_rng_states(world: World) -> list[torch.Tensor]:
    """Every rank's torch RNG state (for the checkpoint; rank order)."""
    mine = torch.get_rng_state()
    if not world.enabled:
        return [mine]
    everyone = [torch.empty_like(mine) for _ in range(world.size)]
    dist.all_gather(everyone, mine)
    return everyone


def convert_sync_batchnorm(world: World, modules: dict[str, nn.Module], device: torch.device) -> dict[str, nn.Module]:
    """``SyncBatchNorm`` in every network (batch statistics over all ranks): CUDA only, as torch implements it."""
    if device.type != "cuda":
        raise DistributedError(
            "sync_bn needs CUDA: torch's SyncBatchNorm has no CPU implementation. On CPU each rank normalises by its "
            "own rows' statistics (drop --sync-bn)."
        )
    if not world.enabled:
        return modules
    return {role: nn.SyncBatchNorm.convert_sync_batchnorm(module) for role, module in modules.items()}
