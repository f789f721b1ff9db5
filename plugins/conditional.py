"""Class-conditional GANs: they model P(x | y) instead of P(x), so a label picks what is drawn.

- ``cgan``: Mirza & Osindero 2014, "Conditional Generative Adversarial Nets", https://arxiv.org/abs/1411.1784.
  The label, one-hot, is joined to G's latent and, as one-hot planes, to D's input image.
- ``acgan``: Odena, Olah & Shlens 2017, "Conditional Image Synthesis with Auxiliary Classifier GANs",
  https://arxiv.org/abs/1610.09585. D has a real/fake head and a K-way class head on one body; G is cGAN's.
- ``projection``: Miyato & Koyama 2018, "cGANs with Projection Discriminator", https://arxiv.org/abs/1802.05637.
  D(x, y) = psi(phi(x)) + <embed(y), phi(x)>; G uses conditional batch norm (per-class gamma, beta); hinge loss;
  ``spectral_norm=True`` puts spectral norm on D (Miyato et al. 2018).

All are DCGAN-style (``_conditional_blocks``): 32 px greyscale for Fashion-MNIST (``fashion-mnist:PATH`` pads 28 to
32 exactly), 64 px for RGB. Methods: ``conditional`` (G(z, y), D(x, y) with any registered loss) and ``acgan``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

import ganzoo
from ganzoo.plugins._conditional_blocks import (
    ConditionalBatchNorm2d,
    ConditionalConfig,
    DownStack,
    UpStack,
    init_weights,
    label_maps,
    one_hot,
    spectral,
)
from ganzoo.training.adversarial import AdversarialMethod

# -- networks --------------------------------------------------------------------------------------------------


class LabelConcatGenerator(nn.Module):
    """cGAN / ACGAN G: (z (N, z_dim), labels (N,)) -> images (N, C, S, S); G sees [z, one_hot(y)]."""

    def __init__(self, config: ConditionalConfig) -> None:
        super().__init__()
        self.num_classes = config.num_classes
        self.net = UpStack(config.z_dim + config.num_classes, config, nn.BatchNorm2d)
        self.apply(init_weights)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, one_hot(labels, self.num_classes, z.dtype)], 1))


class LabelMapDiscriminator(nn.Module):
    """cGAN D: (images (N, C, S, S), labels (N,)) -> logits (N,); the label enters as one-hot planes."""

    def __init__(self, config: ConditionalConfig) -> None:
        super().__init__()
        self.num_classes, self.size = config.num_classes, config.image_size
        self.body = DownStack(config.channels + config.num_classes, config)
        self.out = spectral(nn.Conv2d(self.body.out_channels, 1, 4, 1, 0), config.spectral_norm)  # (N, 1, 1, 1)
        self.apply(init_weights)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        planes = label_maps(labels, self.num_classes, self.size, images.dtype)
        planes = (
            planes.contiguous(memory_format=torch.channels_last)
            if images.is_contiguous(memory_format=torch.channels_last)
            else planes
        )
        return self.out(self.body(torch.cat([images, planes], 1))).reshape(-1)


class AuxiliaryClassifierDiscriminator(nn.Module):
    """ACGAN D: images -> real/fake logits (N,); ``heads(images)`` also gives class logits (N, K).

    ``forward`` takes ``labels`` and ignores them, so the one loop can call every conditional D as D(x, y).
    """

    method_only_parameters = ("classes.",)  # the class head learns from the acgan method's cross-entropy alone

    def __init__(self, config: ConditionalConfig) -> None:
        super().__init__()
        self.body = DownStack(config.channels, config)
        self.source = spectral(nn.Conv2d(self.body.out_channels, 1, 4, 1, 0), config.spectral_norm)  # (N, 1, 1, 1)
        self.classes = spectral(nn.Conv2d(self.body.out_channels, config.num_classes, 4, 1, 0), config.spectral_norm)
        self.apply(init_weights)

    def heads(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(images)  # (N, w * 2^n, 4, 4)
        return self.source(h).reshape(-1), self.classes(h).flatten(1)  # (N,), (N, K): logits, no softmax

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.heads(images)[0]


class ConditionalBatchNormGenerator(nn.Module):
    """Projection-family G: (z, labels) -> images; every batch norm has per-class gamma and beta."""

    def __init__(self, config: ConditionalConfig) -> None:
        super().__init__()
        self.net = UpStack(config.z_dim, config, lambda c: ConditionalBatchNorm2d(c, config.num_classes))
        self.apply(init_weights)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.net(z, labels)


class ProjectionDiscriminator(nn.Module):
    """(images, labels) -> logits (N,): psi(phi(x)) + <embed(y), phi(x)>, phi(x) = sum-pooled body features."""

    def __init__(self, config: ConditionalConfig) -> None:
        super().__init__()
        self.body = DownStack(config.channels, config)
        self.psi = spectral(nn.Linear(self.body.out_channels, 1), config.spectral_norm)
        self.embed = spectral(nn.Embedding(config.num_classes, self.body.out_channels), config.spectral_norm)
        self.apply(init_weights)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        phi = F.leaky_relu(self.body(images), 0.2).sum((2, 3))  # (N, F): global sum pooling, as the paper
        return self.psi(phi).reshape(-1) + (self.embed(labels) * phi).sum(1)  # (N,)


# -- methods ---------------------------------------------------------------------------------------------------


class ConditionalMethod(AdversarialMethod):
    """The adversarial update with labels: G(z, y) against real (x, y), D(x, y); any registered loss."""

    needs: ClassVar[frozenset[str]] = frozenset({"image", "label"})
    tasks: ClassVar[tuple[str, ...]] = ("class-conditional",)

    def check_data(self, shapes: dict[str, tuple[int, ...]], description: str) -> None:
        super().check_data(shapes, description)
        if shapes["label"] != ():
            raise ganzoo.DataError(
                f"{description}: labels must be one class index per sample, got shape {shapes['label']}"
            )

    def generator_inputs(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        # Fakes take the real batch's labels, so D's real and fake halves have the same class mix.
        return (self.latents(len(batch["label"])), batch["label"])

    def discriminator_inputs(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        return (batch["label"],)

    @property
    def preview_nrow(self) -> int:
        """One column per class: the preview is a class grid."""
        return self.config.num_classes

    def fixed_inputs(self, n: int, seed: int, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        k = self.config.num_classes
        rows = max(1, n // k)
        fixed = super().fixed_inputs(rows * k, seed, batch)
        fixed["labels"] = torch.arange(k, device=self.device).repeat(rows)  # every row walks the classes
        return fixed

    @torch.no_grad()
    def preview(self, fixed: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.ema["generator"](fixed["z"], fixed["labels"]).float()


class ACGANMethod(ConditionalMethod):
    """ACGAN's update: the adversarial loss plus cross-entropy of D's class head.

    The "Mod" variant most reimplementations converged on: D's class head learns from real samples only; G is
    rewarded when its fakes are classified as their label. Why: trained to classify fakes too (the paper's
    L_C on both), D can lower its loss by separating fakes of a class from each other, which pushes G to make
    each class's fakes easy to classify rather than varied, and samples collapse within classes. Cross-entropy
    is taken on logits (``F.cross_entropy``), never after a softmax. Option: ``aux_weight`` (1.0).
    """

    shown: ClassVar[tuple[str, ...]] = ("d_loss", "g_loss", "d_class_acc")

    def check_options(self) -> None:
        unknown = set(self.options) - {"aux_weight"}
        if unknown:
            raise TypeError(f"acgan takes aux_weight only, got {sorted(unknown)}")
        self.aux_weight = float(self.options.get("aux_weight", 1.0))

    def discriminator_inputs(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        return ()  # ACGAN's D judges images alone; labels reach it through the class loss

    def judge(
        self, real: torch.Tensor, fake: torch.Tensor, extra: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        logits, (self._real_classes, _) = self.judge_heads(real, fake)
        return logits

    def extra_discriminator_loss(self, batch: dict[str, torch.Tensor], fake: torch.Tensor) -> tuple[Any, dict]:
        ce = F.cross_entropy(self._real_classes.float(), batch["label"])
        accuracy = (self._real_classes.detach().argmax(1) == batch["label"]).float().mean()
        return self.aux_weight * ce, {"d_class_loss": ce.detach(), "d_class_acc": accuracy}

    def score(self, fake: torch.Tensor, extra: tuple[torch.Tensor, ...]) -> torch.Tensor:
        source, self._fake_classes = self.D.heads(fake)
        return source

    def extra_generator_loss(self, batch: dict[str, torch.Tensor], fake: torch.Tensor) -> tuple[Any, dict]:
        ce = F.cross_entropy(self._fake_classes.float(), batch["label"])  # fakes carry the batch's labels
        return self.aux_weight * ce, {"g_class_loss": ce.detach()}


# -- registration ----------------------------------------------------------------------------------------------

TINY = {"z_dim": 8, "image_size": 16, "g_width": 4, "d_width": 4}


@ganzoo.hookimpl
def register_architectures(register):
    common = {"config": ConditionalConfig, "task": "class-conditional", "tiny": TINY}
    register(
        "cgan",
        LabelConcatGenerator,
        LabelMapDiscriminator,
        default_method="conditional",
        default_loss="non-saturating",
        description="cGAN (Mirza & Osindero 2014): the one-hot label joined to G's latent and D's input",
        **common,
    )
    register(
        "acgan",
        LabelConcatGenerator,
        AuxiliaryClassifierDiscriminator,
        default_method="acgan",
        default_loss="non-saturating",
        description="ACGAN (Odena et al. 2017): D with a real/fake and a class head (Mod: classifies real only)",
        **common,
    )
    register(
        "projection",
        ConditionalBatchNormGenerator,
        ProjectionDiscriminator,
        default_method="conditional",
        default_loss="hinge",
        description="Projection D + conditional batch norm G (Miyato & Koyama 2018), hinge loss",
        **common,
    )


@ganzoo.hookimpl
def register_methods(register):
    register("conditional", ConditionalMethod, description="adversarial update with labels: G(z, y), D(x, y)")
    register("acgan", ACGANMethod, description="ACGAN: adversarial loss + class head cross-entropy (Mod variant)")
