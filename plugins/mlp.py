"""A small fully connected GAN for 2-D toy distributions (ring of 8 and grid of 25 Gaussians), the test bed of
mode-collapse studies such as VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018).

``pack=m`` is PacGAN's remedy for mode collapse: the discriminator judges ``m`` samples at once (concatenated),
so a generator that repeats itself is easy to tell from real data. It lives in the discriminator alone; the
training core only sees one logit per group instead of one per sample.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from torch import nn

import ganzoo
from ganzoo.config import ConfigError, GeneratorConfig


@dataclass
class MLPConfig(GeneratorConfig):
    """MLP GAN hyperparameters."""

    z_dim: int = 2  # 2-D noise for 2-D data, as in the VEEGAN/PacGAN toy experiments
    data_dim: int = 2  # dimension of each sample
    hidden: int = 256  # width of every hidden layer, in G and D
    layers: int = 3  # hidden layers, in G and D
    pack: int = 1  # PacGAN: samples the discriminator judges together (1: the ordinary GAN)

    @property
    def output_shape(self) -> tuple[int]:
        return (self.data_dim,)

    def validate(self) -> None:
        super().validate()
        if self.data_dim <= 0 or self.hidden <= 0 or self.layers <= 0 or self.pack <= 0:
            raise ConfigError("data_dim, hidden, layers and pack must be positive")


def _mlp(n_in: int, n_out: int, hidden: int, layers: int, activation: type[nn.Module]) -> nn.Sequential:
    sizes = [n_in] + [hidden] * layers
    blocks: list[nn.Module] = []
    for a, b in itertools.pairwise(sizes):
        blocks += [nn.Linear(a, b), activation()]
    blocks.append(nn.Linear(sizes[-1], n_out))
    return nn.Sequential(*blocks)


class MLPGenerator(nn.Module):
    """z (N, z_dim) -> samples (N, data_dim), unbounded (toy data lives around [-4, 4])."""

    def __init__(self, config: MLPConfig) -> None:
        super().__init__()
        self.net = _mlp(config.z_dim, config.data_dim, config.hidden, config.layers, nn.ReLU)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """samples (N, data_dim) -> logits (N // pack,): one logit per ``pack`` consecutive samples."""

    def __init__(self, config: MLPConfig) -> None:
        super().__init__()
        self.pack = config.pack
        self.net = _mlp(config.data_dim * config.pack, 1, config.hidden, config.layers, lambda: nn.LeakyReLU(0.2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] % self.pack:
            raise ValueError(f"a packing discriminator (pack={self.pack}) needs a batch size divisible by {self.pack}")
        return self.net(x.reshape(x.shape[0] // self.pack, -1)).reshape(-1)


@ganzoo.hookimpl
def register_architectures(register):
    register(
        "mlp",
        MLPGenerator,
        MLPDiscriminator,
        config=MLPConfig,
        default_loss="non-saturating",
        tiny={"z_dim": 4, "hidden": 16, "layers": 2},
        description="Fully connected GAN for 2-D toy mixtures (ring-8, grid-25)",
    )
