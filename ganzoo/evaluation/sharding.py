"""``ganzoo eval`` under ``torchrun``: sample generation and feature extraction split across the ranks.

A 50k-sample FID is the expensive part of evaluation on a cluster: generating the samples and running Inception on
them and on the reference set. With ``torchrun --nproc_per_node=N -m ganzoo eval ...`` every rank generates a
contiguous share of the n samples (the same latents, codes and labels a single process draws, so the samples are
identical) and extracts the features of a share of each set; the shares are gathered, in rank order, so every
rank holds exactly the arrays one process would have computed, and the metrics are computed once. Only rank 0
writes files.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from ganzoo.training.distributed import World


def shard(n: int, world: World) -> slice:
    """This rank's contiguous rows of ``n`` (shares differ by at most one row)."""
    return slice(n * world.rank // world.size, n * (world.rank + 1) // world.size)


def gather(part: torch.Tensor | np.ndarray, world: World) -> torch.Tensor | np.ndarray:
    """Every rank's ``part`` (rows may differ by rank), concatenated in rank order, on every rank."""
    if not world.enabled:
        return part
    as_numpy = isinstance(part, np.ndarray)
    tensor = torch.from_numpy(np.ascontiguousarray(part)) if as_numpy else part.contiguous()
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
    sizes: list[Any] = [None] * world.size
    dist.all_gather_object(sizes, int(tensor.shape[0]))
    padded = torch.zeros((max(sizes), *tensor.shape[1:]), dtype=tensor.dtype, device=device)
    padded[: tensor.shape[0]] = tensor.to(device)
    parts = [torch.empty_like(padded) for _ in range(world.size)]
    dist.all_gather(parts, padded)
    whole = torch.cat([p[:size] for p, size in zip(parts, sizes, strict=True)]).to(tensor.device)
    return whole.numpy() if as_numpy else whole


def generated_share(generator: Any, n: int, seed: int, labels: torch.Tensor | None, world: World) -> dict[str, Any]:
    """This rank's rows of the n samples ``generator.sample(n, seed=seed, labels=labels)`` would draw, as the
    ``sample`` arguments that make them: the same latents, codes and labels, sliced."""
    from ganzoo.sampling import draw_codes

    rows = shard(n, world)
    codes = {name: value[rows] for name, value in draw_codes(generator.inputs, n, seed, None).items()}
    return {
        "z": generator.latents(n, seed)[rows],
        "labels": None if labels is None else labels[rows],
        "codes": codes or None,
    }


class ShardedExtractor:
    """A feature extractor whose ``features`` computes this rank's share and gathers everyone's."""

    def __init__(self, inner: Any, world: World) -> None:
        self.inner, self.world = inner, world
        self.cacheable = getattr(inner, "cacheable", False)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()

    def features(self, samples: torch.Tensor, *, logits: bool = False, label: str = "") -> Any:
        rows = shard(len(samples), self.world)
        kwargs = {"logits": True} if logits else {}
        out = self.inner.features(samples[rows], label=label, **kwargs)
        if logits:
            return gather(out[0], self.world), gather(out[1], self.world)
        return gather(out, self.world)
