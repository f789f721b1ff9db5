"""ganzoo-example: a complete third-party ganzoo plugin in one module.

It adds an architecture, ``example-mlp`` (a small fully connected GAN with a residual generator, for 2-D toy
data such as ``ring-8``), a loss, ``example-label-smoothing`` (the non-saturating loss with one-sided label
smoothing, Salimans et al. 2016, "Improved Techniques for Training GANs", section 3.4), and a training method,
``example-instance-noise`` (the adversarial update with adaptive instance noise on D's inputs, Sønderby et al.
2017, "Amortised MAP Inference for Image Super-resolution", appendix C; Arjovsky & Bottou 2017): a method with
its own option, metric and checkpointed state.

Three things make it a plugin:

1. hook implementations: module-level functions named after the hooks in ``ganzoo.hookspecs`` and decorated
   with ``@ganzoo.hookimpl``; each calls ``register(...)`` once per thing it provides;
2. an entry point in the ``ganzoo`` group naming this module (see ``pyproject.toml``);
3. ``pip install`` of the package. Then::

       >>> import ganzoo
       >>> g = ganzoo.train("example-mlp", "ring-8", loss="example-label-smoothing", steps=2000)
       >>> g = ganzoo.train("example-mlp", "ring-8", method="example-instance-noise", steps=2000)

``ganzoo plugins`` lists it as plugin ``example`` from ``ganzoo-example 0.1.0``; folders saved from its models
record that, so loading one without the plugin installed tells the user which package to install.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

import ganzoo

# -- the architecture --------------------------------------------------------------------------------------------


@dataclass
class ExampleConfig(ganzoo.GeneratorConfig):
    """Hyperparameters of both networks. Fields must be JSON scalars: the config is saved in config.json."""

    z_dim: int = 8
    data_dim: int = 2  # dimension of one sample
    hidden: int = 128  # width of the hidden layers
    blocks: int = 2  # residual blocks in the generator, hidden layers in the discriminator

    @property
    def output_shape(self) -> tuple[int]:
        """One sample's shape without the batch axis; the training core checks the data against it."""
        return (self.data_dim,)

    def validate(self) -> None:
        """Called on construction: reject bad values with a message saying what to change."""
        super().validate()
        for name in ("data_dim", "hidden", "blocks"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ganzoo.ConfigError(f"{name} must be a positive integer, got {value!r}")


class ResidualBlock(nn.Module):
    """x + Linear(ReLU(Linear(x)))."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class ExampleGenerator(nn.Module):
    """z (N, z_dim) -> samples (N, data_dim).

    The last layer is linear because toy 2-D mixtures live around [-4, 4]; an image generator would end in
    ``tanh`` to produce pixels in [-1, 1].
    """

    def __init__(self, config: ExampleConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Linear(config.z_dim, config.hidden)]
        layers += [ResidualBlock(config.hidden) for _ in range(config.blocks)]
        layers += [nn.ReLU(), nn.Linear(config.hidden, config.data_dim)]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class ExampleDiscriminator(nn.Module):
    """samples (N, data_dim) -> logits (N,): raw scores, no sigmoid (the loss works on logits)."""

    def __init__(self, config: ExampleConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = config.data_dim
        for _ in range(config.blocks):
            layers += [nn.Linear(width, config.hidden), nn.LeakyReLU(0.2)]
            width = config.hidden
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).reshape(-1)


@ganzoo.hookimpl
def register_architectures(register):
    """ganzoo calls this once per plugin host; every name registered must be unique across plugins."""
    register(
        "example-mlp",
        ExampleGenerator,
        ExampleDiscriminator,
        config=ExampleConfig,
        default_loss="example-label-smoothing",
        tiny={"z_dim": 4, "hidden": 16, "blocks": 1},  # small enough for CPU tests
        description="Example plugin: residual MLP GAN for 2-D toy mixtures (ring-8, grid-25)",
    )


# -- the loss ----------------------------------------------------------------------------------------------------


class LabelSmoothing(ganzoo.Loss):
    """Non-saturating loss with one-sided label smoothing: D's target for real samples is 0.9, not 1.

    With ``D(x) = sigmoid(l(x))`` and real label ``a``: D minimises
    ``-a log D(x) - (1 - a) log(1 - D(x)) - log(1 - D(G(z)))`` and G minimises ``-log D(G(z))``.
    Only the real side is smoothed: smoothing the fake side would reward G for samples D already rejects.
    """

    def __init__(self, real_label: float = 0.9) -> None:
        # Options arrive as keyword arguments: ganzoo.train(..., loss_options={"real_label": 0.8}).
        if not 0.5 < real_label <= 1.0:
            raise ValueError(f"real_label must be in (0.5, 1], got {real_label!r}")
        self.real_label = real_label

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        # softplus forms of -log D(x) and -log(1 - D(x)), numerically stable for any logit
        a = self.real_label
        real = a * F.softplus(-real_logits) + (1 - a) * F.softplus(real_logits)
        return real.mean() + F.softplus(fake_logits).mean()

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.softplus(-fake_logits).mean()


@ganzoo.hookimpl
def register_losses(register):
    register(
        "example-label-smoothing",
        LabelSmoothing,
        description="Example plugin: non-saturating loss with one-sided label smoothing (Salimans et al. 2016)",
    )


# -- the training method ------------------------------------------------------------------------------------------


class InstanceNoise(ganzoo.AdversarialMethod):
    """The adversarial update with adaptive instance noise: D sees real and fake samples plus N(0, sigma^2) noise.

    Noise makes the real and generated distributions overlap, so D's gradients stay informative when they would
    otherwise be disjoint (Arjovsky & Bottou 2017). Here sigma adapts, in the spirit of StyleGAN2-ADA's
    heuristic: it rises while D tells real from fake too well (accuracy on real samples above ``target``) and
    falls otherwise. sigma is the method's own state: it is in the checkpoint, so a resume continues exactly.
    Option: ``target`` (0.6), ``sigma`` (its start, 0.1), ``rate`` (change per step, 0.01).
    """

    shown = ("d_loss", "g_loss", "noise_std")

    def check_options(self) -> None:
        # Options arrive as method_options={...} (CLI: --method-option target=0.7); reject what is not known.
        unknown = set(self.options) - {"target", "sigma", "rate"}
        if unknown:
            raise TypeError(f"example-instance-noise takes target, sigma and rate; got {sorted(unknown)}")
        self.target = float(self.options.get("target", 0.6))
        self.sigma = float(self.options.get("sigma", 0.1))
        self.rate = float(self.options.get("rate", 0.01))

    def judge(self, real: torch.Tensor, fake: torch.Tensor, extra: tuple[torch.Tensor, ...]):
        # the same noise level on both sides, fresh noise every pass (drawn from torch's RNG: resumes exactly)
        return super().judge(
            real + self.sigma * torch.randn_like(real), fake + self.sigma * torch.randn_like(fake), extra
        )

    def step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        metrics = super().step(batch, step)
        # one host sync per step for the adaptation; a method that cares would adapt every few steps
        too_good = float(metrics["d_acc_real"]) > self.target
        self.sigma = max(0.0, self.sigma + (self.rate if too_good else -self.rate))
        metrics["noise_std"] = torch.tensor(self.sigma)
        return metrics

    def extra_state(self) -> dict[str, float]:
        return {"sigma": self.sigma}

    def load_state_dict(self, tensors: dict[str, torch.Tensor], extra: dict[str, float]) -> None:
        self.sigma = float(extra["sigma"])


@ganzoo.hookimpl
def register_methods(register):
    register(
        "example-instance-noise",
        InstanceNoise,
        description="Example plugin: adversarial update with adaptive instance noise (Sønderby et al. 2017)",
    )
