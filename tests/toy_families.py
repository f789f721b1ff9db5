"""Toy GAN families that prove the training core carries every shape of GAN (Core v2), CPU-sized.

A plugin module like any third-party one (``@ganzoo.hookimpl`` functions); tests register it with the
``toy_families`` fixture. Each family trains through the one loop, none forks it:

- ``toy-conditional`` + method ``toy-conditional``: a class-conditional MLP GAN on ring-8 with the mode index as
  the label (batches ``{"image", "label"}``; G and D both see the label; the loss is any registered one);
- ``toy-translator`` + method ``toy-paired``: a pix2pix-shaped image-to-image pair (batches
  ``{"source", "target"}``; D judges (source, image) pairs; G adds lambda * L1 through
  ``extra_generator_loss``); publishes a ``Translator``;
- ``toy-cycle`` + method ``toy-cycle``: four networks (``g_ab``, ``g_ba``, ``d_a``, ``d_b``) on two unpaired
  streams (``{"a", "b"}``), least-squares GAN losses plus cycle consistency, a history pool of fakes as the
  method's own checkpointed state, and its own metrics; publishes both directions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

import ganzoo
from ganzoo.training.adversarial import grad_norm

# -- class-conditional --------------------------------------------------------------------------------------------


@dataclass
class ConditionalConfig(ganzoo.GeneratorConfig):
    """A class-conditional MLP: ``num_classes > 0`` adds the ``labels`` input to the input spec."""

    z_dim: int = 4
    num_classes: int = 8
    hidden: int = 32
    data_dim: int = 2

    @property
    def output_shape(self) -> tuple[int]:
        return (self.data_dim,)


class ConditionalGenerator(nn.Module):
    """(z (N, z_dim), labels (N,)) -> samples (N, data_dim)."""

    def __init__(self, config: ConditionalConfig) -> None:
        super().__init__()
        self.embed = nn.Embedding(config.num_classes, config.z_dim)
        self.net = nn.Sequential(
            nn.Linear(2 * config.z_dim, config.hidden), nn.ReLU(), nn.Linear(config.hidden, config.data_dim)
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, self.embed(labels)], 1))  # (N, data_dim)


class ProjectionDiscriminator(nn.Module):
    """(samples, labels) -> logits (N,): phi(x) . w + embed(y) . phi(x) (Miyato & Koyama 2018's projection)."""

    def __init__(self, config: ConditionalConfig) -> None:
        super().__init__()
        self.phi = nn.Sequential(nn.Linear(config.data_dim, config.hidden), nn.LeakyReLU(0.2))
        self.out = nn.Linear(config.hidden, 1)
        self.embed = nn.Embedding(config.num_classes, config.hidden)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.phi(x)  # (N, hidden)
        return self.out(h).reshape(-1) + (self.embed(labels) * h).sum(1)  # (N,)


class ConditionalMethod(ganzoo.AdversarialMethod):
    """The adversarial update with labels: G(z, y) and D(x, y)."""

    needs = frozenset({"image", "label"})

    def generator_inputs(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        return (self.latents(len(batch["label"])), batch["label"])

    def discriminator_inputs(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        return (batch["label"],)

    def fixed_inputs(self, n: int, seed: int, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        fixed = super().fixed_inputs(n, seed, batch)
        fixed["labels"] = torch.arange(n, device=self.device) % self.config.num_classes
        return fixed

    @torch.no_grad()
    def preview(self, fixed: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.ema["generator"](fixed["z"], fixed["labels"]).float()


# -- paired image-to-image ----------------------------------------------------------------------------------------


class ToyTranslatorNet(nn.Module):
    """source (N, in_channels, H, W) -> image (N, channels, H, W) in [-1, 1]."""

    def __init__(self, config: ganzoo.TranslatorConfig) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(config.in_channels, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, config.channels, 3, padding=1)
        )

    def forward(self, source: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(source))


class ToyPairDiscriminator(nn.Module):
    """(image, source) -> logits (N,): judges the pair, as pix2pix's conditional D does."""

    def __init__(self, config: ganzoo.TranslatorConfig) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(config.channels + config.in_channels, 8, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(8, 1, 4, 2, 1)
        )

    def forward(self, image: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([image, source], 1)).flatten(1).mean(1)  # (N,): mean over patches


class PairedMethod(ganzoo.AdversarialMethod):
    """pix2pix's update in miniature: G(source) against targets, D on (image, source), plus lambda * L1."""

    needs = frozenset({"source", "target"})
    real_field = "target"
    tasks = ("image-to-image",)
    shown = ("d_loss", "g_loss", "l1")

    def check_options(self) -> None:
        unknown = set(self.options) - {"l1_weight"}
        if unknown:
            raise TypeError(f"toy-paired takes l1_weight only, got {sorted(unknown)}")
        self.l1_weight = float(self.options.get("l1_weight", 100.0))

    def generator_inputs(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        return (self.to_memory_format(batch["source"]),)

    def discriminator_inputs(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        return (self.to_memory_format(batch["source"]),)

    def extra_generator_loss(self, batch: dict[str, torch.Tensor], fake: torch.Tensor) -> tuple[Any, dict]:
        l1 = F.l1_loss(fake, batch["target"])
        return self.l1_weight * l1, {"l1": l1.detach()}

    def fixed_inputs(self, n: int, seed: int, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"source": batch["source"][:8], "target": batch["target"][:8]}

    @torch.no_grad()
    def preview(self, fixed: dict[str, torch.Tensor]) -> torch.Tensor:
        # rows of source | output | target, 8 images a row: the grid reads as three columns of pairs
        out = self.ema["generator"](fixed["source"]).float()
        return torch.stack([fixed["source"], out, fixed["target"]], 1).flatten(0, 1)


# -- four networks, two unpaired streams ------------------------------------------------------------------------


class ToyPatchDiscriminator(nn.Module):
    """image (N, C, H, W) -> logits (N,)."""

    def __init__(self, config: ganzoo.TranslatorConfig) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(config.channels, 8, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(8, 1, 4, 2, 1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image).flatten(1).mean(1)


class CycleMethod(ganzoo.TrainingMethod):
    """CycleGAN's update in miniature (Zhu et al. 2017): LSGAN losses both ways, lambda * cycle L1, and a pool
    of earlier fakes that D also sees (its own checkpointed state)."""

    needs = frozenset({"a", "b"})
    published = ("g_ab", "g_ba")
    tasks = ("image-to-image",)
    uses_loss = False
    shown = ("g_loss", "d_loss", "cycle")
    pool_size: ClassVar[int] = 8

    def check_options(self) -> None:
        unknown = set(self.options) - {"cycle_weight"}
        if unknown:
            raise TypeError(f"toy-cycle takes cycle_weight only, got {sorted(unknown)}")
        self.cycle_weight = float(self.options.get("cycle_weight", 10.0))

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        adam = {"name": "adam", "lr": 2e-4, "betas": (0.5, 0.999)}
        from ganzoo.training.optim import make_optimizer

        g = [*self.modules["g_ab"].parameters(), *self.modules["g_ba"].parameters()]
        d = [*self.modules["d_a"].parameters(), *self.modules["d_b"].parameters()]
        lr, betas = self.settings.lr, self.settings.betas
        return {"generators": make_optimizer(g, adam, lr, betas), "discriminators": make_optimizer(d, adam, lr, betas)}

    def setup(self) -> None:
        shape = (self.pool_size, self.config.channels, self.config.image_size, self.config.image_size)
        self.pool = torch.zeros(shape, device=self.device)  # fakes of B, replayed to D (Shrivastava et al. 2017)
        self.pool_filled = 0
        self.seen = 0

    def step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        m = self.modules
        a, b = batch["a"], batch["b"]
        # (1) generators: fool both discriminators and come back round
        for d in (m["d_a"], m["d_b"]):
            d.requires_grad_(False)
        fake_b, fake_a = m["g_ab"](a), m["g_ba"](b)
        adversarial = ((m["d_b"](fake_b) - 1) ** 2).mean() + ((m["d_a"](fake_a) - 1) ** 2).mean()
        cycle = F.l1_loss(m["g_ba"](fake_b), a) + F.l1_loss(m["g_ab"](fake_a), b)
        g_loss = adversarial + self.cycle_weight * cycle
        self.optimizers["generators"].zero_grad(set_to_none=True)
        g_loss.backward()
        g_norm = grad_norm(m["g_ab"])
        self.optimizers["generators"].step()
        for d in (m["d_a"], m["d_b"]):
            d.requires_grad_(True)
        # (2) discriminators: real -> 1, fake (B's from the pool) -> 0
        replay = self.replay(fake_b.detach())
        d_loss = 0.5 * (((m["d_b"](b) - 1) ** 2).mean() + (m["d_b"](replay) ** 2).mean())
        d_loss = d_loss + 0.5 * (((m["d_a"](a) - 1) ** 2).mean() + (m["d_a"](fake_a.detach()) ** 2).mean())
        self.optimizers["discriminators"].zero_grad(set_to_none=True)
        d_loss.backward()
        self.optimizers["discriminators"].step()
        return {
            "g_loss": g_loss.detach(),
            "d_loss": d_loss.detach(),
            "cycle": cycle.detach(),
            "g_grad_norm": g_norm,
            "pool_filled": torch.tensor(float(self.pool_filled)),
        }

    def replay(self, fakes: torch.Tensor) -> torch.Tensor:
        """Fill the pool first; then swap each new fake for a stored one with probability 1/2."""
        out = []
        for fake in fakes:
            self.seen += 1
            if self.pool_filled < self.pool_size:
                self.pool[self.pool_filled] = fake
                self.pool_filled += 1
                out.append(fake)
            elif torch.rand(()) < 0.5:
                i = int(torch.randint(self.pool_size, ()))
                out.append(self.pool[i].clone())
                self.pool[i] = fake
            else:
                out.append(fake)
        return torch.stack(out)

    def fixed_inputs(self, n: int, seed: int, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"a": batch["a"][:8], "b": batch["b"][:8]}

    @torch.no_grad()
    def preview(self, fixed: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat([fixed["a"], self.ema["g_ab"](fixed["a"]), fixed["b"], self.ema["g_ba"](fixed["b"])])

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"pool": self.pool}

    def extra_state(self) -> dict[str, Any]:
        return {"pool_filled": self.pool_filled, "seen": self.seen}

    def load_state_dict(self, tensors: dict[str, torch.Tensor], extra: dict[str, Any]) -> None:
        self.pool.copy_(tensors["pool"])
        self.pool_filled, self.seen = int(extra["pool_filled"]), int(extra["seen"])


# -- registration -------------------------------------------------------------------------------------------------

TRANSLATOR_TINY = {"image_size": 8, "channels": 3, "in_channels": 3}


@ganzoo.hookimpl
def register_architectures(register):
    register(
        "toy-conditional",
        ConditionalGenerator,
        ProjectionDiscriminator,
        config=ConditionalConfig,
        task="class-conditional",
        default_method="toy-conditional",
        tiny={"z_dim": 4, "hidden": 16},
        description="toy: class-conditional MLP GAN with a projection discriminator",
    )
    register(
        "toy-translator",
        ToyTranslatorNet,
        ToyPairDiscriminator,
        config=ganzoo.TranslatorConfig,
        task="image-to-image",
        default_method="toy-paired",
        tiny=TRANSLATOR_TINY,
        description="toy: paired image-to-image translator",
    )
    register(
        "toy-cycle",
        config=ganzoo.TranslatorConfig,
        networks={
            "g_ab": ToyTranslatorNet,
            "g_ba": ToyTranslatorNet,
            "d_a": ToyPatchDiscriminator,
            "d_b": ToyPatchDiscriminator,
        },
        task="image-to-image",
        default_method="toy-cycle",
        tiny=TRANSLATOR_TINY,
        description="toy: four networks on two unpaired streams",
    )


@ganzoo.hookimpl
def register_methods(register):
    register("toy-conditional", ConditionalMethod)
    register("toy-paired", PairedMethod)
    register("toy-cycle", CycleMethod)


def paired_data(n: int = 32, size: int = 8, seed: int = 0) -> ganzoo.InMemoryData:
    """Aligned pairs: target = the source mirrored left-right (uint8 NCHW), a mapping a small net can learn."""
    g = torch.Generator().manual_seed(seed)
    source = torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8)
    return ganzoo.InMemoryData({"source": source, "target": source.flip(-1)}, description="toy pairs")


def unpaired_data(n_a: int = 24, n_b: int = 40, size: int = 8, seed: int = 0) -> ganzoo.InMemoryData:
    """Two unpaired streams of different lengths: dark images (a) and bright ones (b)."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randint(0, 100, (n_a, 3, size, size), generator=g, dtype=torch.uint8)
    b = torch.randint(150, 256, (n_b, 3, size, size), generator=g, dtype=torch.uint8)
    return ganzoo.InMemoryData({"a": a, "b": b}, unpaired=True, description="toy a/b")
