"""Forward super-resolution: Allen-Zhu and Li, "Forward Super-Resolution: How Can GANs Learn Hierarchical
Generative Models for Real-World Distributions", ICLR 2023, https://arxiv.org/abs/2106.02619. Written from the
article (its model, §2, and its experiments, §6 / appendix); no code copied.

The article's model: each resolution ``X_l`` of an image is a down-scaling of the final one ``X_L``; a hidden layer
``S_l = ReLU(Deconv(S_{l-1}))`` per resolution holds sparse "edge-colour" features, and an *output* deconvolution
per resolution paints ``X_l`` from ``S_l``. GANs first match low-degree moments, then learn each layer by
super-resolving the one below ("forward super-resolution"). Its evidence, reproduced here: (1) training the layers
one at a time, each against a discriminator at its own resolution with the layers below frozen, already gives
realistic high-resolution images, far better than the same network whose lower layers are frozen at random; (2)
the hidden layers become sparse (few channels active at each position).

Architecture ``fsr`` (``FSRConfig``; levels 0 = 4x4, 1 = 8x8, ..., ``L`` = ``image_size``):

- G: ``S_0 = ReLU(BN(Deconv_4x4(z)))`` ``(N, c_0, 4, 4)``, then ``S_l = ReLU(BN(Deconv_4x4/2(S_{l-1})))``
  ``(N, c_l, 4*2^l, 4*2^l)`` for l = 1..L, and an output deconvolution per level ``X_l = tanh(Deconv_3x3(S_l))``
  (stride 1: the 3x3 transposed convolution that paints each pixel from the features around it). Batch norm is a
  practical addition (DCGAN's; ``g_norm="none"`` gives the article's plain ``ReLU(Deconv(.))``); the ReLUs are
  ``nn.ReLU`` modules so ``ganzoo.training.moments.activation_sparsity`` (the ``sparsity`` metric and
  ``track_moments``) sees every hidden layer. Widths ``c_l = min(g_width * 2^(L - l), g_max)``.
- ``G(z)`` is the final level's image ``X_L`` (so the published model samples, exports to ONNX with one ``z``
  input and serves like any generator); ``G.pyramid(z)`` returns ``[X_0, ..., X_L]``.
- D: one DCGAN-style discriminator per resolution (``D.heads[l]``: stride-2 4x4 convolutions down to 4x4, leaky
  ReLU 0.2, ``d_norm`` after all but the first, a 4x4 convolution to one logit); ``D(x)`` picks the head from x's
  size. Widths ``min(d_width * 2^i, d_max)``.

Method ``fsr`` (``FSRMethod``), ``mode`` (``method_options``), with the run's adversarial loss (``--loss``,
default non-saturating) applied at every judged resolution; real images average-pooled to each level (the
article's down-scaling, a box filter). Each level has its own G optimiser (its hidden layer + output layer) and
D optimiser (its head): a frozen level is simply never stepped, its parameters have ``requires_grad=False`` (no
gradient is computed for them) and its Adam moments stay as they were, so resume is exact without any rebuild.

- ``layerwise`` (the article's layer-wise training): level ``l = min(step // level_steps, L)``; at level l only G's
  layer l and its output layer train, against ``D_l`` on reals pooled to 4*2^l px; the layers below stay frozen as
  trained, the layers above are not run. After the last level's turn, training continues at level L. With
  ``fade_steps=N`` (off by default: the article trains each level on its own output), the first N steps of each
  level l > 0 show both D and G ``(1 - a) * up(X_{l-1}) + a * X_l`` with ``a`` rising to 1, and the reals likewise
  (ProGAN's fade-in, Karras et al. 2018 §2): the new D starts against the trained level below, upscaled, instead
  of against a random new layer. Without it, each new D won within 100-200 steps in ``benchmarks/README.md``'s
  runs and the new layer did not recover.
- ``random-frozen`` (the article's control, "the same network on random lower-level features"): hidden layers
  0..L-1 stay at their random initialisation for the whole run; only the top hidden layer L and its output layer
  train, against ``D_L`` at the final resolution. The budget is the run's ``steps``, all spent on the top layer; as
  a control this is conservative (the top layer gets more steps than in ``layerwise``, which spends
  ``L * level_steps`` of the same budget below it).
- ``joint`` (multi-scale training): every level's output is judged by its own D from the first step; the G loss
  is the sum over levels, each D learns its own level.

Frozen layers keep batch norm in training mode (batch statistics); their running statistics keep tracking the
fixed map they compute (statistics, not weights). Their *parameters* never change: bit-identical while frozen.

Measurements (``plugins/metrics/multiscale.py``, registered here; ``ganzoo evaluate`` runs them):
``fid-per-resolution`` (FID of each pyramid level against the reals pooled to that level, both resized to 299 by
the Inception pipeline), ``moments-per-resolution`` (mean/covariance distances of 4x4 pixel patches at each level)
and ``patch-sparsity`` (per position, the share of near-zero channels of each hidden ReLU layer, against the
same network at random initialisation). During training, ``measure_every=N`` logs the per-resolution moments and
sparsity of the EMA generator into ``losses.csv`` (``mean_dist_<r>px``, ``cov_dist_<r>px``, ``zeros_<r>px``,
``zeros_init_<r>px``), against the preview's fixed real images.

Why this module is long: one family per file (DESIGN.md §2): the config, both networks and the three training
modes (with their freezing, per-level optimisers and resume checks) belong together; the measurements live in
``plugins/metrics/multiscale.py``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

import ganzoo
from ganzoo.config import ConfigError, ImageConfig
from ganzoo.errors import TrainingWarning
from ganzoo.training.adversarial import AdversarialMethod, batch_norm_per_half, grad_norm

#: final image sizes (level 0 is always 4x4)
IMAGE_SIZES = (16, 32, 64, 128)
START = 4  # the side of level 0
MODES = ("layerwise", "joint", "random-frozen")
G_NORMS = ("batch", "none")
D_NORMS = ("batch", "layer", "spectral", "none")


# -- config ---------------------------------------------------------------------------------------------------


@dataclass
class FSRConfig(ImageConfig):
    """Forward super-resolution network: a hidden layer and an output layer per resolution 4, 8, ..., image_size."""

    z_dim: int = 100
    image_size: int = 64  # the final resolution: a power of two, 16 to 128
    channels: int = 3
    g_width: int = 64  # width of the final (highest-resolution) hidden layer; each level below doubles it
    g_max: int = 512  # cap on a hidden layer's width
    g_norm: str = "batch"  # "batch" (DCGAN's practice) or "none" (the article's plain ReLU(Deconv(.)))
    d_width: int = 64  # first width of each per-resolution discriminator
    d_max: int = 512  # cap on a discriminator layer's width
    d_norm: str = "batch"  # "batch", "layer" (for gradient penalties), "spectral" or "none"

    def validate(self) -> None:
        super().validate()
        if self.image_size not in IMAGE_SIZES:
            raise ConfigError(
                f"fsr image_size must be a power of two from 16 to 128 ({', '.join(map(str, IMAGE_SIZES))}), "
                f"got {self.image_size!r}"
            )
        for name in ("g_width", "g_max", "d_width", "d_max"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.g_norm not in G_NORMS:
            raise ConfigError(f"g_norm must be one of {', '.join(map(repr, G_NORMS))}, got {self.g_norm!r}")
        if self.d_norm not in D_NORMS:
            raise ConfigError(f"d_norm must be one of {', '.join(map(repr, D_NORMS))}, got {self.d_norm!r}")

    @property
    def final_level(self) -> int:
        """Index L of the last level: 0 is 4x4, so 4 for 64x64."""
        return int(math.log2(self.image_size // START))

    @property
    def resolutions(self) -> tuple[int, ...]:
        """Sides of the levels, 4 to image_size."""
        return tuple(START * 2**k for k in range(self.final_level + 1))

    def g_channels(self, level: int) -> int:
        """Width ``c_l`` of hidden layer ``level``: ``min(g_width * 2^(L - level), g_max)``."""
        return min(self.g_width * 2 ** (self.final_level - level), self.g_max)


def level_of(size: int, config: FSRConfig) -> int:
    """The level whose images are ``size`` px, or a ValueError naming the sizes there are."""
    if size not in config.resolutions:
        raise ValueError(f"fsr has levels of {', '.join(map(str, config.resolutions))} px, not {size}")
    return config.resolutions.index(size)


def downscale(images: torch.Tensor, size: int) -> torch.Tensor:
    """Images ``(N, C, S, S)`` average-pooled to ``(N, C, size, size)`` (the article's down-scaling X_l of X_L)."""
    factor = images.shape[-1] // size
    return images if factor == 1 else F.avg_pool2d(images, factor)


def upscale(images: torch.Tensor, size: int) -> torch.Tensor:
    """Nearest-neighbour upscaling to ``size`` px (previews: the pixels of a low level stay visible)."""
    factor = size // images.shape[-1]
    return images if factor == 1 else F.interpolate(images, scale_factor=factor, mode="nearest")


def fade_in(below: torch.Tensor, own: torch.Tensor, alpha: float) -> torch.Tensor:
    """``(1 - alpha) * up(below) + alpha * own``: a new level's images (N, C, r, r) faded in from the level below's
    (N, C, r/2, r/2), upscaled (nearest), as ProGAN fades in a block. The same blend for fakes and reals."""
    return torch.lerp(upscale(below, own.shape[-1]), own, alpha)


def _init_weights(module: nn.Module) -> None:
    """DCGAN §3: convolution weights from N(0, 0.02); batch-norm scales N(1, 0.02), biases 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


# -- the networks ---------------------------------------------------------------------------------------------


class FSRGenerator(nn.Module):
    """z (N, z_dim) -> images (N, C, S, S) in [-1, 1]; ``pyramid(z)`` gives every level ``[X_0, ..., X_L]``."""

    def __init__(self, config: FSRConfig) -> None:
        super().__init__()
        self.config = config
        c, batch_norm = config.g_channels, config.g_norm == "batch"

        def hidden(deconv: nn.ConvTranspose2d, width: int) -> nn.Sequential:
            # keep nn.ReLU a module: the sparsity measurements hook it
            return nn.Sequential(deconv, nn.BatchNorm2d(width) if batch_norm else nn.Identity(), nn.ReLU())

        # level 0: the latent as a 1x1 map through a 4x4 deconvolution: (N, c_0, 4, 4)
        self.hidden = nn.ModuleList(
            [hidden(nn.ConvTranspose2d(config.z_dim, c(0), 4, 1, 0, bias=not batch_norm), c(0))]
        )
        for k in range(1, config.final_level + 1):  # (N, c_k, 4*2^k, 4*2^k)
            deconv = nn.ConvTranspose2d(c(k - 1), c(k), 4, 2, 1, bias=not batch_norm)
            self.hidden.append(hidden(deconv, c(k)))
        # the output deconvolution of every level ("to RGB"): stride 1, 3x3, then tanh
        self.to_rgb = nn.ModuleList(
            nn.ConvTranspose2d(c(k), config.channels, 3, 1, 1) for k in range(config.final_level + 1)
        )
        self.apply(_init_weights)

    @property
    def final_level(self) -> int:
        """Index L of the last level."""
        return self.config.final_level

    @property
    def method_only_parameters(self) -> tuple[str, ...]:
        """The lower levels' output layers: only the fsr method's per-level losses train them (``G(z)`` paints the
        final level alone), so ``ganzoo.testing.check_architecture`` expects no gradient there."""
        return tuple(f"to_rgb.{k}." for k in range(self.final_level))

    def level_parameters(self, level: int) -> list[nn.Parameter]:
        """The parameters level ``level`` trains: its hidden layer and its output layer."""
        return [*self.hidden[level].parameters(), *self.to_rgb[level].parameters()]

    def outputs(self, z: torch.Tensor, levels: tuple[int, ...] | list[int]) -> dict[int, torch.Tensor]:
        """``{level: X_level}`` for the given levels; runs the hidden layers up to the highest of them only."""
        wanted = sorted(set(levels))
        if not wanted or wanted[0] < 0 or wanted[-1] > self.final_level:
            raise ValueError(f"levels must lie in 0..{self.final_level}, got {list(levels)}")
        h = z.reshape(z.shape[0], -1, 1, 1)  # (N, z_dim, 1, 1)
        out = {}
        for k in range(wanted[-1] + 1):
            h = self.hidden[k](h)  # S_k: (N, c_k, 4*2^k, 4*2^k)
            if k in wanted:
                out[k] = torch.tanh(self.to_rgb[k](h))  # X_k: (N, C, 4*2^k, 4*2^k)
        return out

    def pyramid(self, z: torch.Tensor, upto: int | None = None) -> list[torch.Tensor]:
        """``[X_0, ..., X_upto]`` (default: every level): the image at each resolution, 4x4 first."""
        top = self.final_level if upto is None else upto
        out = self.outputs(z, range(top + 1))
        return [out[k] for k in range(top + 1)]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.outputs(z, (self.final_level,))[self.final_level]  # (N, C, S, S)


class LevelDiscriminator(nn.Module):
    """DCGAN-style D at one resolution: images (N, C, r, r) -> logits (N,)."""

    def __init__(self, config: FSRConfig, resolution: int) -> None:
        super().__init__()
        w, spectral = config.d_width, config.d_norm == "spectral"

        def norm(channels: int) -> nn.Module:
            if config.d_norm == "batch":
                return nn.BatchNorm2d(channels)
            if config.d_norm == "layer":  # one group: layer norm over (C, H, W), per sample
                return nn.GroupNorm(1, channels)
            return nn.Identity()

        def width(i: int) -> int:
            return min(w * 2**i, config.d_max)

        strided = int(math.log2(resolution // START))  # stride-2 layers from r down to 4
        if strided == 0:  # 4x4: a 3x3 convolution keeps the size
            layers: list[nn.Module] = [nn.Conv2d(config.channels, width(0), 3, 1, 1), nn.LeakyReLU(0.2)]
        else:
            layers = [nn.Conv2d(config.channels, width(0), 4, 2, 1), nn.LeakyReLU(0.2)]  # no norm on the input layer
            for i in range(1, strided):
                layers += [nn.Conv2d(width(i - 1), width(i), 4, 2, 1, bias=spectral), norm(width(i)), nn.LeakyReLU(0.2)]
        last = width(max(strided - 1, 0))
        if strided < 2:
            # the 4 and 8 px heads would have no normalised layer: with DCGAN's N(0, 0.02) init their logits start
            # near 0 and stayed at chance for hundreds of steps (measured: d_loss 1.386 all through levels 0 and 1,
            # while G drifted to saturated stripes), so they get one 3x3 layer more, normalised like the others'
            layers += [nn.Conv2d(last, last, 3, 1, 1, bias=spectral), norm(last), nn.LeakyReLU(0.2)]
        layers.append(nn.Conv2d(last, 1, 4, 1, 0))  # (N, 1, 1, 1): one logit, no sigmoid
        self.net = nn.Sequential(*layers)
        self.apply(_init_weights)
        if spectral:
            for module in self.net:
                if isinstance(module, nn.Conv2d):
                    nn.utils.parametrizations.spectral_norm(module)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images).reshape(-1)


class FSRDiscriminator(nn.Module):
    """One discriminator per resolution (``heads[l]`` judges 4*2^l px images); ``D(x)`` picks the head by size."""

    def __init__(self, config: FSRConfig) -> None:
        super().__init__()
        self.config = config
        self.heads = nn.ModuleList(LevelDiscriminator(config, r) for r in config.resolutions)

    @property
    def method_only_parameters(self) -> tuple[str, ...]:
        """The lower resolutions' heads: only the fsr method feeds them images of their size."""
        return tuple(f"heads.{k}." for k in range(self.config.final_level))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.heads[level_of(images.shape[-1], self.config)](images)


# -- the method -------------------------------------------------------------------------------------------------


class FSRMethod(AdversarialMethod):
    """Layer-wise, joint multi-scale, or random-frozen-control training of the ``fsr`` network (Allen-Zhu & Li).

    Options (``method_options`` / ``--method-option``):

    - ``mode``: ``"layerwise"`` (default; the article's layer-wise training), ``"joint"`` (all levels and all Ds
      together) or ``"random-frozen"`` (the control: lower hidden layers frozen at random initialisation, the top
      layer and its output trained);
    - ``level_steps``: steps per level in ``layerwise`` (default 5000): level ``min(step // level_steps, L)``; a
      run of ``(L + 1) * level_steps`` steps gives every level the same share. The other modes ignore it;
    - ``fade_steps``: ``layerwise`` only; the first N steps of each level above 0 blend the new output with the
      level below, upscaled (nearest), for fakes and reals alike, ``a = (t + 1) / N`` at the level's step t
      (ProGAN's fade-in; default 0, the article's protocol). At most ``level_steps``;
    - ``measure_every``: every N steps (a multiple of ``log_every``; 0, the default, is off) log per-resolution
      patch moments and hidden-layer sparsity of the EMA generator into ``losses.csv``;
    - ``sparsity_tau``: a hidden unit counts as (near-)zero when at most ``tau`` times its layer's RMS activation
      (default 0.01; 0 counts exact zeros only).
    """

    tasks: ClassVar[tuple[str, ...]] = ("unconditional",)
    shown: ClassVar[tuple[str, ...]] = ("d_loss", "g_loss", "level")
    OPTIONS: ClassVar[dict[str, Any]] = {
        "mode": "layerwise",
        "level_steps": 5000,
        "fade_steps": 0,
        "measure_every": 0,
        "sparsity_tau": 0.01,
    }
    MEASURE_SAMPLES: ClassVar[int] = 64  # fixed latents of the training-time measurements (the preview's reals)

    # -- set-up --------------------------------------------------------------------------------------------------

    def check_options(self) -> None:
        o = self.options_with(self.OPTIONS)
        if o["mode"] not in MODES:
            raise ValueError(f"fsr mode must be one of {', '.join(map(repr, MODES))}, got {o['mode']!r}")
        for name, low in (("level_steps", 1), ("fade_steps", 0), ("measure_every", 0)):
            value = o[name]
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if o["measure_every"] and o["measure_every"] % self.settings.log_every:
            raise ValueError(
                f"measure_every={o['measure_every']} must be a multiple of log_every={self.settings.log_every}: "
                "measurements reach losses.csv only on logged steps"
            )
        if o["fade_steps"] and o["mode"] != "layerwise":
            raise ValueError(
                f"fade_steps blends a new level with the one below in layer-wise training; mode {o['mode']!r} has "
                "no new levels: drop fade_steps or use mode='layerwise'"
            )
        if o["fade_steps"] > o["level_steps"]:
            raise ValueError(
                f"fade_steps={o['fade_steps']} must be at most level_steps={o['level_steps']}: a level's fade ends "
                "within its own turn"
            )
        tau = o["sparsity_tau"]
        if not isinstance(tau, (int, float)) or isinstance(tau, bool) or not 0 <= tau < 1:
            raise ValueError(f"sparsity_tau must be a number in [0, 1), got {tau!r}")
        if not isinstance(self.config, FSRConfig):
            raise ValueError(
                f"method {self.context.name!r} trains the per-resolution fsr network: train architecture 'fsr', "
                f"not {self.arch.name!r}"
            )
        self.mode, self.level_steps, self.fade_steps = o["mode"], o["level_steps"], o["fade_steps"]
        self.measure_every, self.tau = o["measure_every"], float(tau)
        self.final_level = self.config.final_level
        ema = self.settings.ema
        if self.mode == "layerwise" and 0 < ema < 1 and ema**self.level_steps > 0.5:
            # measured: EMA 0.999 over 300-step levels published mostly random-init weights (FID 364 at 64 px)
            fits = 1 - 5 / self.level_steps  # a horizon of a fifth of a level; none fits levels of 5 steps or fewer
            advice = f"a smaller decay (ema={fits:.3g}) or ema=0" if fits > 0 else "ema=0"
            warnings.warn(
                f"ema={ema:g} averages over about {1 / (1 - ema):.0f} steps, but each level trains only "
                f"{self.level_steps}: the published (EMA) weights of the last level will sit "
                f"{100 * ema**self.level_steps:.0f} % of the way back at their random initialisation. Use "
                f"{advice} for layer-wise runs this short",
                TrainingWarning,
                stacklevel=2,
            )

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """One G and one D optimiser per level (``generator_level<l>``, ``discriminator_level<l>``): freezing a
        level is not stepping its optimisers, so no Adam moment of a frozen layer ever moves."""
        G, D = self.modules["generator"], self.modules["discriminator"]
        optimizers = {}
        for k in range(self.final_level + 1):
            optimizers[f"generator_level{k}"] = self.optimizer_for(G.level_parameters(k))
            optimizers[f"discriminator_level{k}"] = self.optimizer_for(D.heads[k].parameters(), critic=True)
        return optimizers

    def setup(self) -> None:
        self.G, self.D = self.modules["generator"], self.modules["discriminator"]
        self.steps_done = 0
        self.reference: torch.Tensor | None = None
        self.level, self.trained = self.schedule(0)
        self.alpha = self.fade_alpha(0)
        # the random-init sparsity (the article's comparison), measured on a copy before any step: the same
        # numbers on resume, since the modules are rebuilt from the same seed before the checkpoint is loaded
        self.init_sparsity: dict[int, float] = {}
        if self.measure_every:
            from ganzoo.plugins.metrics.multiscale import hidden_sparsity

            z = self._measure_latents()
            layers = hidden_sparsity(self.G, z, self.tau, batch_statistics=True)  # runs on a copy
            self.init_sparsity = {k: row["zero_fraction"] for k, row in enumerate(layers)}
        if self.mode == "layerwise" and self.settings.steps <= self.final_level * self.level_steps:
            reached = min(max(self.settings.steps - 1, 0) // self.level_steps, self.final_level)
            warnings.warn(
                f"fsr layerwise: {self.settings.steps} steps of {self.level_steps} per level end at level {reached} "
                f"({self.config.resolutions[reached]} px); the published model paints level {self.final_level} "
                f"({self.config.image_size} px), whose layers would be untrained: raise steps to more than "
                f"{self.final_level * self.level_steps} or lower level_steps.",
                TrainingWarning,
                stacklevel=2,
            )

    def schedule(self, step: int) -> tuple[int, tuple[int, ...]]:
        """``(level shown, levels trained)`` at 0-based ``step``: a function of the step alone, so resume is exact."""
        if self.mode == "layerwise":
            level = min(step // self.level_steps, self.final_level)
            return level, (level,)
        if self.mode == "random-frozen":
            return self.final_level, (self.final_level,)
        return self.final_level, tuple(range(self.final_level + 1))

    def fade_alpha(self, step: int) -> float | None:
        """Weight ``a`` of the new level's own output at 0-based ``step`` while it fades in (``a = (t + 1) / N`` at
        the level's step t < N = ``fade_steps``), ``None`` outside a fade. A function of the step alone, so a resume
        in the middle of a fade continues it exactly."""
        if not self.fade_steps:
            return None
        level = self.schedule(step)[0]
        t = step - level * self.level_steps
        if level == 0 or t >= self.fade_steps:
            return None
        return (t + 1) / self.fade_steps

    def freeze(self, trained: tuple[int, ...]) -> None:
        """Only the ``trained`` levels of G and D take gradients; every other parameter is frozen (and loses any
        stale gradient from when it last trained)."""
        for k in range(self.final_level + 1):
            on = k in trained
            for p in (*self.G.level_parameters(k), *self.D.heads[k].parameters()):
                p.requires_grad_(on)
                if not on:
                    p.grad = None

    # -- one iteration ---------------------------------------------------------------------------------------------

    def step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        self.level, self.trained = self.schedule(step)
        self.alpha = self.fade_alpha(step)
        self.freeze(self.trained)
        d_metrics: dict[str, torch.Tensor] = {}
        for i in range(self.loss.d_steps):
            if i:
                batch = self.next_batch()
            d_metrics, fakes = self.level_d_step(batch, keep_graph=i == self.loss.d_steps - 1)
        g_metrics = self.level_g_step(fakes)
        self.steps_done = step + 1
        self.level, _ = self.schedule(self.steps_done)  # what the preview shows next
        out = {**d_metrics, **g_metrics, "level": torch.tensor(float(self.trained[-1]))}
        if self.fade_steps:
            out["alpha"] = torch.tensor(1.0 if self.alpha is None else self.alpha)
        if self.measure_every and self.steps_done % self.measure_every == 0:
            out.update({k: torch.tensor(v) for k, v in self.measure().items()})
        return out

    def real_levels(self, batch: dict[str, torch.Tensor]) -> dict[int, torch.Tensor]:
        """The batch's real images average-pooled to each trained level: ``{level: (N, C, r, r)}``."""
        real, sizes = batch[self.real_field], self.config.resolutions
        reals = {k: downscale(real, sizes[k]) for k in self.trained}
        if self.alpha is not None:  # fading in: the reals fade from the level below, upscaled, as the fakes do
            (k,) = self.trained
            reals[k] = fade_in(downscale(real, sizes[k - 1]), reals[k], self.alpha)
        return {k: self.to_memory_format(images) for k, images in reals.items()}

    def generated(self, z: torch.Tensor) -> dict[int, torch.Tensor]:
        """G's images at each trained level, ``{level: (N, C, r, r)}``, the new level faded in during a fade."""
        if self.alpha is None:
            return self.G.outputs(z, self.trained)
        (k,) = self.trained
        return {k: self.faded(self.G, z, k, self.alpha)}

    def faded(self, generator: FSRGenerator, z: torch.Tensor, level: int, alpha: float) -> torch.Tensor:
        """``(1 - alpha) * up(X_{level-1}) + alpha * X_level``, ``(N, C, r, r)``: the level below is frozen, so G's
        gradient reaches only the new layers, through ``alpha``."""
        out = generator.outputs(z, (level - 1, level))  # one pass: level-1's image is on the way to level's
        return fade_in(out[level - 1], out[level], alpha)

    def judge_level(self, level: int, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``D_level``'s logits for reals and fakes: one pass (batch norm per half) or two."""
        head = self.D.heads[level]
        if self.settings.separate_d_batches:
            return head(real), head(fake)
        with batch_norm_per_half(head):
            real_logits, fake_logits = head(torch.cat([real, fake])).chunk(2)
        return real_logits, fake_logits

    def level_d_step(self, batch: dict[str, torch.Tensor], *, keep_graph: bool) -> tuple[dict[str, torch.Tensor], Any]:
        """(1) Each trained level's D learns reals pooled to its resolution against G's output there; the D loss
        is the sum over levels (each D only sees its own term)."""
        loss, reals = self.loss, self.real_levels(batch)
        z = self.latents(len(batch[self.real_field]))
        metrics: dict[str, torch.Tensor] = {}
        with self.autocast():
            with torch.enable_grad() if keep_graph else torch.no_grad():
                fakes = self.generated(z)  # {level: (N, C, r, r)}
            total, real_scores, fake_scores = 0.0, [], []
            for k in self.trained:
                real_logits, fake_logits = self.judge_level(k, reals[k], fakes[k].detach())
                d_loss = loss.discriminator_loss(real_logits.float(), fake_logits.float())
                head = self.D.heads[k]
                penalty = loss.regularizer(head, reals[k], fakes[k].detach())
                if penalty is not None:
                    d_loss = d_loss + penalty
                total = total + d_loss
                shown = torch.sigmoid if loss.outputs_probability else (lambda x: x)
                real_scores.append(shown(real_logits.detach().float()).mean())
                fake_scores.append(shown(fake_logits.detach().float()).mean())
                if len(self.trained) > 1:
                    metrics[f"d{self.config.resolutions[k]}_loss"] = d_loss.detach()
        for k in self.trained:
            self.optimizers[f"discriminator_level{k}"].zero_grad(set_to_none=True)
        total.backward()
        d_norm = grad_norm(self.D)
        for k in self.trained:
            self.optimizers[f"discriminator_level{k}"].step()
            if loss.clip is not None:  # WGAN: keep the critic (roughly) Lipschitz by clipping its weights
                with torch.no_grad():
                    for p in self.D.heads[k].parameters():
                        p.clamp_(-loss.clip, loss.clip)
        metrics.update(
            {
                "d_loss": total.detach(),
                "d_real": torch.stack(real_scores).mean(),  # over the judged levels
                "d_fake": torch.stack(fake_scores).mean(),
                "d_grad_norm": d_norm,
            }
        )
        return metrics, (fakes, reals)

    def level_g_step(self, fakes_and_reals: Any) -> dict[str, torch.Tensor]:
        """(2) G's trained levels learn to fool their Ds: the sum of the adversarial loss over judged levels."""
        fakes, reals = fakes_and_reals
        loss, metrics = self.loss, {}
        self.D.requires_grad_(False)  # D's weight gradients are not needed here
        try:
            with self.autocast():
                total = 0.0
                for k in self.trained:
                    head = self.D.heads[k]
                    if loss.uses_real_logits:  # relativistic losses: the current D's scores of real samples too
                        real_logits, fake_logits = self.judge_level(k, reals[k], fakes[k])
                        g_loss = loss.generator_loss(fake_logits.float(), real_logits.float())
                    else:
                        g_loss = loss.generator_loss(head(fakes[k]).float())
                    total = total + g_loss
                    if len(self.trained) > 1:
                        metrics[f"g{self.config.resolutions[k]}_loss"] = g_loss.detach()
            for k in self.trained:
                self.optimizers[f"generator_level{k}"].zero_grad(set_to_none=True)
            total.backward()
            g_norm = grad_norm(self.G)
            for k in self.trained:
                self.optimizers[f"generator_level{k}"].step()
        finally:
            self.freeze(self.trained)  # the trained Ds take gradients again, the frozen ones stay frozen
        return {"g_loss": total.detach(), "g_grad_norm": g_norm, **metrics}

    # -- measurements --------------------------------------------------------------------------------------------

    def _measure_latents(self) -> torch.Tensor:
        from ganzoo.sampling import latents

        # numpy's generator, not torch's: measuring never moves the training RNG
        z = latents(self.MEASURE_SAMPLES, self.config.z_dim, self.settings.seed + 3)
        return torch.from_numpy(z).to(self.device)

    def fixed_inputs(self, n: int, seed: int, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The preview's latents; its real images are also the reference of the training-time moments."""
        self.reference = batch[self.real_field].float()
        return super().fixed_inputs(n, seed, batch)

    @torch.no_grad()
    def measure(self) -> dict[str, float]:
        """Per-resolution patch moments (against the preview's reals pooled to each level) and per-position
        hidden-layer sparsity of the EMA generator, with the random-init sparsity beside it."""
        from ganzoo.plugins.metrics.multiscale import hidden_sparsity, patch_moments

        G = self.ema[self.published[0]]
        z = self._measure_latents()
        out: dict[str, float] = {}
        was_training = G.training
        G.eval()
        try:
            images = G.pyramid(z)
        finally:
            G.train(was_training)
        if self.reference is not None:
            for k, fake in enumerate(images):
                r = self.config.resolutions[k]
                distances = patch_moments(fake, downscale(self.reference, r))
                out[f"mean_dist_{r}px"] = distances["mean_distance_scaled"]
                out[f"cov_dist_{r}px"] = distances["cov_distance_relative"]
        for k, row in enumerate(hidden_sparsity(G, z, self.tau)):
            r = self.config.resolutions[k]
            out[f"zeros_{r}px"] = row["zero_fraction"]
            if k in self.init_sparsity:
                out[f"zeros_init_{r}px"] = self.init_sparsity[k]
        return out

    # -- progress pictures -----------------------------------------------------------------------------------------

    @torch.no_grad()
    def preview(self, fixed: dict[str, torch.Tensor]) -> torch.Tensor:
        """The EMA generator's output at the level of the next step, upscaled (nearest) to the final size: layer-wise
        training shows as ever finer pixels; during a fade, the blend D sees."""
        G = self.ema[self.published[0]]
        z, alpha = fixed["z"], self.fade_alpha(self.steps_done)
        image = G.outputs(z, (self.level,))[self.level] if alpha is None else self.faded(G, z, self.level, alpha)
        return upscale(image.float(), self.config.image_size)

    # -- its own state -----------------------------------------------------------------------------------------------

    def extra_state(self) -> dict[str, Any]:
        """The mode, the steps done and the level of the next step (a check on resume: it follows from the step)."""
        return {"mode": self.mode, "steps_done": self.steps_done, "level": self.level}

    def load_state_dict(self, tensors: dict[str, torch.Tensor], extra: dict[str, Any]) -> None:
        """Restore the step count and check the level against this run's schedule (other options would train
        other layers from here: refused, never re-derived silently)."""
        from ganzoo.errors import ModelFileError

        try:
            mode, done, level = str(extra["mode"]), int(extra["steps_done"]), int(extra["level"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"the checkpoint's fsr state is missing or malformed ({exc!r})") from None
        expected, _ = self.schedule(done)
        if mode != self.mode or level != expected:
            raise ModelFileError(
                f"the checkpoint was trained in mode {mode!r} and is at level {level} after {done} steps; this run's "
                f"options give mode {self.mode!r}, level {expected}: resume with the options that wrote it"
            )
        self.steps_done, self.level = done, level
        self.trained = self.schedule(done)[1]


# -- registration -----------------------------------------------------------------------------------------------


@ganzoo.hookimpl
def register_architectures(register):
    """Register ``fsr``."""
    register(
        "fsr",
        FSRGenerator,
        FSRDiscriminator,
        config=FSRConfig,
        default_method="fsr",
        default_loss="non-saturating",
        tiny={"z_dim": 8, "image_size": 16, "g_width": 4, "g_max": 16, "d_width": 4, "d_max": 16},
        description="forward super-resolution (Allen-Zhu & Li 2021): a hidden and an output deconvolution per "
        "resolution, one D per resolution, 16-128 px",
    )


@ganzoo.hookimpl
def register_methods(register):
    """Register ``fsr``."""
    register(
        "fsr",
        FSRMethod,
        description="trains architecture fsr: layer-wise / joint multi-scale / random-frozen control training "
        "(Allen-Zhu & Li 2021)",
    )


@ganzoo.hookimpl
def register_metrics(register):
    """Register the per-resolution measurements of ``plugins/metrics/multiscale.py``."""
    from ganzoo.plugins.metrics.multiscale import MultiscaleFID, MultiscaleMoments, PatchSparsity

    register(
        "fid-per-resolution",
        MultiscaleFID,
        description="FID of each level of G.pyramid(z) against the reals average-pooled to that level",
    )
    register(
        "moments-per-resolution",
        MultiscaleMoments,
        description="mean/covariance distance of 4x4 patches at each pyramid level against the pooled reals",
    )
    register(
        "patch-sparsity",
        PatchSparsity,
        description="share of near-zero channels per position in each hidden ReLU layer, vs random init",
    )


__all__ = [
    "FSRConfig",
    "FSRDiscriminator",
    "FSRGenerator",
    "FSRMethod",
    "LevelDiscriminator",
    "downscale",
    "fade_in",
    "upscale",
]
