"""CycleGAN: Zhu, Park, Isola and Efros, "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
Networks", ICCV 2017, https://arxiv.org/abs/1703.10593.

Two domains A and B with no pairs. G_AB: A -> B and G_BA: B -> A, each with its own discriminator (D_B judges
B images, D_A judges A images), and a cycle-consistency term that makes the two mappings each other's inverse:

    L = L_GAN(G_AB, D_B) + L_GAN(G_BA, D_A)
        + lambda (||G_BA(G_AB(a)) - a||_1 + ||G_AB(G_BA(b)) - b||_1)                      (cycle, lambda = 10)
        + 0.5 lambda (||G_AB(b) - b||_1 + ||G_BA(a) - a||_1)                             (identity, section 5.2)

with the least-squares GAN loss (Mao et al. 2017), ResNet generators with instance norm and reflection padding,
70x70 PatchGAN discriminators, and D fed from a pool of the last 50 fakes of its domain (Shrivastava et al. 2017).
Each iteration updates both generators first, then both discriminators (D's loss halved), as the paper's code.

The model publishes both directions: ``translate(x, direction="a2b")`` (or ``"g_ab"``) and ``"b2a"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

import ganzoo
from ganzoo.config import ConfigError
from ganzoo.errors import DataError
from ganzoo.plugins._blocks import ImagePool, PatchDiscriminator, ResNetGenerator, init_normal
from ganzoo.training.adversarial import grad_norm
from ganzoo.training.method import TrainingMethod


@dataclass
class CycleGANConfig(ganzoo.TranslatorConfig):
    """Two ResNet generators and two PatchGAN discriminators for images of ``channels`` in both domains.

    ``blocks`` (residual blocks) defaults to 6 up to 128 px and 9 above, as in the paper."""

    image_size: int = 128
    in_channels: int = 3
    channels: int = 3
    g_width: int = 64
    d_width: int = 64
    blocks: int = 0  # 0: 6 at <= 128 px, else 9
    d_layers: int = 3  # 3 -> 70x70 patches
    norm: str = "instance"

    def validate(self) -> None:
        super().validate()
        if self.in_channels != self.channels:
            raise ConfigError(
                f"CycleGAN maps A to B and back, so both domains need the same channels: in_channels="
                f"{self.in_channels}, channels={self.channels}"
            )
        if self.image_size < 16 or self.image_size % 4:
            raise ConfigError(
                f"image_size must be a multiple of 4 and >= 16 (G halves it twice), got {self.image_size}"
            )
        if self.norm not in ("instance", "batch"):
            raise ConfigError(f"norm must be 'instance' or 'batch', got {self.norm!r}")
        if self.d_layers < 1 or self.image_size >> self.d_layers < 4:
            raise ConfigError(f"d_layers={self.d_layers} leaves no patches at {self.image_size} px")

    @property
    def residual_blocks(self) -> int:
        """The generators' residual blocks."""
        return self.blocks or (6 if self.image_size <= 128 else 9)


class CycleGenerator(ResNetGenerator):
    """images of one domain (N, C, S, S) in [-1, 1] -> the other's (N, C, S, S) in [-1, 1]."""

    def __init__(self, config: CycleGANConfig) -> None:
        super().__init__(config.channels, config.channels, config.g_width, config.residual_blocks, config.norm)
        self.apply(init_normal)


class CycleDiscriminator(PatchDiscriminator):
    """images (N, C, S, S) -> patch logits (N, 1, h, w): is each patch a real image of this domain?"""

    def __init__(self, config: CycleGANConfig) -> None:
        super().__init__(config.channels, config.d_width, config.d_layers, config.norm)
        self.apply(init_normal)


