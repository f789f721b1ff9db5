"""Exponential moving average of generator weights, the version of G that gets published.

``torch.optim.swa_utils.AveragedModel`` has a fixed decay; here the decay warms up as ``(1 + t) / (10 + t)``
so that short runs are not dominated by the random initial weights, and the step count stays on the host
(reading AveragedModel's ``n_averaged`` tensor would force a device sync every step).
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class ExponentialMovingAverage:
    """``ema = decay * ema + (1 - decay) * weights`` after each generator step; buffers are averaged too."""

    def __init__(self, model: nn.Module, decay: float = 0.999) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"ema decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.module = copy.deepcopy(model).eval().requires_grad_(False)
        self.updates = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Blend the current weights of ``model`` into the average."""
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        averaged, current = [], []
        for mine, theirs in zip(self.module.state_dict().values(), model.state_dict().values(), strict=True):
            if mine.is_floating_point():
                averaged.append(mine)
                current.append(theirs.detach())
            else:  # e.g. BatchNorm's num_batches_tracked
                mine.copy_(theirs)
        torch._foreach_lerp_(averaged, current, 1.0 - decay)
