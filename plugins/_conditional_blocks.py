"""Blocks shared by the class-conditional families (``conditional.py``, ``infogan.py``): their config, conditional
batch norm, label maps, and DCGAN-style up- and down-sampling stacks at 16-128 px.

The stacks follow DCGAN (Radford et al. 2016): transposed 4x4 stride-2 convolutions with batch norm and ReLU in G,
4x4 stride-2 convolutions with LeakyReLU(0.2) in D, weights from N(0, 0.02). Every family trains the same trunk so
their numbers compare families, not network sizes.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.config import ConfigError, ImageConfig


@dataclass
class ConditionalConfig(ImageConfig):
    """A class-conditional DCGAN-style model: ``num_classes`` labels in, ``channels`` x ``image_size``² images out.

    ``num_classes > 0`` puts ``labels`` (int64, N) in the input spec, so sampling, export and serving take them.
    """

    z_dim: int = 100
    image_size: int = 32  # a power of two, 16 to 128
    channels: int = 1
    num_classes: int = 10
    g_width: int = 64  # G's last hidden width; earlier layers are 2x, 4x, ... wider
    d_width: int = 64  # D's first width
    spectral_norm: bool = False  # spectral norm on every D layer (Miyato et al. 2018); D then has no batch norm

    def validate(self) -> None:
        super().validate()
        if self.image_size not in (16, 32, 64, 128):
            raise ConfigError(f"image_size must be a power of two from 16 to 128, got {self.image_size}")
        if not isinstance(self.num_classes, int) or self.num_classes < 2:
            raise ConfigError(f"num_classes must be an integer >= 2, got {self.num_classes!r}")
        if self.g_width <= 0 or self.d_width <= 0:
            raise ConfigError("g_width and d_width must be positive")

    @property
    def n_blocks(self) -> int:
        """Hidden up/down-sampling blocks between 4x4 and the image (2 for 32 px)."""
        return int(math.log2(self.image_size)) - 3


def init_weights(module: nn.Module) -> None:
    """DCGAN §3: conv and linear weights from N(0, 0.02); batch-norm scales from N(1, 0.02), biases 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        # under spectral norm the stored weight is the parametrization's original
        parametrized = nn.utils.parametrize.is_parametrized(module, "weight")
        nn.init.normal_(module.parametrizations.weight.original if parametrized else module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d) and module.affine:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm whose scale and shift depend on the class (de Vries et al. 2017; Miyato & Koyama 2018):
    ``gamma_y * BN(x) + beta_y``. gamma starts at 1 and beta at 0, so it starts as plain batch norm."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.gamma = nn.Embedding(num_classes, channels)
        self.beta = nn.Embedding(num_classes, channels)
        nn.init.ones_(self.gamma.weight)
        nn.init.zeros_(self.beta.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        # (N, C, H, W) * (N, C, 1, 1) + (N, C, 1, 1)
        return self.norm(x) * self.gamma(labels)[:, :, None, None] + self.beta(labels)[:, :, None, None]


def one_hot(labels: torch.Tensor, num_classes: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(N,) int64 -> (N, num_classes) one-hot."""
    return F.one_hot(labels, num_classes).to(dtype)


def label_maps(labels: torch.Tensor, num_classes: int, size: int, dtype: torch.dtype) -> torch.Tensor:
    """(N,) labels -> (N, num_classes, size, size): one-hot planes joined to D's input image (cGAN's D(x, y))."""
    return one_hot(labels, num_classes, dtype)[:, :, None, None].expand(-1, -1, size, size)


class UpStack(nn.Module):
    """(N, in_dim) -> images (N, C, S, S) in [-1, 1]: project to 4x4, then ``n_blocks`` doublings and the output
    layer; ``norm(channels)`` makes each block's normalisation (batch norm, or conditional batch norm)."""

    def __init__(self, in_dim: int, config: ConditionalConfig, norm: Callable[[int], nn.Module]) -> None:
        super().__init__()
        w, n = config.g_width, config.n_blocks
        widths = [w * 2**i for i in range(n, -1, -1)]  # e.g. 32 px, w 64: [256, 128, 64]
        self.project = nn.ConvTranspose2d(in_dim, widths[0], 4, 1, 0, bias=False)  # (N, 4w, 4, 4)
        self.norms = nn.ModuleList([norm(c) for c in widths])
        self.ups = nn.ModuleList([nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False) for a, b in itertools.pairwise(widths)])
        self.out = nn.ConvTranspose2d(widths[-1], config.channels, 4, 2, 1, bias=False)  # (N, C, S, S)

    def forward(self, h: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        def normed(i: int, x: torch.Tensor) -> torch.Tensor:
            layer = self.norms[i]
            x = layer(x, labels) if isinstance(layer, ConditionalBatchNorm2d) else layer(x)
            return F.relu(x)

        x = normed(0, self.project(h[:, :, None, None]))  # (N, 4w, 4, 4) at 32 px
        for i, up in enumerate(self.ups, start=1):
            x = normed(i, up(x))  # doubles the size, halves the width
        return torch.tanh(self.out(x))  # (N, C, S, S)


class DownStack(nn.Module):
    """images (N, in_channels, S, S) -> features (N, w * 2^n, 4, 4): DCGAN's D without its output layer.

    Batch norm after every block but the first (DCGAN), or spectral norm on every convolution and no batch norm
    (SN-GAN, Miyato et al. 2018) when ``spectral_norm``.
    """

    def __init__(self, in_channels: int, config: ConditionalConfig) -> None:
        super().__init__()
        w, n = config.d_width, config.n_blocks
        sn = nn.utils.parametrizations.spectral_norm if config.spectral_norm else (lambda m: m)
        layers: list[nn.Module] = [sn(nn.Conv2d(in_channels, w, 4, 2, 1)), nn.LeakyReLU(0.2, True)]  # (N, w, S/2)
        for i in range(n):
            layers.append(sn(nn.Conv2d(w * 2**i, w * 2 ** (i + 1), 4, 2, 1, bias=config.spectral_norm)))
            if not config.spectral_norm:
                layers.append(nn.BatchNorm2d(w * 2 ** (i + 1)))
            layers.append(nn.LeakyReLU(0.2, True))
        self.net = nn.Sequential(*layers)  # (N, w * 2^n, 4, 4)
        self.out_channels = w * 2**n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def spectral(module: nn.Module, enabled: bool) -> nn.Module:
    """``module`` with spectral norm on its weight when ``enabled``."""
    return nn.utils.parametrizations.spectral_norm(module) if enabled else module
