"""Super-resolution GAN: Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a Generative
Adversarial Network" (SRGAN), CVPR 2017, https://arxiv.org/abs/1609.04802, with the changes of ESRGAN (Wang et
al. 2018, https://arxiv.org/abs/1809.00219): no batch norm in G, residual scaling, a relativistic average D.

G (SRResNet) maps a low-resolution picture (N, C, S/r, S/r) to (N, C, S, S): a 9x9 head, ``blocks`` residual
blocks, a global skip, log2(r) x (3x3 conv to 4x the width, PixelShuffle(2)), a 3x3 tail; it learns the residual
over the bicubic upscaling of its input, so it starts as good as bicubic. D is SRGAN's VGG-style classifier.

Training has the papers' two phases in one run (method ``srgan``): ``pretrain_steps`` of pixel loss (L1) alone,
the "PSNR-oriented" SRResNet, then adversarial fine-tuning from it:

    L_G = l1_weight * L1 + adversarial_weight * L_adv(relativistic average) + feature_matching_weight * L_FM
          (+ perceptual_weight * L1(VGG19 conv5_4) when ``perceptual_weights`` names a VGG19 safetensors file).

ESRGAN's perceptual term needs ImageNet VGG19 weights, which cannot be downloaded here: by default the
perceptual role is played by feature matching on D's own features (pix2pixHD, Wang et al. 2018), which needs no
outside weights. A resume that passes the phase switch is exact (the phase is a function of the step).

Low-resolution inputs are made on the fly from any image set (method field ``image``), by the kernel the config
records (``downscale``, PIL's antialiased bicubic by default) and rounded to 8-bit levels like real pictures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

import ganzoo
from ganzoo.config import ConfigError, InputSpec
from ganzoo.plugins._restoration import (
    DOWNSCALE_KERNELS,
    VGGFeatures,
    VGGStyleDiscriminator,
    downscale,
    feature_matching,
)
from ganzoo.training.adversarial import AdversarialMethod, batch_norm_per_half


@dataclass
class SRGANConfig(ganzoo.TranslatorConfig):
    """SRResNet and SRGAN's D. ``image_size`` is the output's side; the input is ``image_size // scale``.
    ``downscale`` records the kernel that made the training inputs (see ``ganzoo.plugins._restoration``)."""

    image_size: int = 64
    scale: int = 4
    channels: int = 3
    in_channels: int = 3
    g_width: int = 64
    blocks: int = 16
    residual_scale: float = 0.2  # ESRGAN's residual scaling: keeps a deep BN-free G stable
    d_width: int = 64
    downscale: str = "bicubic"

    def validate(self) -> None:
        super().validate()
        if self.scale not in (2, 4, 8):
            raise ConfigError(f"scale must be 2, 4 or 8, got {self.scale}")
        if self.image_size % self.scale or self.image_size // self.scale < 4:
            raise ConfigError(f"image_size {self.image_size} must be a multiple of scale {self.scale}, >= 4x it")
        if self.image_size & (self.image_size - 1) or self.image_size < 16:
            raise ConfigError(f"image_size must be a power of two >= 16 (D halves it to 4x4), got {self.image_size}")
        if self.in_channels != self.channels:
            raise ConfigError(
                f"super-resolution keeps the channels: in_channels ({self.in_channels}) must equal channels "
                f"({self.channels})"
            )
        if self.blocks < 1 or self.g_width < 1 or self.d_width < 1:
            raise ConfigError("blocks, g_width and d_width must be positive")
        if self.downscale not in DOWNSCALE_KERNELS:
            raise ConfigError(f"downscale must be one of {', '.join(DOWNSCALE_KERNELS)}, got {self.downscale!r}")

    restores: ClassVar[bool] = True

    def degrade(self, images: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """High-resolution images -> ``{"images": the model's low-resolution inputs}`` by ``downscale``."""
        return {"images": downscale(images.float(), self.scale, self.downscale)}

    @property
    def input_size(self) -> int:
        """The low-resolution input's side."""
        return self.image_size // self.scale

    @property
    def inputs(self) -> tuple[InputSpec, ...]:
        """``images``: float32 N x C x (image_size / scale)^2 in [-1, 1]."""
        shape = (self.in_channels, self.input_size, self.input_size)
        return (InputSpec("images", "float32", shape, "image", value_range=(-1.0, 1.0)),)


class ResidualBlock(nn.Module):
    """x -> x + residual_scale * conv(PReLU(conv(x))): EDSR/ESRGAN's block (no batch norm, which brings
    artefacts and costs PSNR in SR)."""

    def __init__(self, width: int, residual_scale: float) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, 1, 1), nn.PReLU(width), nn.Conv2d(width, width, 3, 1, 1))
        self.residual_scale = residual_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.residual_scale * self.body(x)


