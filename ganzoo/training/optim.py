"""Optimisers from a loss's advice, and the learning-rate schedule the loop applies to all of them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ganzoo.errors import GanzooError


def make_optimizer(
    params: Any, advice: dict[str, Any], lr: float | None, betas: Sequence[float] | None
) -> torch.optim.Optimizer:
    """Adam or RMSprop as ``advice`` says (``{"name", "lr", "betas"}``), with the run's ``lr``/``betas`` winning."""
    name = advice.get("name", "adam")
    lr = lr if lr is not None else advice.get("lr", 2e-4)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=tuple(betas or advice.get("betas", (0.5, 0.999))))
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    raise GanzooError(f"the loss recommends an unknown optimiser {name!r}; use 'adam' or 'rmsprop'")


def linear_decay_factor(step: int, steps: int, start: int = 0) -> float:
    """Learning-rate factor of the 0-based ``step``: 1 before ``start``, then falling linearly to 0 at ``steps``."""
    if step < start:
        return 1.0
    return 1.0 - (step - start) / (steps - start)


class LearningRateSchedule:
    """Sets every optimiser's learning rates from the step, so a resumed run follows the same schedule."""

    def __init__(self, optimizers: dict[str, torch.optim.Optimizer], kind: str, steps: int, start: int) -> None:
        self.optimizers, self.kind, self.steps, self.start = optimizers, kind, steps, start
        self.base = {name: [g["lr"] for g in opt.param_groups] for name, opt in optimizers.items()}

    def apply(self, step: int) -> None:
        """Set the learning rates for 0-based ``step``."""
        if self.kind != "linear":
            return
        factor = linear_decay_factor(step, self.steps, self.start)
        for name, opt in self.optimizers.items():
            for group, base in zip(opt.param_groups, self.base[name], strict=True):
                group["lr"] = base * factor
