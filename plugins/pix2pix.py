"""pix2pix: Isola, Zhu, Zhou and Efros, "Image-to-Image Translation with Conditional Adversarial Networks", CVPR
2017, https://arxiv.org/abs/1611.07004.

A conditional GAN on aligned pairs: G maps a source image x to an output G(x) (no z: dropout is its only noise),
D judges (x, y) pairs, and an L1 term ties the output to the target:

    G* = arg min_G max_D  L_cGAN(G, D) + lambda E[||y - G(x)||_1],   lambda = 100.

G is a U-Net (skips carry the low-level structure source and target share), D a PatchGAN that classifies every
70x70 patch (the L1 term handles low frequencies, D the high ones). D's objective is halved, which (with Adam)
changes nothing but is the paper's; the schedule is constant then linear decay (``lr_decay="linear"``).

``adversarial=False`` (method option) is the paper's "L1 alone" ablation: the same G, trained on L1 only.

At test time the paper keeps dropout on (and batch norm on batch statistics, at batch size 1). ganzoo's models
run in eval mode (running statistics, no dropout): deterministic, independent of the batch, and exportable;
``test_dropout=True`` keeps dropout on in PyTorch for the paper's behaviour (export refuses such a model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

import ganzoo
from ganzoo.config import ConfigError
from ganzoo.errors import DataError
from ganzoo.plugins._blocks import PatchDiscriminator, UNet, init_normal, patch_receptive_field
from ganzoo.training.adversarial import AdversarialMethod


@dataclass
class Pix2PixConfig(ganzoo.TranslatorConfig):
    """pix2pix's U-Net and PatchGAN; ``in_channels`` for the source (1 for greyscale or edges), ``channels`` for
    the output. ``depth`` defaults to log2(image_size) (down to 1x1: 6 at 64 px, 8 at 256 as in the paper)."""

    image_size: int = 64
    in_channels: int = 3
    channels: int = 3
    g_width: int = 64
    d_width: int = 64
    depth: int = 0  # U-Net levels; 0: log2(image_size)
    d_layers: int = 3  # PatchGAN stride-2 layers: 3 -> 70x70 patches
    norm: str = "batch"
    dropout: float = 0.5
    test_dropout: bool = False  # keep dropout on at test time (the paper's inference; PyTorch only)
    chroma_only: bool = False  # colourisation: G predicts chroma, the input is the output's luma (see below)

    def validate(self) -> None:
        super().validate()
        if self.image_size < 32 or self.image_size & (self.image_size - 1):
            raise ConfigError(f"image_size must be a power of two >= 32, got {self.image_size}")
        if not 5 <= self.unet_depth <= int(math.log2(self.image_size)):
            raise ConfigError(
                f"depth must be from 5 to log2(image_size) = {int(math.log2(self.image_size))}, got {self.depth}"
            )
        if self.norm not in ("batch", "instance"):
            raise ConfigError(f"norm must be 'batch' or 'instance', got {self.norm!r}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.d_layers < 1 or self.image_size >> self.d_layers < 4:
            raise ConfigError(f"d_layers={self.d_layers} leaves no patches at {self.image_size} px")
        if self.chroma_only and (self.in_channels, self.channels) != (1, 3):
            raise ConfigError(
                "chroma_only colourises: it needs in_channels=1 (the luma) and channels=3 (RGB out), got "
                f"in_channels={self.in_channels}, channels={self.channels}"
            )

    @property
    def unet_depth(self) -> int:
        """The U-Net's levels."""
        return self.depth or int(math.log2(self.image_size))


def ycbcr_to_rgb(y: torch.Tensor, chroma: torch.Tensor) -> torch.Tensor:
    """Luma (N, 1, S, S) in [0, 1] and chroma (N, 2, S, S) (Cb, Cr) in [-0.5, 0.5] -> RGB (N, 3, S, S) in [0, 1]
    (ITU-R BT.601, the inverse of the luma ``celeba-colorize`` feeds in)."""
    cb, cr = chroma[:, :1], chroma[:, 1:]
    rgb = torch.cat([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], 1)
    return rgb.clamp(0, 1)


class Pix2PixGenerator(nn.Module):
    """source (N, in_channels, S, S) in [-1, 1] -> output (N, channels, S, S) in [-1, 1]: the U-Net.

    With ``chroma_only`` (colourisation) the U-Net predicts the two chroma channels and the output is the RGB
    picture with the input as its luma: the paper colourises the same way, predicting Lab's ab from L (its
    section 4.5 and ``colorization_dataset.py``), here in YCbCr so that the whole map, RGB out, stays one graph.
    """

    def __init__(self, config: Pix2PixConfig) -> None:
        super().__init__()
        out = 2 if config.chroma_only else config.channels
        self.net = UNet(config.in_channels, out, config.unet_depth, config.g_width, config.norm, config.dropout)
        self.chroma_only = config.chroma_only
        self.test_dropout = config.test_dropout
        self.apply(init_normal)

    def forward(self, source: torch.Tensor) -> torch.Tensor:
        if self.test_dropout and not self.training:
            for m in self.modules():  # the paper's inference: dropout stays on, batch norm on running statistics
                if isinstance(m, nn.Dropout):
                    m.train()
        out = self.net(source)  # (N, channels or 2, S, S) in [-1, 1]
        if not self.chroma_only:
            return out
        rgb = ycbcr_to_rgb((source + 1) / 2, out / 2)  # chroma in [-0.5, 0.5], luma from the input
        return rgb * 2 - 1


