"""Progressive GAN: Karras, Aila, Laine and Lehtinen, "Progressive Growing of GANs for Improved Quality, Stability,
and Variation", ICLR 2018, https://arxiv.org/abs/1710.10196. Written from the paper and checked against the
authors' code (tkarras/progressive_growing_of_gans: ``networks.py`` G_paper/D_paper, ``train.py``, ``loss.py``,
``config.py``); no code copied.

Architecture ``progan`` (§2, §4, appendix A, Table 2):

- G and D hold the blocks of *every* resolution from 4x4 up to ``image_size``; which ones run is module state
  (``level``: 0 is 4x4, 1 is 8x8, ...; ``alpha``: the weight of the newest block while it fades in), set by the
  training method. A freshly built network, the EMA copy between previews and the published model run at the
  final resolution with ``alpha = 1``, so ``ganzoo.load(...).sample()`` and the ONNX export (one ``z`` input) give
  full-size images whatever state training was in.
- Fade-in (§2, Fig. 2): G's output while level k fades in is ``lerp(upsample(to_rgb[k-1](h[k-1])),
  to_rgb[k](h[k]), alpha)``; D's input side is ``lerp(from_rgb[k-1](avgpool(x)), block[k](from_rgb[k](x)),
  alpha)``. Nearest-neighbour upsampling, 2x2 average-pool downsampling.
- Equalised learning rate (§4.1): weights drawn from N(0, 1) and scaled at run time by He's constant
  ``gain / sqrt(fan_in)``, biases 0. Pixelwise feature normalisation in G after every 3x3 convolution (§4.2),
  and of the latent. Minibatch standard deviation before D's last block (§3, group size 4). Leaky ReLU 0.2.
- Widths ``nf(stage) = min(fmap_base // 2**stage, fmap_max)`` (``fmap_base`` 8192, ``fmap_max`` 512: 512
  channels up to 32x32, 256 at 64x64, 128 at 128x128); latent 512.
- G's output is linear in the paper (the authors' code clips it when converting to 8-bit). Here it is clipped to
  [-1, 1] so the model keeps ganzoo's output contract; in training mode the clip passes gradients straight
  through, so G learns as with the paper's linear output.

Method ``progressive`` (``ProgressiveMethod``), the paper's training schedule (§2, appendix A.1):

- growth 4 -> 8 -> ... -> ``image_size``: ``stable_images`` real images at each resolution, then
  ``fade_images`` while the next resolution fades in (alpha rising linearly over the images seen); 600k + 600k
  in the paper. Level and alpha are functions of the images D has seen (not of the step: batch sizes change with
  the resolution); both, with the images seen, are saved in checkpoints and restored exactly, mid-fade included;
- real images downscaled to the current resolution (2x2 box filter, like the authors' dataset mipmaps) and, during
  a fade, blended with their 2x-blurred version by the same alpha (``train.py`` process_reals);
- WGAN-GP (lambda 10) plus the drift term ``drift * D(x_real)^2`` (epsilon_drift 1e-3, appendix A.1); one D step
  per G step (the authors' ``D_repeats = 1``) unless ``loss_options`` sets ``d_steps``;
- Adam(lr 1e-3, betas (0, 0.99), eps 1e-8), its state reset whenever a fade or a stable phase starts (the
  authors' ``reset_opt_for_new_lod``); the run's ``lr``/``betas`` override;
- per-resolution batch sizes (``batch_sizes``, default the authors' 1-GPU preset ``{4: 128, 8: 128, 16: 128,
  32: 64, 64: 32, 128: 16}``); EMA of G (the loop's, decay 0.999 as in the paper).

Why this module is long: one family per file (DESIGN.md §2): the paper's layers, the two growing networks, the
growth schedule and the method that drives it change together, and none of them is used by another family.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

import ganzoo
import ganzoo.training.distributed as distributed
from ganzoo.config import ConfigError, ImageConfig
from ganzoo.errors import TrainingWarning
from ganzoo.training.adversarial import AdversarialMethod

#: image sizes the architecture grows to (4x4 is always the first level)
IMAGE_SIZES = (8, 16, 32, 64, 128)
#: the authors' per-resolution minibatch sizes for one GPU (config.py, "preset-v2-1gpu")
PAPER_BATCH_SIZES = {4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16}
#: the paper's optimiser (appendix A.1): Adam, lr 0.001, beta1 0, beta2 0.99, epsilon 1e-8 (torch's default)
PAPER_OPTIMIZER = {"name": "adam", "lr": 1e-3, "betas": (0.0, 0.99)}


# -- config ---------------------------------------------------------------------------------------------------


@dataclass
class ProGANConfig(ImageConfig):
    """Progressive GAN hyperparameters (Karras et al. 2018, Table 2; the authors' G_paper/D_paper defaults)."""

    z_dim: int = 512  # the paper's latent size, nf(0)
    image_size: int = 64  # the final resolution: a power of two, 8 to 128
    channels: int = 3
    fmap_base: int = 8192  # widths nf(stage) = min(fmap_base // 2**stage, fmap_max)
    fmap_max: int = 512
    mbstd_group_size: int = 4  # minibatch standard deviation over groups of this many samples; 0 or 1: off

    def validate(self) -> None:
        super().validate()
        if self.image_size not in IMAGE_SIZES:
            raise ConfigError(
                f"progan image_size must be a power of two from 8 to 128 ({', '.join(map(str, IMAGE_SIZES))}), "
                f"got {self.image_size!r}"
            )
        if not isinstance(self.fmap_max, int) or self.fmap_max < 1:
            raise ConfigError(f"fmap_max must be a positive integer, got {self.fmap_max!r}")
        if not isinstance(self.fmap_base, int) or self.fmap_base < 2 ** (self.levels + 1):
            raise ConfigError(
                f"fmap_base must be an integer >= {2 ** (self.levels + 1)} for image_size {self.image_size} (so the "
                f"widest-resolution block keeps a channel), got {self.fmap_base!r}"
            )
        if not isinstance(self.mbstd_group_size, int) or self.mbstd_group_size < 0:
            raise ConfigError(f"mbstd_group_size must be an integer >= 0, got {self.mbstd_group_size!r}")

    @property
    def levels(self) -> int:
        """Index of the final level: 0 is 4x4, so 4 for 64x64."""
        return int(math.log2(self.image_size)) - 2

    def width(self, stage: int) -> int:
        """``nf(stage)``: the number of feature maps of a stage (the authors' ``nf``; fmap_decay 1)."""
        return min(self.fmap_base // 2**stage, self.fmap_max)


def resolution_of(level: int) -> int:
    """Side in pixels of growth ``level`` (0 -> 4, 1 -> 8, ...)."""
    return 4 * 2**level


# -- layers (§4) ------------------------------------------------------------------------------------------------


class EqualizedConv2d(nn.Module):
    """A convolution with the equalised learning rate (§4.1): ``w ~ N(0, 1)``, used as ``w * gain / sqrt(fan_in)``.

    Why at run time: Adam normalises updates per parameter, so a parameter's effective step is relative to its
    scale only if every weight has the same dynamic range; scaling at run time (not at initialisation) gives all
    layers the same learning speed."""

    def __init__(self, c_in: int, c_out: int, kernel: int, gain: float = math.sqrt(2)) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.scale = gain / math.sqrt(c_in * kernel * kernel)  # He's constant
        self.padding = kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class EqualizedLinear(nn.Module):
    """A fully connected layer with the equalised learning rate (§4.1); see ``EqualizedConv2d``."""

    def __init__(self, c_in: int, c_out: int, gain: float = math.sqrt(2)) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in))
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.scale = gain / math.sqrt(c_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Pixelwise feature vector normalisation (§4.2): each pixel's feature vector to unit mean square."""
    return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + eps)


