"""The classic adversarial losses, all on logits (softplus forms: never Sigmoid + BCELoss).

With ``D(x) = sigmoid(l(x))``: ``-log D(x) = softplus(-l)`` and ``-log(1 - D(x)) = softplus(l)``.

- ``minimax``: Goodfellow et al. 2014, the original game; G minimises log(1 - D(G(z))), which saturates.
- ``non-saturating``: the same paper's "log D trick"; G maximises log D(G(z)).
  Both take ``r1_gamma``: Mescheder et al. 2018's R1 penalty, gamma/2 * E[||grad D(x)||^2] on real samples
  (0, the default, turns it off; StyleGAN uses 10 on images).
- ``wasserstein``: Arjovsky et al. 2017, critic with weight clipping, 5 critic steps, RMSprop 5e-5.
- ``wgan-gp``: Gulrajani et al. 2017, gradient penalty (lambda 10) on per-sample interpolates, Adam(1e-4, 0, 0.9).
- ``hinge``: Lim & Ye 2017 / Miyato et al. 2018.
- ``least-squares``: Mao et al. 2017 (LSGAN, a=0, b=c=1).
- ``relativistic-average``: Jolicoeur-Martineau 2019 (RaSGAN): G's loss reads the real logits too.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

import ganzoo
from ganzoo.losses import Loss


def input_gradients(discriminator: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """d D / d x, one row per discriminator output, kept in the graph so a penalty on it trains D.

    One row per logit, not per sample: a packing D (PacGAN) judges groups of samples, and its gradient is per group.
    """
    x = x.detach().requires_grad_(True)
    logits = discriminator(x)
    (grad,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
    return grad.reshape(logits.numel(), -1)


def r1_penalty(discriminator: nn.Module, real: torch.Tensor) -> torch.Tensor:
    """E[||grad_x D(x)||^2] over real samples (Mescheder et al. 2018)."""
    return input_gradients(discriminator, real).pow(2).sum(1).mean()


class Minimax(Loss):
    """Goodfellow's original minimax loss: G minimises log(1 - D(G(z))).

    ``r1_gamma > 0`` adds the R1 penalty gamma/2 * E[||grad D(x)||^2] on real data to D's loss: it damps the
    oscillation of D around the data manifold that makes plain GAN training circle instead of converge.
    """

    def __init__(self, r1_gamma: float = 0.0) -> None:
        if not r1_gamma >= 0:  # also rejects NaN
            raise ValueError(f"r1_gamma must be >= 0 (0 turns the R1 penalty off), got {r1_gamma}")
        self.r1_gamma = float(r1_gamma)

    @property
    def has_regularizer(self) -> bool:
        return self.r1_gamma > 0

    def regularizer(self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor | None:
        if not self.r1_gamma:
            return None
        return 0.5 * self.r1_gamma * r1_penalty(discriminator, real)

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        # -[log D(x) + log(1 - D(G(z)))]
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()

    def generator_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
        # log(1 - D(G(z))) = -softplus(l): its gradient vanishes when D confidently rejects fakes
        return -F.softplus(fake_logits).mean()


class NonSaturating(Minimax):
    """The log D trick: G maximises log D(G(z)), with strong gradients early in training."""

    def generator_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
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

    def generator_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
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
        norms = input_gradients(discriminator, alpha * real + (1 - alpha) * fake).norm(2, dim=1)
        return self.gp_weight * ((norms - 1) ** 2).mean()


class Hinge(Loss):
    """Hinge loss: D minimises E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]; G minimises -E[D(G(z))]."""

    outputs_probability = False

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()

    def generator_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
        return -fake_logits.mean()


class LeastSquares(Loss):
    """LSGAN: D minimises 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]; G minimises 1/2 E[(D(G(z)) - 1)^2]."""

    outputs_probability = False

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits**2).mean()

    def generator_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
        return 0.5 * ((fake_logits - 1) ** 2).mean()


class RelativisticAverage(Loss):
    """Relativistic average GAN (Jolicoeur-Martineau 2019, "The relativistic discriminator", RaSGAN).

    D judges whether real data is more realistic than the average fake: with C the logits,
    D minimises -E[log sigma(C(x) - E C(G(z)))] - E[log(1 - sigma(C(G(z)) - E C(x)))] and G the same with real
    and fake swapped. G's loss reads the real logits, so the method scores a real batch with the current D.
    """

    uses_real_logits = True
    outputs_probability = False

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return (
            F.softplus(-(real_logits - fake_logits.mean())).mean() + F.softplus(fake_logits - real_logits.mean()).mean()
        )

    def generator_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
        if real_logits is None:
            raise ValueError("the relativistic loss needs the real logits in the generator loss")
        return (
            F.softplus(-(fake_logits - real_logits.mean())).mean() + F.softplus(real_logits - fake_logits.mean()).mean()
        )


@ganzoo.hookimpl
def register_losses(register):
    register("minimax", Minimax)
    register("non-saturating", NonSaturating)
    register("wasserstein", Wasserstein)
    register("wgan-gp", WassersteinGP)
    register("hinge", Hinge)
    register("least-squares", LeastSquares)
    register("relativistic-average", RelativisticAverage)
