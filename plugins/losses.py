"""The classic adversarial losses, all on logits (softplus forms: never Sigmoid + BCELoss).

With ``D(x) = sigmoid(l(x))``: ``-log D(x) = softplus(-l)`` and ``-log(1 - D(x)) = softplus(l)``.

- ``minimax``: Goodfellow et al. 2014, the original game; G minimises log(1 - D(G(z))), which saturates.
- ``non-saturating``: the same paper's "log D trick"; G maximises log D(G(z)).
- ``wasserstein``: Arjovsky et al. 2017, critic with weight clipping, 5 critic steps, RMSprop 5e-5.
- ``wgan-gp``: Gulrajani et al. 2017, gradient penalty (lambda 10) on per-sample interpolates, Adam(1e-4, 0, 0.9).
- ``hinge``: Lim & Ye 2017 / Miyato et al. 2018.
- ``least-squares``: Mao et al. 2017 (LSGAN, a=0, b=c=1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

import ganzoo
from ganzoo.losses import Loss


class Minimax(Loss):
    """Goodfellow's original minimax loss: G minimises log(1 - D(G(z)))."""

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        # -[log D(x) + log(1 - D(G(z)))]
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        # log(1 - D(G(z))) = -softplus(l): its gradient vanishes when D confidently rejects fakes
        return -F.softplus(fake_logits).mean()


class NonSaturating(Minimax):
    """The log D trick: G maximises log D(G(z)), with strong gradients early in training."""

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.softplus(-fake_logits).mean()  # -log D(G(z))


class Wasserstein(Loss):
    """WGAN: critic maximises E[f(x)] - E[f(G(z))]; weights clipped to [-0.01, 0.01]."""

    d_steps = 5
    clip = 0.01
    outputs_probability = False
    optimizer = {"name": "rmsprop", "lr": 5e-5}

    def __init__(self, clip: float = 0.01, d_steps: int = 5) -> None:
        self.clip, self.d_steps = clip, d_steps

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return fake_logits.mean() - real_logits.mean()

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return -fake_logits.mean()


class WassersteinGP(Wasserstein):
    """WGAN-GP: Wasserstein loss plus lambda * E[(||grad f(x_hat)||_2 - 1)^2] on random interpolates."""

    clip = None
    optimizer = {"name": "adam", "lr": 1e-4, "betas": (0.0, 0.9)}

    def __init__(self, gp_weight: float = 10.0, d_steps: int = 5) -> None:
        self.gp_weight, self.d_steps, self.clip = gp_weight, d_steps, None

    def regularizer(self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        # one interpolation coefficient per sample, broadcast over the sample's other axes
        alpha = torch.rand(real.shape[0], *([1] * (real.ndim - 1)), device=real.device, dtype=real.dtype)
        mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        logits = discriminator(mixed)
        (grad,) = torch.autograd.grad(logits.sum(), mixed, create_graph=True)
        # one norm per logit: a packing D (PacGAN) judges groups of samples, and its gradient is per group
        norms = grad.reshape(logits.numel(), -1).norm(2, dim=1)
        return self.gp_weight * ((norms - 1) ** 2).mean()


class Hinge(Loss):
    """Hinge loss: D minimises E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]; G minimises -E[D(G(z))]."""

    outputs_probability = False

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return -fake_logits.mean()


class LeastSquares(Loss):
    """LSGAN: D minimises 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]; G minimises 1/2 E[(D(G(z)) - 1)^2]."""

    outputs_probability = False

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits**2).mean()

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((fake_logits - 1) ** 2).mean()


@ganzoo.hookimpl
def register_losses(register):
    register("minimax", Minimax)
    register("non-saturating", NonSaturating)
    register("wasserstein", Wasserstein)
    register("wgan-gp", WassersteinGP)
    register("hinge", Hinge)
    register("least-squares", LeastSquares)