def minibatch_stddev(x: torch.Tensor, group_size: int = 4) -> torch.Tensor:
    """Minibatch standard deviation (§3): append one feature map holding the standard deviation of each feature
    over a group of samples, averaged over features and pixels: ``(N, C, H, W) -> (N, C + 1, H, W)``.

    Groups are strided as in the authors' code (sample i is in group ``i % (N / G)``). A batch that the group size
    does not divide forms one group (as pytorch_GAN_zoo does) instead of failing."""
    n, c, h, w = x.shape
    g = min(group_size, n)
    if n % g:
        g = n
    y = x.float().reshape(g, n // g, c, h, w)  # (G, M, C, H, W)
    y = y - y.mean(dim=0, keepdim=True)
    y = (y.square().mean(dim=0) + 1e-8).sqrt()  # (M, C, H, W): std over each group
    y = y.mean(dim=(1, 2, 3)).to(x.dtype)  # (M,)
    y = y.reshape(1, n // g, 1, 1, 1).expand(g, -1, 1, h, w).reshape(n, 1, h, w)  # (N, 1, H, W)
    return torch.cat([x, y], dim=1)


def upsample(x: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """Nearest-neighbour upscaling by ``factor`` (the paper's upsampling)."""
    return x if factor == 1 else F.interpolate(x, scale_factor=factor, mode="nearest")


def downsample(x: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """Box-filter downscaling by ``factor`` (average pooling; the paper's downsampling)."""
    return x if factor == 1 else F.avg_pool2d(x, factor)


def clip_images(x: torch.Tensor) -> torch.Tensor:
    """Clip to [-1, 1]; in training the gradient passes straight through (G's output is linear in the paper, and
    the authors clip only when converting to 8-bit). The value is exactly ``clamp(x)``; ``x - x.detach()`` adds an
    exact 0 that carries the identity gradient."""
    clipped = x.clamp(-1.0, 1.0)
    if torch.is_grad_enabled() and x.requires_grad:
        return clipped.detach() + (x - x.detach())
    return clipped


# -- the networks ---------------------------------------------------------------------------------------------


class GrowingNetwork(nn.Module):
    """Holds the growth state of a progressive network: ``level`` (0 = 4x4) and ``alpha`` (the weight of the
    newest block while it fades in). Plain attributes, not buffers: they are no weights, must not be averaged by
    the EMA, and a saved/loaded network always starts at the final level with alpha 1."""

    def __init__(self, config: ProGANConfig) -> None:
        super().__init__()
        self.config = config
        self.final_level = config.levels
        self.level = self.final_level
        self.alpha = 1.0

    def set_growth(self, level: int, alpha: float) -> None:
        """Run at growth ``level`` with the newest block weighted by ``alpha`` (1: fully in)."""
        if not 0 <= level <= self.final_level:
            raise ValueError(f"level must be 0 to {self.final_level} for image_size {self.config.image_size}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        self.level, self.alpha = int(level), float(alpha)

    @contextlib.contextmanager
    def growth(self, level: int, alpha: float) -> Iterator[None]:
        """Temporarily at ``level``/``alpha`` (previews draw the EMA copy at the training state this way)."""
        before = (self.level, self.alpha)
        self.set_growth(level, alpha)
        try:
            yield
        finally:
            self.level, self.alpha = before

    @property
    def fading(self) -> bool:
        """Whether the newest block is still fading in (level 0 has nothing to fade from)."""
        return self.level > 0 and self.alpha < 1.0

    @property
    def resolution(self) -> int:
        """The side of the images at the current level."""
        return resolution_of(self.level)


class ProGANGenerator(GrowingNetwork):
    """z (N, z_dim) -> images (N, C, R, R) in [-1, 1], R the current level's resolution (``image_size`` unless a
    training method set a lower level). Blocks of Table 2 (left); widths ``nf(level + 1)``."""

    def __init__(self, config: ProGANConfig) -> None:
        super().__init__(config)
        nf, c = config.width, config.channels
        # level 0, 4x4: the latent through a dense layer (gain sqrt(2)/4 as in the authors' code), then a 3x3 conv
        self.input = EqualizedLinear(config.z_dim, nf(1) * 16, gain=math.sqrt(2) / 4)
        self.blocks = nn.ModuleList([EqualizedConv2d(nf(1), nf(1), 3)])
        # level k >= 1: upsample, conv 3x3, conv 3x3 (widths nf(k) -> nf(k + 1))
        for k in range(1, config.levels + 1):
            self.blocks.append(
                nn.Sequential(EqualizedConv2d(nf(k), nf(k + 1), 3), EqualizedConv2d(nf(k + 1), nf(k + 1), 3))
            )
        # one 1x1 "toRGB" per level, linear (gain 1)
        self.to_rgb = nn.ModuleList(EqualizedConv2d(nf(k + 1), c, 1, gain=1.0) for k in range(config.levels + 1))

    @property
    def method_only_parameters(self) -> tuple[str, ...]:
        """The lower levels' toRGB layers: only the progressive method's growth uses them (the final network
        never does), so ``ganzoo.testing.check_architecture`` expects no gradient there."""
        return tuple(f"to_rgb.{k}." for k in range(self.final_level))

    @staticmethod
    def _act(x: torch.Tensor) -> torch.Tensor:
        return pixel_norm(F.leaky_relu(x, 0.2))  # every conv: leaky ReLU then pixel norm (§4.2)

    def _block(self, k: int, h: torch.Tensor) -> torch.Tensor:
        if k == 0:
            return self._act(self.blocks[0](h))
        for conv in self.blocks[k]:
            h = self._act(conv(h))
        return h

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        x = pixel_norm(z)  # the latent normalised onto the hypersphere (the authors' normalize_latents)
        h = self.input(x).reshape(z.shape[0], cfg.width(1), 4, 4)  # (N, nf(1), 4, 4)
        h = self._block(0, self._act(h))  # (N, nf(1), 4, 4)
        previous = h
        for k in range(1, self.level + 1):
            previous = h
            h = self._block(k, upsample(h))  # (N, nf(k+1), 4*2^k, 4*2^k)
        out = self.to_rgb[self.level](h)  # (N, C, R, R)
        if self.fading:  # the new block fades in over the upsampled output of the level below
            out = torch.lerp(upsample(self.to_rgb[self.level - 1](previous)), out, self.alpha)
        return clip_images(out)


class ProGANDiscriminator(GrowingNetwork):
    """images (N, C, R, R), R the current level's resolution -> critic scores (N,). Blocks of Table 2 (right):
    fromRGB at the current level, then 3x3 conv, 3x3 conv and 2x2 average pooling per level down to 4x4, where
    minibatch stddev, a 3x3 conv and two dense layers give one score."""

    def __init__(self, config: ProGANConfig) -> None:
        super().__init__(config)
        nf, c = config.width, config.channels
        self.from_rgb = nn.ModuleList(EqualizedConv2d(c, nf(k + 1), 1) for k in range(config.levels + 1))
        extra = 1 if config.mbstd_group_size > 1 else 0
        # level 0 (4x4): [mbstd] conv 3x3, dense nf(0), dense 1 (gain 1)
        self.blocks = nn.ModuleList(
            [
                nn.ModuleDict(
                    {
                        "conv": EqualizedConv2d(nf(1) + extra, nf(1), 3),
                        "dense": EqualizedLinear(nf(1) * 16, nf(0)),
                        "out": EqualizedLinear(nf(0), 1, gain=1.0),
                    }
                )
            ]
        )
        # level k >= 1: conv 3x3 nf(k+1), conv 3x3 nf(k), average pool
        for k in range(1, config.levels + 1):
            self.blocks.append(
                nn.Sequential(EqualizedConv2d(nf(k + 1), nf(k + 1), 3), EqualizedConv2d(nf(k + 1), nf(k), 3))
            )

    @property
    def method_only_parameters(self) -> tuple[str, ...]:
        """The lower levels' fromRGB layers: only used while the progressive method grows D."""
        return tuple(f"from_rgb.{k}." for k in range(self.final_level))

    def _block(self, k: int, h: torch.Tensor) -> torch.Tensor:
        if k == 0:
            head = self.blocks[0]
            if self.config.mbstd_group_size > 1:
                h = minibatch_stddev(h, self.config.mbstd_group_size)  # (N, nf(1) + 1, 4, 4)
            h = F.leaky_relu(head["conv"](h), 0.2)  # (N, nf(1), 4, 4)
            h = F.leaky_relu(head["dense"](h.flatten(1)), 0.2)  # (N, nf(0))
            return head["out"](h).reshape(-1)  # (N,)
        for conv in self.blocks[k]:
            h = F.leaky_relu(conv(h), 0.2)
        return downsample(h)  # (N, nf(k), R/2, R/2)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.shape[-1] != self.resolution or images.shape[-2] != self.resolution:
            raise ValueError(
                f"the discriminator at level {self.level} takes {self.resolution}x{self.resolution} images, got "
                f"{tuple(images.shape[-2:])}; downscale them (ganzoo.plugins.progressive.fade_reals)"
            )
        h = F.leaky_relu(self.from_rgb[self.level](images), 0.2)  # (N, nf(level+1), R, R)
        if self.level == 0:
            return self._block(0, h)  # (N,)
        h = self._block(self.level, h)  # (N, nf(level), R/2, R/2)
        if self.fading:  # the new block fades in over the level below, fed the downscaled images
            low = F.leaky_relu(self.from_rgb[self.level - 1](downsample(images)), 0.2)
            h = torch.lerp(low, h, self.alpha)
        for k in range(self.level - 1, -1, -1):
            h = self._block(k, h)  # down to (N, nf(1), 4, 4), then the scores (N,)
        return h


# -- the schedule (§2, appendix A.1; the authors' TrainingSchedule) --------------------------------------------


@dataclass(frozen=True)
class Phase:
    """Where growth stands: ``level`` (0 = 4x4), ``alpha`` of its newest block and whether it is fading in."""

    level: int
    alpha: float
    fading: bool

    @property
    def resolution(self) -> int:
        """Side of the images at this level."""
        return resolution_of(self.level)

    @property
    def key(self) -> tuple[int, bool]:
        """What identifies the phase (a fade or a stable stretch of one level)."""
        return (self.level, self.fading)


@dataclass(frozen=True)
class GrowthSchedule:
    """Level and alpha as functions of the real images shown to D (Karras et al. 2018, §2 and A.1).

    Each level trains ``stable_images`` at full weight, then the next level fades in over ``fade_images``, alpha
    rising linearly from 0 to 1; after the final level's fade the final level trains on for good."""

    final_level: int
    stable_images: int
    fade_images: int

    def at(self, images_seen: int) -> Phase:
        """The phase after ``images_seen`` real images: what the next iteration trains."""
        period = self.stable_images + self.fade_images
        index, into = divmod(images_seen, period)
        if index >= self.final_level:
            return Phase(self.final_level, 1.0, False)
        if into < self.stable_images:
            return Phase(index, 1.0, False)
        return Phase(index + 1, (into - self.stable_images) / self.fade_images, True)

    @property
    def growth_images(self) -> int:
        """Images until the final level is fully in (alpha 1)."""
        return self.final_level * (self.stable_images + self.fade_images)

    def steps_for(self, images: int, batch_of: Any) -> int:
        """Iterations until ``images`` real images have been shown, when one iteration at resolution R shows
        ``batch_of(R)`` images."""
        seen = steps = 0
        while seen < images:
            phase = self.at(seen)
            period = self.stable_images + self.fade_images
            index = seen // period
            if phase.level == self.final_level and not phase.fading:
                end = images
            elif phase.fading:
                end = (index + 1) * period
            else:
                end = index * period + self.stable_images
            per_step = batch_of(phase.resolution)
            n = -(-(min(end, images) - seen) // per_step)
            steps, seen = steps + n, seen + n * per_step
        return steps


def fade_reals(images: torch.Tensor, level: int, alpha: float, final_level: int) -> torch.Tensor:
    """Real images as D sees them at ``level``/``alpha`` (the authors' process_reals): box-downscaled from the
    final resolution to the level's, and during a fade blended with their 2x-blurred version,
    ``lerp(upsample(downsample(x)), x, alpha)``, matching what G makes at that alpha."""
    x = downsample(images, 2 ** (final_level - level))  # (N, C, R, R)
    if level > 0 and alpha < 1.0:
        x = torch.lerp(upsample(downsample(x)), x, alpha)
    return x


# -- the method -------------------------------------------------------------------------------------------------


class ProgressiveMethod(AdversarialMethod):
    """Progressive growing (Karras et al. 2018): G and D grow 4x4 -> ``image_size`` with new blocks faded in over
    the images seen; WGAN-GP + drift, Adam(1e-3, 0, 0.99) reset per phase, per-resolution batch sizes.

    Options (``method_options`` / ``--method-option``):

    - ``stable_images``: real images per level at full weight (default 600000, the paper's 600k);
    - ``fade_images``: real images over which each new level fades in (default 600000, the paper's 600k);
    - ``batch_sizes``: ``{resolution: batch}`` (JSON keys may be strings); resolutions it leaves out use the run's
      ``batch_size``; default the authors' 1-GPU preset ``{4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16}``;
      ``{}`` uses ``batch_size`` throughout. A batch larger than ``batch_size`` is drawn as several of the run's
      batches joined, a smaller one is the first rows of the run's batch: keep ``batch_size`` a divisor of them
      all (e.g. their smallest) so no drawn image goes unused. Under torchrun these are per-rank batches (the
      schedule counts every rank's images);
    - ``drift``: epsilon_drift, the weight of ``D(x_real)^2`` in D's loss (default 1e-3, appendix A.1);
    - ``reset_optimizers``: reset Adam's state whenever a fade or a stable phase starts (default True, the
      authors' ``reset_opt_for_new_lod``).
    """

    tasks: ClassVar[tuple[str, ...]] = ("unconditional",)
    shown: ClassVar[tuple[str, ...]] = ("d_loss", "g_loss", "resolution", "alpha")
    OPTIONS: ClassVar[dict[str, Any]] = {
        "stable_images": 600_000,
        "fade_images": 600_000,
        "batch_sizes": None,
        "drift": 1e-3,
        "reset_optimizers": True,
    }

    # -- set-up --------------------------------------------------------------------------------------------------

    def check_options(self) -> None:
        o = self.options_with(self.OPTIONS)
        for name in ("stable_images", "fade_images"):
            value = o[name]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0 (real images), got {value!r}")
        if o["stable_images"] + o["fade_images"] == 0:
            raise ValueError("stable_images and fade_images cannot both be 0: growth would take no images")
        if not isinstance(self.config, ProGANConfig):
            raise ValueError(
                f"method {self.context.name!r} grows a progressive network: train architecture 'progan', not "
                f"{self.arch.name!r}"
            )
        self.schedule = GrowthSchedule(self.config.levels, o["stable_images"], o["fade_images"])
        self.batch_sizes = self._batch_sizes(o["batch_sizes"])
        drift = o["drift"]
        if not isinstance(drift, (int, float)) or isinstance(drift, bool) or not drift >= 0:
            raise ValueError(f"drift must be a number >= 0 (the paper: 0.001), got {drift!r}")
        self.drift = float(drift)
        if not isinstance(o["reset_optimizers"], bool):
            raise ValueError(f"reset_optimizers must be true or false, got {o['reset_optimizers']!r}")
        self.reset_optimizers = o["reset_optimizers"]
        # the authors train D once per G step (D_repeats = 1); wgan-gp's own default is 5, so it applies only
        # when the run sets it explicitly
        self.d_steps = self.settings.loss_options.get("d_steps", 1)
        if not isinstance(self.d_steps, int) or isinstance(self.d_steps, bool) or self.d_steps < 1:
            raise ValueError(f"loss option d_steps must be an integer >= 1, got {self.d_steps!r}")
        # the schedule counts the images of the whole run: under torchrun every rank shows its own batch
        self.world_size = distributed.current().size

    def _batch_sizes(self, given: Mapping[Any, Any] | None) -> dict[int, int]:
        """The per-resolution batch sizes, every resolution of the growth filled in."""
        sizes = [resolution_of(k) for k in range(self.config.levels + 1)]
        if given is None:
            return {r: PAPER_BATCH_SIZES[r] for r in sizes}
        if not isinstance(given, Mapping):
            raise ValueError(f"batch_sizes must be a mapping {{resolution: batch}}, got {given!r}")
        out = {r: self.settings.batch_size for r in sizes}
        for key, batch in given.items():
            try:
                resolution = int(key)
            except (TypeError, ValueError):
                resolution = -1
            if resolution not in sizes:
                raise ValueError(
                    f"batch_sizes: {key!r} is not a resolution of this growth; use {', '.join(map(str, sizes))}"
                )
            if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
                raise ValueError(f"batch_sizes[{resolution}] must be a positive integer, got {batch!r}")
            out[resolution] = batch
        return out

    def optimizer_advice(self) -> dict[str, Any]:
        """Adam(1e-3, betas (0, 0.99)) for G and D as in the paper (the run's ``lr``/``lr_d``/``betas`` override)."""
        return dict(PAPER_OPTIMIZER)

    def setup(self) -> None:
        super().setup()
        self.images_seen_count = 0
        self.last_phase: tuple[int, bool] | None = None  # the phase the last iteration trained
        self._apply(self.schedule.at(0))
        needed = self.schedule.steps_for(self.schedule.growth_images, self.images_per_step)
        if self.settings.steps < needed:
            phase = self._phase_after(self.settings.steps)
            warnings.warn(
                f"progressive: {self.settings.steps} steps end at {phase.resolution}x{phase.resolution} (alpha "
                f"{phase.alpha:.2f}); growing to {self.config.image_size}x{self.config.image_size} takes {needed} "
                f"steps with these options. The published model samples at the final resolution, whose upper "
                f"blocks would be untrained: raise steps or lower stable_images/fade_images.",
                TrainingWarning,
                stacklevel=2,
            )

    def images_seen(self, steps: int) -> int:
        """Real images shown to D so far (the schedule's own count; batch sizes vary with the resolution)."""
        return self.images_seen_count

    def images_per_step(self, resolution: int) -> int:
        """Real images one iteration shows D at ``resolution`` (its batch times the D steps)."""
        return self.batch_sizes[resolution] * self.d_steps * self.world_size

    def _phase_after(self, steps: int) -> Phase:
        seen = 0
        for _ in range(steps):
            seen += self.images_per_step(self.schedule.at(seen).resolution)
        return self.schedule.at(seen)

    def _apply(self, phase: Phase) -> None:
        """Set the training networks to ``phase`` (the EMA copy stays at the final level between previews)."""
        self.phase = phase
        for module in (self.G, self.D):
            module.set_growth(phase.level, phase.alpha)

    # -- one iteration ---------------------------------------------------------------------------------------------

    def step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        phase = self.schedule.at(self.images_seen_count)
        if self.reset_optimizers and self.last_phase is not None and phase.key != tuple(self.last_phase):
            # a fade or a stable phase starts: Adam's moments belong to the old network (the authors'
            # reset_opt_for_new_lod); clearing the state keeps the optimiser objects the loop hooks into
            for optimizer in self.optimizers.values():
                optimizer.state.clear()
        self.last_phase = phase.key
        self._apply(phase)
        size = self.batch_sizes[phase.resolution]
        d_metrics: dict[str, torch.Tensor] = {}
        for i in range(self.d_steps):
            batch = self._batch_of(batch if i == 0 else self.next_batch(), size)
            d_metrics, fakes = self.d_step(batch, keep_graph=i == self.d_steps - 1)
            self.images_seen_count += size * self.world_size
        g_metrics = self.g_step(batch, fakes)
        self._apply(self.schedule.at(self.images_seen_count))  # what the next iteration (and the preview) shows
        growth = {
            "resolution": torch.tensor(float(phase.resolution)),
            "alpha": torch.tensor(phase.alpha),
            "kimg": torch.tensor(self.images_seen_count / 1000.0),
        }
        return {**d_metrics, **g_metrics, **growth}

    def _batch_of(self, batch: dict[str, torch.Tensor], size: int) -> dict[str, torch.Tensor]:
        """``size`` rows: the first of ``batch``, with further batches from the run's data joined on if needed
        (the sampler is checkpointed, so resuming stays exact)."""
        parts, have = [batch], len(batch[self.real_field])
        while have < size:
            parts.append(self.next_batch())
            have += len(parts[-1][self.real_field])
        if len(parts) == 1:
            return {k: v[:size] for k, v in batch.items()} if have > size else batch
        return {k: torch.cat([p[k] for p in parts])[:size] for k in batch}

    def real_inputs(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The real images at the current level, faded like G's output (``fade_reals``)."""
        x = fade_reals(batch[self.real_field], self.phase.level, self.phase.alpha, self.config.levels)
        return self.to_memory_format(x)

    def judge(
        self, real: torch.Tensor, fake: torch.Tensor, extra: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Two passes, always: minibatch stddev must never group real and generated samples together (the
        joint pass of ``AdversarialMethod`` would). Keeps the real scores for the drift term."""
        real_logits, fake_logits = self.D(real, *extra), self.D(fake, *extra)
        self._real_logits = real_logits
        return real_logits, fake_logits

    def extra_discriminator_loss(
        self, batch: dict[str, torch.Tensor], fake: torch.Tensor
    ) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:
        """The drift term ``epsilon_drift * E[D(x_real)^2]`` (appendix A.1): keeps the critic's scores near 0."""
        drift = self._real_logits.float().square().mean()
        return self.drift * drift, {"drift": drift.detach()}

    # -- progress pictures -----------------------------------------------------------------------------------------

    @torch.no_grad()
    def preview(self, fixed: dict[str, torch.Tensor]) -> torch.Tensor:
        """The EMA generator at the current level and alpha, upscaled (nearest) to the final size: the growth shows
        in the progress grids as ever finer pixels."""
        G = self.ema[self.published[0]]
        with G.growth(self.phase.level, self.phase.alpha):
            images = G(fixed["z"]).float()
        return upsample(images, self.config.image_size // images.shape[-1])

    # -- its own state -----------------------------------------------------------------------------------------------

    def extra_state(self) -> dict[str, Any]:
        """Images seen, the level and alpha of the next iteration, and the phase the last one trained (for the
        optimiser reset); JSON floats round-trip exactly."""
        return {
            "images_seen": self.images_seen_count,
            "level": self.phase.level,
            "alpha": self.phase.alpha,
            "last_phase": list(self.last_phase) if self.last_phase is not None else None,
        }

    def load_state_dict(self, tensors: dict[str, torch.Tensor], extra: dict[str, Any]) -> None:
        """Restore the growth exactly as saved, checked against the schedule (a mismatch means other options or a
        damaged checkpoint: never silently re-derived)."""
        from ganzoo.errors import ModelFileError

        try:
            seen, level, alpha = int(extra["images_seen"]), int(extra["level"]), float(extra["alpha"])
            last = extra["last_phase"]
            last_phase = None if last is None else (int(last[0]), bool(last[1]))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ModelFileError(f"the checkpoint's progressive state is missing or malformed ({exc!r})") from None
        expected = self.schedule.at(seen)
        if (expected.level, expected.alpha) != (level, alpha):
            raise ModelFileError(
                f"the checkpoint says level {level}, alpha {alpha} after {seen} images, but this schedule gives "
                f"level {expected.level}, alpha {expected.alpha}: resume with the options that wrote it"
            )
        self.images_seen_count, self.last_phase = seen, last_phase
        self._apply(Phase(level, alpha, expected.fading))


@ganzoo.hookimpl
def register_architectures(register):
    """Register ``progan``."""
    register(
        "progan",
        ProGANGenerator,
        ProGANDiscriminator,
        config=ProGANConfig,
        default_method="progressive",
        default_loss="wgan-gp",
        tiny={"z_dim": 8, "image_size": 16, "fmap_base": 32, "fmap_max": 8},
        description="Progressive GAN (Karras et al. 2018): G and D grown 4x4 -> 128, equalised lr, pixel norm",
    )


@ganzoo.hookimpl
def register_methods(register):
    """Register ``progressive``."""
    register(
        "progressive",
        ProgressiveMethod,
        description="grows architecture progan: fade-in, WGAN-GP + drift, per-resolution batches (Karras et al. 2018)",
    )
