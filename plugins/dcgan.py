"""DCGAN: Radford, Metz and Chintala, "Unsupervised Representation Learning with Deep Convolutional Generative
Adversarial Networks", ICLR 2016, https://arxiv.org/abs/1511.06434.

The paper's guidelines, followed here: strided convolutions in D and fractional-strided (transposed) ones in G
instead of pooling; batch norm in both (not on G's output or D's input layer); no fully connected hidden layers;
ReLU in G with Tanh on the output; LeakyReLU (0.2) in D; weights from N(0, 0.02). Sizes 16 to 256 pixels (32, 64
and 128 are the usual ones), 1 or 3 channels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

import ganzoo
from ganzoo.config import ConfigError, ImageConfig

D_NORMS = ("batch", "layer", "spectral", "none")


@dataclass
class DCGANConfig(ImageConfig):
    """DCGAN hyperparameters."""

    z_dim: int = 100
    image_size: int = 64  # a power of two, 16 to 256
    channels: int = 3
    g_width: int = 64  # G's last hidden width (ngf); earlier layers are 2x, 4x, ... wider
    d_width: int = 64  # D's first width (ndf)
    # "batch" (the paper), "layer" (for gradient penalties), "spectral" (SN-GAN, Miyato et al. 2018: spectral norm
    # on every D convolution, no other normalisation; pair it with the hinge loss) or "none"
    d_norm: str = "batch"

    def validate(self) -> None:
        super().validate()
        if self.image_size not in (16, 32, 64, 128, 256):
            raise ConfigError(f"DCGAN image_size must be a power of two from 16 to 256, got {self.image_size}")
        if self.d_norm not in D_NORMS:
            raise ConfigError(f"d_norm must be one of {', '.join(repr(n) for n in D_NORMS)}, got {self.d_norm!r}")
        if self.g_width <= 0 or self.d_width <= 0:
            raise ConfigError("g_width and d_width must be positive")

    @property
    def n_blocks(self) -> int:
        """Hidden up/down-sampling blocks between 4x4 and the image (3 for 64 px)."""
        return int(math.log2(self.image_size)) - 3


def _init_weights(module: nn.Module) -> None:
    """DCGAN §3: all weights from N(0, 0.02); batch-norm scales from N(1, 0.02), biases 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGANGenerator(nn.Module):
    """z (N, z_dim) -> images (N, C, S, S) in [-1, 1]."""

    def __init__(self, config: DCGANConfig) -> None:
        super().__init__()
        w, n = config.g_width, config.n_blocks
        layers: list[nn.Module] = [
            # "project and reshape": a 4x4 transposed convolution of the 1x1 latent
            nn.ConvTranspose2d(config.z_dim, w * 2**n, 4, 1, 0, bias=False),
            nn.BatchNorm2d(w * 2**n),
            nn.ReLU(True),
        ]  # (N, w*2^n, 4, 4)
        for i in range(n, 0, -1):
            layers += [
                nn.ConvTranspose2d(w * 2**i, w * 2 ** (i - 1), 4, 2, 1, bias=False),
                nn.BatchNorm2d(w * 2 ** (i - 1)),
                nn.ReLU(True),
            ]
        # (N, w, S/2, S/2)
        layers += [nn.ConvTranspose2d(w, config.channels, 4, 2, 1, bias=False), nn.Tanh()]  # (N, C, S, S)
        self.net = nn.Sequential(*layers)
        self.apply(_init_weights)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """images (N, C, S, S) -> logits (N,)."""

    def __init__(self, config: DCGANConfig) -> None:
        super().__init__()
        w, n = config.d_width, config.n_blocks

        def norm(channels: int) -> nn.Module:
            if config.d_norm == "batch":
                return nn.BatchNorm2d(channels)
            if config.d_norm == "layer":  # one group = layer norm over (C, H, W), per sample
                return nn.GroupNorm(1, channels)
            return nn.Identity()

        spectral = config.d_norm == "spectral"

        def conv(c_in: int, c_out: int, stride: int, padding: int) -> nn.Module:
            # SN-GAN's convolutions keep their bias (no batch norm follows to absorb it)
            return nn.Conv2d(c_in, c_out, 4, stride, padding, bias=spectral)

        layers: list[nn.Module] = [conv(config.channels, w, 2, 1), nn.LeakyReLU(0.2, True)]
        # (N, w, S/2, S/2)
        for i in range(n):
            layers += [conv(w * 2**i, w * 2 ** (i + 1), 2, 1), norm(w * 2 ** (i + 1)), nn.LeakyReLU(0.2, True)]
        # (N, w*2^n, 4, 4)
        layers.append(conv(w * 2**n, 1, 1, 0))  # (N, 1, 1, 1): one logit, no sigmoid
        self.net = nn.Sequential(*layers)
        self.apply(_init_weights)
        if spectral:  # after the initialisation, so the power iteration starts from the initial weights
            for module in self.net:
                if isinstance(module, nn.Conv2d):
                    nn.utils.parametrizations.spectral_norm(module)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images).reshape(-1)


@ganzoo.hookimpl
def register_architectures(register):
    register(
        "dcgan",
        DCGANGenerator,
        DCGANDiscriminator,
        config=DCGANConfig,
        default_loss="non-saturating",
        tiny={"z_dim": 8, "image_size": 16, "g_width": 4, "d_width": 4},
        description="DCGAN (Radford et al. 2016): all-convolutional G and D with batch norm, 16-256 px",
    )