class CycleGANMethod(TrainingMethod):
    """CycleGAN's update: both generators (adversarial + cycle + identity), then both discriminators on real
    images against pooled fakes. Any registered loss; least squares by default (the paper's).

    Options: ``cycle_weight`` (lambda, 10), ``identity_weight`` (times lambda, 0.5; 0 turns it off),
    ``pool_size`` (50; 0 feeds D the newest fakes only), ``adversarial_weight`` (scale of G's adversarial terms;
    default 2 with ``least-squares``, else 1).
    """

    needs: ClassVar[frozenset[str]] = frozenset({"a", "b"})
    published: ClassVar[tuple[str, ...]] = ("g_ab", "g_ba")
    tasks: ClassVar[tuple[str, ...]] = ("image-to-image",)
    shown: ClassVar[tuple[str, ...]] = ("g_adversarial", "cycle", "identity", "d_loss")
    preview_nrow = 6  # two (input | translated | back) triples a row

    def check_options(self) -> None:
        known = {"cycle_weight", "identity_weight", "pool_size", "adversarial_weight"}
        unknown = set(self.options) - known
        if unknown:
            raise TypeError(f"cyclegan takes {', '.join(sorted(known))}, got {sorted(unknown)}")
        # Why 2 for least squares: ganzoo's `least-squares` loss is Mao et al.'s 1/2 E[(D(G(x)) - 1)^2], while the
        # CycleGAN paper's lambda = 10 was tuned against the plain mean squared error (its code's MSELoss); 2x
        # restores the paper's balance between the adversarial and the cycle terms.
        default = 2.0 if self.settings.loss == "least-squares" else 1.0
        self.adversarial_weight = float(self.options.get("adversarial_weight", default))
        self.cycle_weight = float(self.options.get("cycle_weight", 10.0))
        self.identity_weight = float(self.options.get("identity_weight", 0.5))
        self.pool_size = int(self.options.get("pool_size", 50))
        if min(self.cycle_weight, self.identity_weight, self.pool_size, self.adversarial_weight) < 0:
            raise ValueError("cycle_weight, identity_weight, pool_size and adversarial_weight must be >= 0")

    def check_data(self, shapes: dict[str, tuple[int, ...]], description: str) -> None:
        """Both domains' images shaped like the model's."""
        super().check_data(shapes, description)
        expected = tuple(self.config.output_shape)
        for field in ("a", "b"):
            if tuple(shapes[field]) != expected:
                raise DataError(
                    f"domain {field!r} of {description or 'the data'} has images of shape {tuple(shapes[field])} "
                    f"but the model translates {expected}: set image_size/channels to match, or pass resize=True"
                )

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """One Adam for both generators and one for both discriminators, as the paper's code."""
        m = self.modules
        return {
            "generators": self.optimizer_for([*m["g_ab"].parameters(), *m["g_ba"].parameters()]),
            "discriminators": self.optimizer_for([*m["d_a"].parameters(), *m["d_b"].parameters()], critic=True),
        }

    def setup(self) -> None:
        shape = tuple(self.config.output_shape)
        # D_B sees pooled fakes of B (G_AB's outputs), D_A pooled fakes of A
        self.pools = {
            "b": ImagePool(self.pool_size, shape, self.device, seed=self.settings.seed),
            "a": ImagePool(self.pool_size, shape, self.device, seed=self.settings.seed + 1),
        }

    def step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        m, loss = self.modules, self.loss
        a, b = self.to_memory_format(batch["a"]), self.to_memory_format(batch["b"])
        # (1) generators, with both discriminators frozen (no weight gradients needed)
        for d in (m["d_a"], m["d_b"]):
            d.requires_grad_(False)
        try:
            with self.autocast():
                fake_b, fake_a = m["g_ab"](a), m["g_ba"](b)
                adversarial = self.adversarial_weight * (
                    loss.generator_loss(m["d_b"](fake_b).float()) + loss.generator_loss(m["d_a"](fake_a).float())
                )
                cycle = F.l1_loss(m["g_ba"](fake_b).float(), a.float()) + F.l1_loss(
                    m["g_ab"](fake_a).float(), b.float()
                )
                g_loss = adversarial + self.cycle_weight * cycle
                identity = torch.zeros((), device=self.device)
                if self.identity_weight:  # a G given its own target domain should leave the image alone
                    identity = F.l1_loss(m["g_ab"](b).float(), b.float()) + F.l1_loss(m["g_ba"](a).float(), a.float())
                    g_loss = g_loss + self.cycle_weight * self.identity_weight * identity
            self.optimizers["generators"].zero_grad(set_to_none=True)
            g_loss.backward()
            g_norm = grad_norm(m["g_ab"])
            self.optimizers["generators"].step()
        finally:
            for d in (m["d_a"], m["d_b"]):
                d.requires_grad_(True)
        # (2) discriminators: real images against pooled fakes, each D's loss halved
        replay_b, replay_a = self.pools["b"].query(fake_b.detach()), self.pools["a"].query(fake_a.detach())
        with self.autocast():
            d_b = 0.5 * loss.discriminator_loss(m["d_b"](b).float(), m["d_b"](replay_b).float())
            d_a = 0.5 * loss.discriminator_loss(m["d_a"](a).float(), m["d_a"](replay_a).float())
            d_loss = d_a + d_b
        self.optimizers["discriminators"].zero_grad(set_to_none=True)
        d_loss.backward()
        self.optimizers["discriminators"].step()
        return {
            "g_loss": g_loss.detach(),
            "g_adversarial": adversarial.detach(),
            "cycle": cycle.detach(),
            "identity": identity.detach(),
            "d_loss": d_loss.detach(),
            "d_a": d_a.detach(),
            "d_b": d_b.detach(),
            "g_grad_norm": g_norm,
        }

    def fixed_inputs(self, n: int, seed: int, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"a": batch["a"][:8], "b": batch["b"][:8]}

    @torch.no_grad()
    def preview(self, fixed: dict[str, torch.Tensor]) -> torch.Tensor:
        """Rows of (a, G_AB(a), G_BA(G_AB(a))) and (b, G_BA(b), G_AB(G_BA(b))) triples."""
        g_ab, g_ba = self.ema["g_ab"], self.ema["g_ba"]
        a, b = (self.to_memory_format(fixed[k]).float() for k in ("a", "b"))
        to_b, to_a = g_ab(a).float(), g_ba(b).float()
        rows_a = torch.stack([a, to_b, g_ba(to_b).float()], 1).flatten(0, 1)
        rows_b = torch.stack([b, to_a, g_ab(to_a).float()], 1).flatten(0, 1)
        return torch.cat([rows_a, rows_b])

    # -- the pools are state: a resumed run replays what the uninterrupted one would ----------------------------

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v for field, pool in self.pools.items() for k, v in pool.state(f"pool_{field}")[0].items()}

    def extra_state(self) -> dict[str, Any]:
        return {k: v for field, pool in self.pools.items() for k, v in pool.state(f"pool_{field}")[1].items()}

    def load_state_dict(self, tensors: dict[str, torch.Tensor], extra: dict[str, Any]) -> None:
        for field, pool in self.pools.items():
            pool.load(f"pool_{field}", tensors, extra)


@ganzoo.hookimpl
def register_architectures(register):
    register(
        "cyclegan",
        config=CycleGANConfig,
        networks={"g_ab": CycleGenerator, "g_ba": CycleGenerator, "d_a": CycleDiscriminator, "d_b": CycleDiscriminator},
        task="image-to-image",
        default_method="cyclegan",
        default_loss="least-squares",
        tiny={
            "image_size": 16,
            "channels": 1,
            "in_channels": 1,
            "g_width": 4,
            "d_width": 4,
            "blocks": 1,
            "d_layers": 2,
        },
        description="CycleGAN (Zhu et al. 2017): two ResNet Gs, two PatchGAN Ds, LSGAN + cycle + identity, fake pools",
    )


@ganzoo.hookimpl
def register_methods(register):
    register(
        "cyclegan", CycleGANMethod, description="unpaired translation both ways: GAN + cycle + identity (CycleGAN)"
    )
