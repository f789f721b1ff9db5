"""Optimisers from a loss's advice, and the learning-rate schedule the loop applies to all of them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ganzoo.errors import GanzooError

#: Adam implementations (``TrainConfig.adam``): one fused kernel over all parameters, torch's multi-tensor
#: ``foreach`` path, or the per-parameter loop (torch's CPU default); benchmarks/README.md compares them.
ADAM_IMPLEMENTATIONS = ("fused", "foreach", "loop")


def make_optimizer(
    params: Any, advice: dict[str, Any], lr: float | None, betas: Sequence[float] | None, adam: str = "fused"
) -> torch.optim.Optimizer:
    """Adam or RMSprop as ``advice`` says (``{"name", "lr", "betas"}``), with the run's ``lr``/``betas`` winning;
    ``adam`` picks Adam's implementation (same update, different float rounding)."""
    name = advice.get("name", "adam")
    lr = lr if lr is not None else advice.get("lr", 2e-4)
    if name == "adam":
        if adam not in ADAM_IMPLEMENTATIONS:
            raise GanzooError(f"adam must be one of {', '.join(ADAM_IMPLEMENTATIONS)}, got {adam!r}")
        params = list(params)
        betas = tuple(betas or advice.get("betas", (0.5, 0.999)))
        options = {"fused": {"fused": True}, "foreach": {"foreach": True}, "loop": {"foreach": False}}[adam]
        try:
            return torch.optim.Adam(params, lr=lr, betas=betas, **options)
        except RuntimeError:  # a device without a fused kernel (torch says so at construction): the multi-tensor path
            return torch.optim.Adam(params, lr=lr, betas=betas, foreach=True)
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
