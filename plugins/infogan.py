"""InfoGAN: Chen, Duan, Houthooft, Schulman, Sutskever and Abbeel, "InfoGAN: Interpretable Representation Learning
by Information Maximizing Generative Adversarial Nets", NeurIPS 2016, https://arxiv.org/abs/1606.03657.

G takes noise z plus structured latent codes c: one categorical code (``categories`` values) and ``continuous``
codes uniform in [-1, 1]. A head Q on D's body predicts c from G(z, c); maximising the variational lower bound
L_I = E[log Q(c | G(z, c))] + H(c) on the mutual information I(c; G(z, c)) makes the codes mean something (on
Fashion-MNIST the categorical code tends to pick the garment class, a continuous code width or thickness).
The objective, with lambda the ``info_weight``: min_{G,Q} max_D V(D, G) - lambda L_I(G, Q). L_I trains G, and Q
with D's body (Q shares it, so the bound costs almost nothing).

- Q's categorical output is cross-entropy on logits; its continuous output is a factored Gaussian's mean with
  unit variance, so -log Q is 0.5 (c - mu)^2 up to a constant (the paper also fixes the variance in some runs).
- The codes are part of the input spec (``code``: int64; ``continuous``: float32 (N, continuous)), so
  ``Generator.sample`` draws them from their priors from the seed (or takes them: ``codes={"code": 3}``),
  ``Generator.traverse`` varies one with the rest fixed, and export and serving take them.
- ``info_weight=0`` is the control: the same networks with no information term.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

import ganzoo
from ganzoo.config import ConfigError, InputSpec
from ganzoo.plugins._conditional_blocks import DownStack, UpStack, init_weights, one_hot
from ganzoo.training.adversarial import AdversarialMethod


@dataclass
class InfoGANConfig(ganzoo.ImageConfig):
    """InfoGAN on DCGAN-style networks; the paper's MNIST set-up: 62 noise dimensions, one 10-way categorical and
    two continuous codes."""

    z_dim: int = 62
    image_size: int = 32
    channels: int = 1
    categories: int = 10  # values of the categorical code (0 turns it off)
    continuous: int = 2  # continuous codes, uniform in [-1, 1]
    g_width: int = 64
    d_width: int = 64
    spectral_norm: bool = False  # kept False: Q's body is D's; DownStack reads it

    def validate(self) -> None:
        super().validate()
        if self.image_size not in (16, 32, 64, 128):
            raise ConfigError(f"image_size must be a power of two from 16 to 128, got {self.image_size}")
        if self.categories < 0 or self.continuous < 0 or self.categories + self.continuous == 0:
            raise ConfigError("InfoGAN needs at least one code: categories >= 2 or continuous >= 1")
        if self.categories == 1:
            raise ConfigError("a categorical code needs at least 2 categories (0 turns it off)")

    @property
    def n_blocks(self) -> int:
        """Hidden up/down-sampling blocks between 4x4 and the image."""
        return (self.image_size.bit_length() - 1) - 3

    @property
    def inputs(self) -> tuple[InputSpec, ...]:
        """``z`` (normal), then ``code`` (categorical) and ``continuous`` (uniform in [-1, 1]) when present."""
        specs = [InputSpec("z", "float32", (self.z_dim,), "latent", prior="normal")]
        if self.categories:
            specs.append(
                InputSpec("code", "int64", (), "code", prior="categorical", value_range=(0, self.categories - 1))
            )
        if self.continuous:
            specs.append(
                InputSpec("continuous", "float32", (self.continuous,), "code", prior="uniform", value_range=(-1.0, 1.0))
            )
        return tuple(specs)

    @property
    def code_size(self) -> int:
        """Width of the codes as G sees them: one-hot categories plus the continuous values."""
        return self.categories + self.continuous


class InfoGANGenerator(nn.Module):
    """(z, code, continuous) -> images (N, C, S, S); G sees [z, one_hot(code), continuous]."""

    def __init__(self, config: InfoGANConfig) -> None:
        super().__init__()
        self.categories, self.continuous = config.categories, config.continuous
        self.net = UpStack(config.z_dim + config.code_size, config, nn.BatchNorm2d)
        self.apply(init_weights)

    def forward(self, z: torch.Tensor, *codes: torch.Tensor) -> torch.Tensor:
        parts = [z]
        codes = list(codes)
        if self.categories:
            parts.append(one_hot(codes.pop(0), self.categories, z.dtype))
        if self.continuous:
            parts.append(codes.pop(0))
        return self.net(torch.cat(parts, 1))


class InfoGANDiscriminator(nn.Module):
    """images -> real/fake logits (N,); ``heads`` also gives Q's code predictions from the same body."""

    method_only_parameters = ("q_",)  # Q learns from the infogan method's information term alone

    def __init__(self, config: InfoGANConfig) -> None:
        super().__init__()
        self.categories, self.continuous = config.categories, config.continuous
        self.body = DownStack(config.channels, config)
        self.source = nn.Conv2d(self.body.out_channels, 1, 4, 1, 0)  # (N, 1, 1, 1)
        self.q_hidden = nn.Sequential(
            nn.Conv2d(self.body.out_channels, 128, 4, 1, 0), nn.BatchNorm2d(128), nn.LeakyReLU(0.2, True)
        )  # (N, 128, 1, 1)
        self.q_codes = nn.Conv2d(128, config.code_size, 1)  # categorical logits, then continuous means
        self.apply(init_weights)

    def heads(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(real/fake logits (N,), Q's outputs (N, categories + continuous))."""
        h = self.body(images)
        return self.source(h).reshape(-1), self.q_codes(self.q_hidden(h)).flatten(1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.heads(images)[0]


# Why 1e-3: at D's 2e-4 for G too, Q recovers the codes perfectly but G puts the garment class in z and
# only style in the code (Hungarian-matched accuracy 20 % on Fashion-MNIST); at the paper's 1e-3 the same
# 2,500 steps give 62 % (benchmarks/README.md, "InfoGAN").
PAPER_GENERATOR_LR = 1e-3  # Chen et al. 2016's G rate on MNIST (D and Q at 2e-4)


class InfoGANMethod(AdversarialMethod):
    """The adversarial update plus lambda times InfoGAN's information term, on D (with Q) and on G.

    Options: ``info_weight`` (lambda, 1.0; 0 is the control), ``continuous_weight`` (the continuous codes' share,
    0.1 as in common MNIST set-ups, since their Gaussian log-likelihood is on another scale), ``generator_lr`` (G's
    learning rate; ``None``: the run's ``lr``). Without ``generator_lr``, G takes the run's ``lr`` when one is set
    and otherwise the paper's 1e-3 for its MNIST runs (against D's 2e-4), so an explicit ``--lr`` is never
    silently replaced.
    """

    needs: ClassVar[frozenset[str]] = frozenset({"image"})
    shown: ClassVar[tuple[str, ...]] = ("d_loss", "g_loss", "info")

    def check_options(self) -> None:
        unknown = set(self.options) - {"info_weight", "continuous_weight", "generator_lr"}
        if unknown:
            raise TypeError(f"infogan takes info_weight, continuous_weight and generator_lr, got {sorted(unknown)}")
        self.info_weight = float(self.options.get("info_weight", 1.0))
        self.continuous_weight = float(self.options.get("continuous_weight", 0.1))
        generator_lr = self.options.get("generator_lr")
        if self.info_weight < 0 or self.continuous_weight < 0:
            raise ValueError("info_weight and continuous_weight must be >= 0")
        if generator_lr is not None and not float(generator_lr) > 0:
            raise ValueError(f"generator_lr must be > 0, got {generator_lr}")

    def lr_for(self, critic: bool) -> float | None:
        """D's and Q's rate: the run's. G's: ``generator_lr`` when given (``None``: the run's), else the run's
        ``lr`` when set, else the paper's 1e-3 (Chen et al. 2016, MNIST)."""
        if not critic and "generator_lr" in self.options:
            rate = self.options["generator_lr"]
            return super().lr_for(critic) if rate is None else float(rate)
        if not critic and self.settings.lr is None:
            return PAPER_GENERATOR_LR
        return super().lr_for(critic)

    def generator_inputs(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        n, cfg = len(batch["image"]), self.config
        codes = []
        if cfg.categories:
            codes.append(torch.randint(cfg.categories, (n,), device=self.device))
        if cfg.continuous:
            codes.append(torch.rand(n, cfg.continuous, device=self.device) * 2 - 1)
        self._codes = codes  # what the information term must recover
        return (self.latents(n), *codes)

    def information_loss(self, q: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """-L_I up to the constant H(c): cross-entropy of the categorical code, 0.5 (c - mu)^2 of the others."""
        cfg, codes, metrics = self.config, list(self._codes), {}
        total = q.new_zeros(())
        if cfg.categories:
            logits, target = q[:, : cfg.categories].float(), codes.pop(0)
            total = total + F.cross_entropy(logits, target)
            metrics["q_code_acc"] = (logits.detach().argmax(1) == target).float().mean()
        if cfg.continuous:
            mean = q[:, cfg.categories :].float()
            error = 0.5 * (codes.pop(0) - mean).pow(2).sum(1).mean()
            total = total + self.continuous_weight * error
            metrics["q_continuous_mse"] = 2 * error.detach() / cfg.continuous
        metrics["info"] = total.detach()
        return total, metrics

    def judge(
        self, real: torch.Tensor, fake: torch.Tensor, extra: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        logits, (_, self._fake_q) = self.judge_heads(real, fake)
        return logits

    def extra_discriminator_loss(self, batch: dict[str, torch.Tensor], fake: torch.Tensor) -> tuple[Any, dict]:
        loss, metrics = self.information_loss(self._fake_q)  # trains Q and D's body on the (detached) fakes
        return self.info_weight * loss, metrics

    def score(self, fake: torch.Tensor, extra: tuple[torch.Tensor, ...]) -> torch.Tensor:
        source, self._fake_q = self.D.heads(fake)
        return source

    def extra_generator_loss(self, batch: dict[str, torch.Tensor], fake: torch.Tensor) -> tuple[Any, dict]:
        loss, _ = self.information_loss(self._fake_q)  # D is frozen here: the term trains G
        return self.info_weight * loss, {}

    # -- preview: a traversal of the categorical code (rows) along the first continuous code (columns) ---------

    preview_nrow = 8

    def fixed_inputs(self, n: int, seed: int, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        cfg = self.config
        rows = cfg.categories or 8
        z = super().fixed_inputs(1, seed, batch)["z"].repeat(rows * 8, 1)  # one latent everywhere
        fixed: dict[str, Any] = {"z": z, "codes": []}
        if cfg.categories:
            fixed["codes"].append(torch.arange(rows, device=self.device).repeat_interleave(8))
        if cfg.continuous:
            walk = torch.zeros(rows * 8, cfg.continuous, device=self.device)
            walk[:, 0] = torch.linspace(-1, 1, 8, device=self.device).repeat(rows)
            fixed["codes"].append(walk)
        return fixed

    @torch.no_grad()
    def preview(self, fixed: dict[str, Any]) -> torch.Tensor:
        return self.ema["generator"](fixed["z"], *fixed["codes"]).float()


@ganzoo.hookimpl
def register_architectures(register):
    register(
        "infogan",
        InfoGANGenerator,
        InfoGANDiscriminator,
        config=InfoGANConfig,
        default_method="infogan",
        default_loss="non-saturating",
        tiny={"z_dim": 8, "image_size": 16, "g_width": 4, "d_width": 4},
        description="InfoGAN (Chen et al. 2016): categorical + continuous codes recovered by a Q head on D",
    )


@ganzoo.hookimpl
def register_methods(register):
    register("infogan", InfoGANMethod, description="adversarial update + lambda * InfoGAN's information term")