class SRResNet(nn.Module):
    """low-resolution (N, C, s, s) in [-1, 1] -> (N, C, s*scale, s*scale) in [-1, 1]: SRGAN's generator."""

    def __init__(self, config: SRGANConfig) -> None:
        super().__init__()
        w = config.g_width
        self.head = nn.Sequential(nn.Conv2d(config.in_channels, w, 9, 1, 4), nn.PReLU(w))
        self.body = nn.Sequential(
            *(ResidualBlock(w, config.residual_scale) for _ in range(config.blocks)), nn.Conv2d(w, w, 3, 1, 1)
        )
        ups: list[nn.Module] = []
        for _ in range(int(math.log2(config.scale))):  # sub-pixel convolution (Shi et al. 2016), x2 each
            ups += [nn.Conv2d(w, 4 * w, 3, 1, 1), nn.PixelShuffle(2), nn.PReLU(w)]
        self.upsample = nn.Sequential(*ups)
        self.tail = nn.Conv2d(w, config.channels, 3, 1, 1)
        nn.init.zeros_(self.tail.weight)  # start as the bicubic upscaling exactly (the residual is 0)
        nn.init.zeros_(self.tail.bias)
        self.scale = config.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)  # (N, w, s, s)
        h = h + self.body(h)  # global skip
        residual = self.tail(self.upsample(h))  # (N, C, s*scale, s*scale)
        base = F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return (base + residual).clamp(-1, 1)


class SRDiscriminator(VGGStyleDiscriminator):
    """high-resolution image (N, C, S, S) -> logits (N, 1): SRGAN's VGG-style D (``features`` for matching)."""

    def __init__(self, config: SRGANConfig) -> None:
        super().__init__(config.channels, config.image_size, config.d_width)


