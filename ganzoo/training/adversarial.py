"""``AdversarialMethod``: the classic alternating GAN update, split so families override one small piece.

    (1) ``loss.d_steps`` x ``d_step``: D learns to tell real from generated
    (2) ``g_step``: G learns to fool D, plus ``extra_generator_loss`` (pix2pix's L1, a perceptual term, ...)

A family changes what G and D see with ``generator_inputs`` / ``real_inputs`` / ``discriminator_inputs`` (a
class-conditional family adds labels, an image-to-image family passes the source image) and adds terms with
``extra_generator_loss``; it never copies the step.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import torch
from torch import nn

import ganzoo.training.distributed as distributed
from ganzoo.errors import DataError
from ganzoo.training.method import TrainingMethod


class AdversarialMethod(TrainingMethod):
    """Goodfellow et al. 2014's alternating update with any registered loss: ``loss.d_steps`` discriminator
    steps, then one generator step; roles ``generator`` and ``discriminator``; publishes ``generator``."""

    needs: ClassVar[frozenset[str]] = frozenset({"image"})
    published: ClassVar[tuple[str, ...]] = ("generator",)
    shown: ClassVar[tuple[str, ...]] = ("d_loss", "g_loss", "d_real", "d_fake")
    real_field: ClassVar[str] = "image"  # the batch field D learns as "real"
    d_loss_weight: ClassVar[float] = 1.0  # scale of D's adversarial loss (pix2pix and CycleGAN halve it)
    g_adversarial_weight: float = 1.0  # scale of G's adversarial term (SRGAN: 5e-3 beside its pixel loss)

    def setup(self) -> None:
        self.G, self.D = self.modules["generator"], self.modules["discriminator"]
        self.opt_g, self.opt_d = self.optimizers["generator"], self.optimizers["discriminator"]

    def check_data(self, shapes: dict[str, tuple[int, ...]], description: str) -> None:
        """Needed fields present, and the real samples shaped like the generator's output."""
        super().check_data(shapes, description)
        shape, expected = tuple(shapes[self.real_field]), tuple(self.config.output_shape)
        if shape != expected:
            hint = ""
            if self.config.is_image and len(shape) == 3:
                hint = (
                    f" Pass resize=True (CLI: --resize) to resize and convert images to {expected[1]}x{expected[2]} "
                    f"with {expected[0]} channel(s) on load, or set the model's image_size/channels to sizes it "
                    "accepts (see `ganzoo list`)."
                )
            raise DataError(
                f"the data's samples have shape {shape} but {self.arch.name!r} with this config makes {expected}.{hint}"
            )

    # -- what the networks see (families override these) ---------------------------------------------------------

    def latents(self, n: int) -> torch.Tensor:
        """A fresh batch of latents from the prior N(0, 1). Under torchrun every rank draws the global batch (the
        ranks' RNGs are alike) and keeps its own rows: N ranks x n draw what one process drawing N*n would."""
        world = distributed.current()
        z = torch.randn(n * world.size, self.config.z_dim, device=self.device)
        return z[world.rows(n)] if world.enabled else z

    def generator_inputs(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        """G's inputs for one batch: latents (a conditional family adds the batch's labels)."""
        return (self.latents(len(batch[self.real_field])),)

    def real_inputs(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The real samples of a batch, in the run's memory format."""
        return self.to_memory_format(batch[self.real_field])

    def discriminator_inputs(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        """D's inputs besides the samples (a conditional D gets the labels; pix2pix's D the source image)."""
        return ()

    def extra_generator_loss(
        self, batch: dict[str, torch.Tensor], fake: torch.Tensor
    ) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:
        """An extra term for G's loss (e.g. pix2pix's lambda * L1(fake, target)) and metrics to log; none here."""
        return None, {}

    def extra_discriminator_loss(
        self, batch: dict[str, torch.Tensor], fake: torch.Tensor
    ) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:
        """An extra term for D's loss (e.g. ACGAN's classification of real samples) and metrics; none here.

        Called right after ``judge`` in the D step, so a family whose D has more heads can use what its ``judge``
        kept from that same pass."""
        return None, {}

    def score(self, fake: torch.Tensor, extra: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """D's logits for the fakes in the G step (a family with more heads keeps the others for its G term)."""
        return self.D(fake, *extra)

    # -- one iteration -----------------------------------------------------------------------------------------

    def step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        d_metrics: dict[str, torch.Tensor] = {}
        for i in range(self.loss.d_steps):
            if i:
                batch = self.next_batch()
            last = i == self.loss.d_steps - 1
            d_metrics, fake = self.d_step(batch, keep_graph=last)
        g_metrics = self.g_step(batch, fake)
        return {**d_metrics, **g_metrics}

    def d_step(self, batch: dict[str, torch.Tensor], *, keep_graph: bool) -> tuple[dict[str, torch.Tensor], Any]:
        """(1) Update D: maximise log D(x) + log(1 - D(G(z))) (or the chosen loss's version of it).

        Returns D's metrics and the fake batch; with ``keep_graph`` the fakes keep G's graph so the G step reuses
        them instead of running G again.
        """
        G, D, loss = self.G, self.D, self.loss
        real, extra = self.real_inputs(batch), self.discriminator_inputs(batch)
        with self.autocast():
            with contextlib.nullcontext() if keep_graph else torch.no_grad():
                fake = G(*self.generator_inputs(batch))
            real_logits, fake_logits = self.judge(real, fake.detach(), extra)
            d_loss = self.d_loss_weight * loss.discriminator_loss(real_logits.float(), fake_logits.float())
            term, extra_metrics = self.extra_discriminator_loss(batch, fake.detach())
            if term is not None:
                d_loss = d_loss + term
            penalty = loss.regularizer(self.critic(extra), real, fake.detach())
            if penalty is not None:
                d_loss = d_loss + penalty
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        d_grad_norm = grad_norm(D)
        self.opt_d.step()
        if loss.clip is not None:  # WGAN: keep the critic (roughly) Lipschitz by clipping its weights
            with torch.no_grad():
                for p in D.parameters():
                    p.clamp_(-loss.clip, loss.clip)
        real_logits, fake_logits = real_logits.detach().float(), fake_logits.detach().float()
        with torch.no_grad():
            shown = torch.sigmoid if loss.outputs_probability else (lambda x: x)
            spread = fake.detach().float().flatten(1).std(0).mean() / real.float().flatten(1).std(0).mean()
            metrics = {
                "d_loss": d_loss.detach(),
                "d_real": shown(real_logits).mean(),  # D(x): a probability for the log-loss family, else a logit
                "d_fake": shown(fake_logits).mean(),
                "d_acc_real": (real_logits > 0).float().mean(),  # for critics (WGAN) only a rough guide
                "d_acc_fake": (fake_logits < 0).float().mean(),
                "d_grad_norm": d_grad_norm,
                "fake_spread": spread,  # per-feature std of the fakes / the real batch's: near 0 means collapse
                **extra_metrics,
            }
        return metrics, (fake, real, extra)

    def g_step(self, batch: dict[str, torch.Tensor], fakes: Any) -> dict[str, torch.Tensor]:
        """(2) Update G: maximise log D(G(z)) (or the chosen loss's version of it) plus any extra term."""
        fake, real, extra = fakes
        G, D, loss = self.G, self.D, self.loss
        # D's weight gradients are not needed for the G step; switching them off skips a third of D's backward.
        D.requires_grad_(False)
        try:
            with self.autocast():
                if loss.uses_real_logits:  # relativistic losses: the current D's scores of real samples too
                    real_logits, fake_logits = self.judge(real, fake, extra)
                    g_loss = loss.generator_loss(fake_logits.float(), real_logits.float())
                else:
                    g_loss = loss.generator_loss(self.score(fake, extra).float())
                g_loss = adversarial = self.g_adversarial_weight * g_loss
                term, metrics = self.extra_generator_loss(batch, fake)
                if term is not None:
                    g_loss = g_loss + term
            self.opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            g_grad_norm = grad_norm(G)
            self.opt_g.step()
        finally:
            D.requires_grad_(True)
        out = {"g_loss": g_loss.detach(), "g_grad_norm": g_grad_norm, **metrics}
        if term is not None:
            out["g_adversarial"] = adversarial.detach()
        return out

    def generator_only_step(
        self,
        batch: dict[str, torch.Tensor],
        loss_of: Callable[[dict[str, torch.Tensor], torch.Tensor], tuple[torch.Tensor, dict[str, torch.Tensor]]],
    ) -> dict[str, torch.Tensor]:
        """One update of G alone on ``loss_of(batch, fake) -> (loss, metrics)``, D untouched: the non-adversarial
        ablations and pre-training phases (pix2pix's L1 alone, SRGAN's pixel pre-training, the L2-only context
        encoder). Logs ``g_adversarial`` and ``d_loss`` as 0 so the CSV keeps one schema across phases."""
        with self.autocast():
            fake = self.G(*self.generator_inputs(batch))
            loss, metrics = loss_of(batch, fake)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        zero = torch.zeros((), device=loss.device)
        return {"g_loss": loss.detach(), "g_adversarial": zero, "d_loss": zero, **metrics}

    def judge(
        self, real: torch.Tensor, fake: torch.Tensor, extra: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """D's logits for the real and the fake batch: one joint pass (batch norm per half) or two passes."""
        D = self.D
        if self.settings.separate_d_batches:
            return D(real, *extra), D(fake, *extra)
        # one pass over real and fake together: one set of larger, faster kernels
        with batch_norm_per_half(D):
            logits = D(torch.cat([real, fake]), *(torch.cat([e, e]) for e in extra))
        # halves, not [:n]: a packing D (PacGAN) returns one logit per group of samples
        real_logits, fake_logits = logits.chunk(2)
        return real_logits, fake_logits

    def judge_heads(
        self, real: torch.Tensor, fake: torch.Tensor
    ) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
        """For a D with a second head, ``D.heads(x) -> (logits, other)`` (ACGAN's class head, InfoGAN's Q): both
        heads of the real and the fake batch from the same pass(es) ``judge`` makes; returns
        ``(real_logits, fake_logits), (real_other, fake_other)``."""
        if self.settings.separate_d_batches:
            (real_logits, real_other), (fake_logits, fake_other) = self.D.heads(real), self.D.heads(fake)
            return (real_logits, fake_logits), (real_other, fake_other)
        with batch_norm_per_half(self.D):
            logits, other = self.D.heads(torch.cat([real, fake]))
        return logits.chunk(2), other.chunk(2)

    def critic(self, extra: tuple[torch.Tensor, ...]) -> Callable[[torch.Tensor], torch.Tensor] | nn.Module:
        """D as a function of the samples alone (what gradient penalties differentiate)."""
        if not extra:
            return self.D
        return lambda x: self.D(x, *extra)


def grad_norm(module: nn.Module) -> torch.Tensor:
    """L2 norm of all of ``module``'s gradients, as a tensor (no host sync)."""
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


@contextlib.contextmanager
def batch_norm_per_half(module: nn.Module) -> Iterator[None]:
    """Inside, every batch-norm layer of ``module`` normalises the two halves of its batch separately.

    Why: the joint D pass over ``cat(real, fake)`` runs each convolution once on the double batch (the fast part),
    but batch statistics must not mix real and fake, or the G step (fakes alone) meets a different D than the one
    trained. Normalising each half on its own is exactly what two separate passes compute (running statistics
    are updated twice, as there), at the cost of one small copy per batch-norm layer.
    """
    layers = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]

    def split_forward(layer: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
        forward = type(layer).forward

        def per_half(x: torch.Tensor) -> torch.Tensor:
            return torch.cat([forward(layer, half) for half in x.chunk(2)])

        return per_half

    for layer in layers:
        layer.forward = split_forward(layer)  # an instance attribute shadows the class's forward
    try:
        yield
    finally:
        for layer in layers:
            del layer.forward
