"""The base class loss plugins build on; the losses themselves live in ``ganzoo.plugins.losses``."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn


class Loss:
    """An adversarial loss on discriminator logits.

    Subclasses implement ``discriminator_loss`` and ``generator_loss`` (both minimised) and may override the
    class attributes the training core reads: ``d_steps`` (discriminator/critic steps per generator step),
    ``clip`` (weight clipping bound after each critic step), ``optimizer`` (recommended optimiser settings),
    ``outputs_probability`` (whether ``sigmoid(logit)`` is a probability worth showing as D(x)) and
    ``uses_real_logits`` (whether ``generator_loss`` reads the real samples' logits: relativistic losses; the
    training method then scores a real batch with the current D in the generator step, so the loss is exact).
    """

    d_steps: ClassVar[int] = 1
    clip: ClassVar[float | None] = None
    outputs_probability: ClassVar[bool] = True
    uses_real_logits: ClassVar[bool] = False
    optimizer: ClassVar[dict[str, Any]] = {"name": "adam", "lr": 2e-4, "betas": (0.5, 0.999)}

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """The discriminator's loss for one batch of real and one of generated samples."""
        raise NotImplementedError

    def generator_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
        """The generator's loss for a batch of generated samples; ``real_logits`` (the current D on a real batch)
        are passed when ``uses_real_logits`` is set."""
        raise NotImplementedError

    def regularizer(self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor | None:
        """An extra discriminator loss term such as a gradient penalty, or None."""
        return None

    @property
    def has_regularizer(self) -> bool:
        """Whether ``regularizer`` adds a term; a loss whose penalty is optional overrides this."""
        return type(self).regularizer is not Loss.regularizer