class SRGANMethod(AdversarialMethod):
    """Pixel-loss pre-training, then SRGAN/ESRGAN adversarial fine-tuning, in one run.

    Options: ``pretrain_steps`` (steps of L1 alone before D joins; default 0), ``adversarial`` (True; False: the
    PSNR model, L1 alone throughout), ``l1_weight`` (1.0), ``adversarial_weight`` (5e-3, ESRGAN's),
    ``feature_matching_weight`` (1.0), ``perceptual_weights`` (path of a VGG19 safetensors file; off by default)
    and ``perceptual_weight`` (1.0). Adam's betas default to (0.9, 0.999), as both papers.
    """

    needs: ClassVar[frozenset[str]] = frozenset({"image"})
    real_field: ClassVar[str] = "image"
    tasks: ClassVar[tuple[str, ...]] = ("image-to-image",)
    shown: ClassVar[tuple[str, ...]] = ("l1", "g_adversarial", "d_loss")
    preview_nrow = 6  # (input | output | target) x 2 a row
    OPTIONS: ClassVar[dict[str, Any]] = {
        "pretrain_steps": 0,
        "adversarial": True,
        "l1_weight": 1.0,
        "adversarial_weight": 5e-3,
        "feature_matching_weight": 1.0,
        "perceptual_weights": None,
        "perceptual_weight": 1.0,
    }

    def check_options(self) -> None:
        o = self.options_with(self.OPTIONS)
        self.pretrain_steps = int(o["pretrain_steps"])
        self.adversarial = bool(o["adversarial"])
        self.l1_weight = float(o["l1_weight"])
        self.adversarial_weight = float(o["adversarial_weight"])
        self.fm_weight = float(o["feature_matching_weight"])
        self.g_adversarial_weight = self.adversarial_weight
        self.perceptual_weight = float(o["perceptual_weight"])
        self.perceptual_path = o["perceptual_weights"]
        if self.pretrain_steps < 0:
            raise ValueError(f"pretrain_steps must be >= 0, got {self.pretrain_steps}")
        if min(self.l1_weight, self.adversarial_weight, self.fm_weight, self.perceptual_weight) < 0:
            raise ValueError("the loss weights must be >= 0")
        if not self.adversarial and self.l1_weight == 0 and not self.perceptual_path:
            raise ValueError("adversarial=False with l1_weight=0 and no perceptual loss leaves nothing to train G")

    def setup(self) -> None:
        super().setup()
        self.vgg = VGGFeatures(self.perceptual_path).to(self.device) if self.perceptual_path else None
        self._fake_features: list[torch.Tensor] | None = None
        self._real_features: list[torch.Tensor] | None = None

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        optimizers = super().make_optimizers()
        if self.settings.betas is None:  # SRGAN and ESRGAN: Adam with beta1 = 0.9
            for opt in optimizers.values():
                for group in opt.param_groups:
                    group["betas"] = (0.9, 0.999)
        return optimizers

    def low_resolution(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The batch's inputs: its images down-scaled by the config's kernel (cached per batch)."""
        if "_low" not in batch:
            batch["_low"] = downscale(batch["image"].float(), self.config.scale, self.config.downscale)
        return batch["_low"]

    def generator_inputs(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        return (self.to_memory_format(self.low_resolution(batch)),)

    # D's features of the G step's pass, kept for feature matching (no second pass through D)
    def judge(self, real, fake, extra):
        if self.settings.separate_d_batches:
            (real_logits, self._real_features), (fake_logits, self._fake_features) = (
                self.D.features(real),
                self.D.features(fake),
            )
            return real_logits, fake_logits
        with batch_norm_per_half(self.D):
            logits, feats = self.D.features(torch.cat([real, fake]))
        self._real_features, self._fake_features = zip(*(f.chunk(2) for f in feats), strict=True)
        return logits.chunk(2)

    def score(self, fake, extra):
        self._real_features = None  # a non-relativistic loss: the reals' features are measured on demand
        logits, self._fake_features = self.D.features(fake)
        return logits

    def pixel_loss(self, batch: dict[str, torch.Tensor], fake: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """l1_weight x L1 (+ the perceptual term): the pre-training loss and the content part of the GAN loss."""
        target = batch["image"].float()
        l1 = F.l1_loss(fake.float(), target)
        loss, metrics = self.l1_weight * l1, {"l1": l1.detach()}
        if self.vgg is not None:
            perceptual = F.l1_loss(self.vgg(fake), self.vgg(target).detach())
            loss = loss + self.perceptual_weight * perceptual
            metrics["perceptual"] = perceptual.detach()
        return loss, metrics

    def extra_generator_loss(self, batch: dict[str, torch.Tensor], fake: torch.Tensor) -> tuple[Any, dict]:
        loss, metrics = self.pixel_loss(batch, fake)
        if self.fm_weight:
            real = self._real_features
            if real is None:
                with torch.no_grad():
                    real = self.D.features(self.real_inputs(batch))[1]
            fm = feature_matching(list(self._fake_features), list(real))
            loss = loss + self.fm_weight * fm
            metrics["feature_matching"] = fm.detach()
        self._fake_features = self._real_features = None
        return loss, metrics

    def in_pretraining(self, step: int) -> bool:
        """Whether ``step`` trains on the pixel loss alone."""
        return not self.adversarial or step < self.pretrain_steps

    def step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        if not self.in_pretraining(step):
            return super().step(batch, step)
        return self.generator_only_step(batch, self.pixel_loss)

    def fixed_inputs(self, n: int, seed: int, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        image = batch["image"][:12]
        return {"source": downscale(image.float(), self.config.scale, self.config.downscale), "target": image}

    @torch.no_grad()
    def preview(self, fixed: dict[str, torch.Tensor]) -> torch.Tensor:
        out = self.ema["generator"](self.to_memory_format(fixed["source"])).float()
        shown = F.interpolate(fixed["source"].float(), scale_factor=self.config.scale, mode="nearest")
        return torch.stack([shown, out, fixed["target"].float()], 1).flatten(0, 1)


@ganzoo.hookimpl
def register_architectures(register):
    register(
        "srgan",
        SRResNet,
        SRDiscriminator,
        config=SRGANConfig,
        task="image-to-image",
        default_method="srgan",
        default_loss="relativistic-average",
        tiny={"image_size": 16, "scale": 4, "g_width": 4, "blocks": 1, "d_width": 4},
        description="SRGAN/ESRGAN super-resolution (Ledig et al. 2017): SRResNet G (x2/x4/x8, PixelShuffle), "
        "VGG-style D; bicubic inputs made on the fly",
    )


@ganzoo.hookimpl
def register_methods(register):
    register(
        "srgan",
        SRGANMethod,
        description="super-resolution: L1 pre-training, then relativistic GAN + feature matching (SRGAN/ESRGAN)",
    )