class Pix2PixDiscriminator(nn.Module):
    """(image (N, channels, S, S), source (N, in_channels, S, S)) -> patch logits (N, 1, h, w): a conditional
    PatchGAN that sees the pair, so it can tell an output that does not fit its source."""

    def __init__(self, config: Pix2PixConfig) -> None:
        super().__init__()
        self.net = PatchDiscriminator(
            config.channels + config.in_channels, config.d_width, config.d_layers, config.norm
        )
        self.apply(init_normal)

    def forward(self, image: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([image, source], 1))


class Pix2PixMethod(AdversarialMethod):
    """The pix2pix update: D on (output, source) against (target, source), halved; G on the adversarial term plus
    ``l1_weight`` x L1(output, target).

    Options: ``l1_weight`` (lambda, 100), ``adversarial`` (True; False trains G on L1 alone, the paper's ablation).
    """

    needs: ClassVar[frozenset[str]] = frozenset({"source", "target"})
    real_field: ClassVar[str] = "target"
    tasks: ClassVar[tuple[str, ...]] = ("image-to-image",)
    shown: ClassVar[tuple[str, ...]] = ("d_loss", "g_adversarial", "l1")
    d_loss_weight: ClassVar[float] = 0.5  # "we divide the objective by 2 while optimizing D" (section 3.3)
    preview_nrow = 6  # three (source | output | target) triples a row

    def check_options(self) -> None:
        unknown = set(self.options) - {"l1_weight", "adversarial"}
        if unknown:
            raise TypeError(f"pix2pix takes l1_weight and adversarial, got {sorted(unknown)}")
        self.l1_weight = float(self.options.get("l1_weight", 100.0))
        self.adversarial = bool(self.options.get("adversarial", True))
        if self.l1_weight < 0 or (not self.adversarial and self.l1_weight == 0):
            raise ValueError("l1_weight must be >= 0, and > 0 when adversarial=False (nothing would train G)")

    def check_data(self, shapes: dict[str, tuple[int, ...]], description: str) -> None:
        """Targets shaped like the output (the base check) and sources like the input spec."""
        super().check_data(shapes, description)
        source, expected = tuple(shapes["source"]), tuple(self.config.inputs[0].shape)
        if source != expected:
            raise DataError(
                f"the data's sources have shape {source} but {self.arch.name!r} with this config reads {expected}: "
                f"set in_channels={source[0]} (and image_size) to match, or convert the sources"
            )

    def generator_inputs(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        return (self.to_memory_format(batch["source"]),)

    def discriminator_inputs(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        return (self.to_memory_format(batch["source"]),)

    def extra_generator_loss(self, batch: dict[str, torch.Tensor], fake: torch.Tensor) -> tuple[Any, dict]:
        l1 = F.l1_loss(fake.float(), batch["target"].float())
        return self.l1_weight * l1, {"l1": l1.detach()}

    def step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        if self.adversarial:
            return super().step(batch, step)
        # L1 alone: no discriminator at all (it is built, so the model's roles are the same, but never trained)
        return self.generator_only_step(batch, self.extra_generator_loss)

    def fixed_inputs(self, n: int, seed: int, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"source": batch["source"][:12], "target": batch["target"][:12]}

    @torch.no_grad()
    def preview(self, fixed: dict[str, torch.Tensor]) -> torch.Tensor:
        out = self.ema["generator"](self.to_memory_format(fixed["source"])).float()
        source = fixed["source"].float().expand(-1, out.shape[1], -1, -1)  # grey sources shown as RGB
        return torch.stack([source, out, fixed["target"].float()], 1).flatten(0, 1)


@ganzoo.hookimpl
def register_architectures(register):
    register(
        "pix2pix",
        Pix2PixGenerator,
        Pix2PixDiscriminator,
        config=Pix2PixConfig,
        task="image-to-image",
        default_method="pix2pix",
        default_loss="non-saturating",
        tiny={"image_size": 32, "in_channels": 1, "channels": 3, "g_width": 4, "d_width": 4, "depth": 5},
        description=f"pix2pix (Isola et al. 2017): U-Net G, {patch_receptive_field(3)}x{patch_receptive_field(3)} "
        "PatchGAN D on (output, source) pairs, lambda=100 L1",
    )


@ganzoo.hookimpl
def register_methods(register):
    register("pix2pix", Pix2PixMethod, description="paired translation: conditional GAN + lambda * L1 (pix2pix)")
