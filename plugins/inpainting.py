"""Context encoder: Pathak, Krähenbühl, Donahue, Darrell and Efros, "Context Encoders: Feature Learning by
Inpainting", CVPR 2016, https://arxiv.org/abs/1604.07379.

G sees a picture with a hole (the missing pixels zeroed, the mask as a fourth channel) and paints the hole: an
encoder down to a ``bottleneck``-wide vector, a decoder back to the picture (the paper's architecture at 64 px),
and the known pixels copied through, so the output is the completed picture. Its loss is the paper's

    L = 0.999 * L_rec + 0.001 * L_adv,     L_rec = || w * (x - G(x))^2 || over the hole,

with ``border_weight`` (10) on the hole's outer ``border`` pixels ("overlap", 4 px) so the fill meets its
context, and D (DCGAN's, Radford et al.) judging completed pictures against real ones. ``reconstruction="l1"``
swaps the squared error for an absolute one; ``adversarial=False`` is the L2-only model (the paper's blurry
baseline). Holes are made on the fly from any image set by the config's ``hole`` (``center``: the central
``hole_size`` square; ``random``: one rectangle per picture, a quarter to a half of the side), so the model
records what it was trained for; the mask is the model's second input (``InputSpec`` kind ``mask``), which
export, ``ganzoo serve`` and Triton take.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

import ganzoo
from ganzoo.config import ConfigError, InputSpec
from ganzoo.masks import HOLE_KINDS, center_mask, random_masks
from ganzoo.plugins._blocks import init_normal
from ganzoo.training.adversarial import AdversarialMethod


@dataclass
class ContextEncoderConfig(ganzoo.TranslatorConfig):
    """The context encoder's networks and the holes it learns to fill (``hole``: center or random)."""

    image_size: int = 64
    channels: int = 3
    in_channels: int = 3
    g_width: int = 64
    bottleneck: int = 512
    d_width: int = 64
    hole: str = "center"
    hole_size: int = 32  # side of the centre hole

    def validate(self) -> None:
        super().validate()
        if self.image_size not in (32, 64, 128):
            raise ConfigError(f"image_size must be 32, 64 or 128, got {self.image_size}")
        if self.in_channels != self.channels:
            raise ConfigError(f"in_channels ({self.in_channels}) must equal channels ({self.channels})")
        if self.hole not in HOLE_KINDS:
            raise ConfigError(f"hole must be one of {', '.join(HOLE_KINDS)}, got {self.hole!r}")
        if self.hole == "center" and not 0 < self.hole_size < self.image_size:
            raise ConfigError(f"hole_size must be from 1 to {self.image_size - 1}, got {self.hole_size}")
        if min(self.g_width, self.bottleneck, self.d_width) < 1:
            raise ConfigError("g_width, bottleneck and d_width must be positive")

    @property
    def inputs(self) -> tuple[InputSpec, ...]:
        """``images`` (N, C, S, S) in [-1, 1] and ``mask`` (N, 1, S, S), 1 where pixels are missing."""
        s = self.image_size
        return (
            InputSpec("images", "float32", (self.in_channels, s, s), "image", value_range=(-1.0, 1.0)),
            InputSpec("mask", "float32", (1, s, s), "mask", value_range=(0.0, 1.0)),
        )

    restores: ClassVar[bool] = True

    def training_masks(
        self, n: int, device: torch.device | str = "cpu", generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """A batch of the holes this model trains on (random ones from ``generator``, or torch's seeded and
        checkpointed RNG in training)."""
        if self.hole == "center":
            return center_mask(n, self.image_size, self.hole_size, device)
        return random_masks(n, self.image_size, generator=generator, device=device)

    def degrade(self, images: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Clean images -> ``{"images", "mask"}``: the holes this model was trained for (the holed pixels are
        left in ``images``; the network never reads them)."""
        return {"images": images.float(), "mask": self.training_masks(len(images), images.device, generator)}


def _levels(image_size: int) -> int:
    """Stride-2 layers from the picture down to 4x4."""
    return image_size.bit_length() - 3  # 64 -> 4 layers


class ContextEncoder(nn.Module):
    """(images (N, C, S, S), mask (N, 1, S, S)) -> completed images (N, C, S, S) in [-1, 1]."""

    def __init__(self, config: ContextEncoderConfig) -> None:
        super().__init__()
        w, levels = config.g_width, _levels(config.image_size)
        enc: list[nn.Module] = [nn.Conv2d(config.in_channels + 1, w, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        c = w
        for _ in range(levels - 1):  # (N, c, S/2, S/2) -> ... -> (N, c, 4, 4)
            enc += [nn.Conv2d(c, c * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c * 2), nn.LeakyReLU(0.2, True)]
            c *= 2
        # the 4x4 map to one vector: the "context" every hole pixel is painted from
        enc += [nn.Conv2d(c, config.bottleneck, 4, 1, 0, bias=False), nn.BatchNorm2d(config.bottleneck)]
        enc += [nn.LeakyReLU(0.2, True)]  # (N, bottleneck, 1, 1)
        dec: list[nn.Module] = [
            nn.ConvTranspose2d(config.bottleneck, c, 4, 1, 0, bias=False),  # (N, c, 4, 4)
            nn.BatchNorm2d(c),
            nn.ReLU(True),
        ]
        for _ in range(levels - 1):
            dec += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        dec += [nn.ConvTranspose2d(c, config.channels, 4, 2, 1), nn.Tanh()]  # (N, C, S, S)
        self.encoder, self.decoder = nn.Sequential(*enc), nn.Sequential(*dec)
        self.apply(init_normal)

    def forward(self, images: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        known = 1 - mask
        painted = self.decoder(self.encoder(torch.cat([images * known, mask], 1)))
        return painted * mask + images * known  # the context passes through untouched


class InpaintingDiscriminator(nn.Module):
    """images (N, C, S, S) -> logits (N,): DCGAN's discriminator on the completed picture."""

    def __init__(self, config: ContextEncoderConfig) -> None:
        super().__init__()
        w = config.d_width
        layers: list[nn.Module] = [nn.Conv2d(config.channels, w, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        c = w
        for _ in range(_levels(config.image_size) - 1):
            layers += [nn.Conv2d(c, c * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c * 2), nn.LeakyReLU(0.2, True)]
            c *= 2
        layers.append(nn.Conv2d(c, 1, 4, 1, 0))  # (N, 1, 1, 1)
        self.net = nn.Sequential(*layers)
        self.apply(init_normal)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images).reshape(-1)


def reconstruction_weights(mask: torch.Tensor, border: int, border_weight: float) -> torch.Tensor:
    """Per-pixel weights of the reconstruction loss: 1 inside the hole, ``border_weight`` on its outer ``border``
    pixels (Pathak et al.'s "overlap" region, which ties the fill to its surroundings), 0 on the context."""
    if border <= 0:
        return mask
    # pixels of the hole within ``border`` of a known pixel: the hole minus its erosion
    eroded = 1 - F.max_pool2d(1 - mask, 2 * border + 1, stride=1, padding=border)
    edge = mask - eroded
    return eroded + border_weight * edge


class ContextEncoderMethod(AdversarialMethod):
    """Context-encoder training: holes made per batch, 0.999 x reconstruction + 0.001 x adversarial.

    Options: ``reconstruction`` ("l2" or "l1"), ``reconstruction_weight`` (0.999), ``adversarial_weight``
    (0.001), ``border`` (4 px) and ``border_weight`` (10), ``adversarial`` (True; False: reconstruction alone).
    """

    needs: ClassVar[frozenset[str]] = frozenset({"image"})
    tasks: ClassVar[tuple[str, ...]] = ("image-to-image",)
    shown: ClassVar[tuple[str, ...]] = ("reconstruction", "g_adversarial", "d_loss")
    OPTIONS: ClassVar[dict[str, Any]] = {
        "reconstruction": "l2",
        "reconstruction_weight": 0.999,
        "adversarial_weight": 0.001,
        "border": 4,
        "border_weight": 10.0,
        "adversarial": True,
    }
    preview_nrow = 6

    def check_options(self) -> None:
        o = self.options_with(self.OPTIONS)
        if o["reconstruction"] not in ("l1", "l2"):
            raise ValueError(f"reconstruction must be 'l1' or 'l2', got {o['reconstruction']!r}")
        self.reconstruction = o["reconstruction"]
        self.reconstruction_weight = float(o["reconstruction_weight"])
        self.g_adversarial_weight = float(o["adversarial_weight"])
        self.border, self.border_weight = int(o["border"]), float(o["border_weight"])
        self.adversarial = bool(o["adversarial"])
        if self.reconstruction_weight <= 0 or self.g_adversarial_weight < 0 or self.border < 0:
            raise ValueError("reconstruction_weight must be > 0, adversarial_weight and border >= 0")

    def masks(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The batch's holes (made once per batch, shared by the D and G steps)."""
        if "_mask" not in batch:
            batch["_mask"] = self.config.training_masks(len(batch["image"]), batch["image"].device)
        return batch["_mask"]

    def generator_inputs(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        return (self.real_inputs(batch), self.to_memory_format(self.masks(batch)))

    def reconstruction_loss(self, batch: dict[str, torch.Tensor], fake: torch.Tensor) -> torch.Tensor:
        """The weighted reconstruction error, averaged over the hole's pixels (not the picture's)."""
        mask = self.masks(batch)
        weights = reconstruction_weights(mask, self.border, self.border_weight)
        diff = fake.float() - batch["image"].float()
        error = diff.pow(2) if self.reconstruction == "l2" else diff.abs()
        return (error * weights).sum() / (mask.sum() * fake.shape[1]).clamp(min=1)

    def extra_generator_loss(self, batch: dict[str, torch.Tensor], fake: torch.Tensor) -> tuple[Any, dict]:
        rec = self.reconstruction_loss(batch, fake)
        return self.reconstruction_weight * rec, {"reconstruction": rec.detach()}

    def step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        if self.adversarial:
            return super().step(batch, step)

        def reconstruction_alone(batch: dict[str, torch.Tensor], fake: torch.Tensor) -> tuple[torch.Tensor, dict]:
            rec = self.reconstruction_loss(batch, fake)  # unweighted: the only term
            return rec, {"reconstruction": rec.detach()}

        return self.generator_only_step(batch, reconstruction_alone)

    def fixed_inputs(self, n: int, seed: int, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        image = batch["image"][:12]
        # its own seeded generator: drawing from torch's would shift the training masks after a resume
        masks = self.config.training_masks(len(image), image.device, torch.Generator().manual_seed(seed))
        return {"image": image, "mask": masks}

    @torch.no_grad()
    def preview(self, fixed: dict[str, torch.Tensor]) -> torch.Tensor:
        image, mask = fixed["image"].float(), fixed["mask"]
        out = self.ema["generator"](self.to_memory_format(image), mask).float()
        return torch.stack([image * (1 - mask), out, image], 1).flatten(0, 1)  # holed | completed | real


@ganzoo.hookimpl
def register_architectures(register):
    register(
        "context-encoder",
        ContextEncoder,
        InpaintingDiscriminator,
        config=ContextEncoderConfig,
        task="image-to-image",
        default_method="context-encoder",
        default_loss="non-saturating",
        tiny={"image_size": 32, "g_width": 4, "bottleneck": 8, "d_width": 4, "hole_size": 16},
        description="context encoder inpainting (Pathak et al. 2016): masked picture + mask in, completed picture "
        "out; 0.999 L2 + 0.001 adversarial",
    )


@ganzoo.hookimpl
def register_methods(register):
    register(
        "context-encoder",
        ContextEncoderMethod,
        description="inpainting: holes made per batch, weighted L2 (border x10) + adversarial (context encoder)",
    )
