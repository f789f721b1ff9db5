"""Unrolled GAN (Metz, Poole, Pfau and Sohl-Dickstein 2017, "Unrolled Generative Adversarial Networks").

G's loss looks K discriminator updates ahead: D's parameters are updated K times *as functions of G's output*
(differentiable gradient steps, ``torch.func.functional_call`` + ``torch.autograd.grad(create_graph=True)``), and
G's loss is the adversarial loss under the unrolled D_K. Its gradient therefore has the second-order term through
the D updates: G learns how D would react to it, which stops it from hopping between modes that the current D
happens to like (the mode collapse of the 2-D mixtures). The real D takes one ordinary step per iteration, as in
the paper; the unrolled copies are never kept.

Method ``unrolled`` (unconditional architectures, any loss), options:

- ``unroll_steps`` K (default 5; the paper's mixture experiments use 5 to 10; 0 is the plain alternating update);
- ``unroll_lr``: the step size of the unrolled D updates (default: D's optimiser learning rate). The unrolled
  updates are plain gradient steps, while the paper unrolls D's Adam, whose steps are normalised: a plain step of
  Adam's learning rate (2e-4) barely moves D, and measured so (benchmarks/README.md: K = 5 covers the mixtures no
  better than K = 0 at that step size). Raise ``unroll_lr``, or wait for the Adam-faithful unroll (issue 19);
- ``fresh_batches``: each unrolled step sees a new real batch (default ``True``, as the paper's code does; the
  sampler is checkpointed, so resuming stays exact) or the iteration's batch again.

D's batch-norm running statistics are not touched by the unrolled passes (they run on copies of the buffers).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn
from torch.func import functional_call

import ganzoo
from ganzoo.training.adversarial import AdversarialMethod, grad_norm


def unrolled_generator_loss(
    discriminator: nn.Module,
    loss: Any,
    fake: torch.Tensor,
    real_batches: list[torch.Tensor],
    steps: int,
    lr: float,
) -> torch.Tensor:
    """G's adversarial loss under D unrolled ``steps`` gradient steps of size ``lr``, differentiable in ``fake``.

    Step ``i`` lowers ``loss.discriminator_loss(D_i(real_batches[i]), D_i(fake))`` with ``create_graph=True``, so
    ``D_{i+1}``'s parameters are functions of ``fake`` (the second-order term); D itself is not changed.
    """
    params = dict(discriminator.named_parameters())
    buffers = {name: value.clone() for name, value in discriminator.named_buffers()}  # keep D's running stats

    def scores(weights: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        out = functional_call(discriminator, (weights, buffers), (x,))
        return out.float() if out.dtype in (torch.float16, torch.bfloat16) else out  # autocast: losses in fp32

    for i in range(steps):
        d_loss = loss.discriminator_loss(scores(params, real_batches[i]), scores(params, fake))
        grads = torch.autograd.grad(d_loss, list(params.values()), create_graph=True)
        params = {name: p - lr * g for (name, p), g in zip(params.items(), grads, strict=True)}
    return loss.generator_loss(scores(params, fake))


class UnrolledMethod(AdversarialMethod):
    """The alternating update with G's loss taken through K differentiable D updates (Metz et al. 2017)."""

    tasks: ClassVar[tuple[str, ...]] = ("unconditional",)
    OPTIONS: ClassVar[dict[str, Any]] = {"unroll_steps": 5, "unroll_lr": None, "fresh_batches": True}

    def check_options(self) -> None:
        o = self.options_with(self.OPTIONS)
        self.unroll_steps = o["unroll_steps"]
        if not isinstance(self.unroll_steps, int) or isinstance(self.unroll_steps, bool) or self.unroll_steps < 0:
            raise ValueError(f"unroll_steps must be an integer >= 0, got {self.unroll_steps!r}")
        self.unroll_lr = None if o["unroll_lr"] is None else float(o["unroll_lr"])
        if self.unroll_lr is not None and not self.unroll_lr > 0:
            raise ValueError(f"unroll_lr must be > 0, got {self.unroll_lr}")
        self.fresh_batches = bool(o["fresh_batches"])

    def setup(self) -> None:
        super().setup()
        if self.unroll_steps and (self.loss.has_regularizer or self.loss.clip is not None):
            # the unrolled D steps lower the plain loss; a penalty or clipping would make them another D's steps
            raise ValueError(
                "method 'unrolled' unrolls the loss alone: pick a loss without a gradient penalty or weight "
                "clipping (non-saturating, hinge, ...), or unroll_steps=0"
            )

    def g_step(self, batch: dict[str, torch.Tensor], fakes: Any) -> dict[str, torch.Tensor]:
        if self.unroll_steps == 0:
            return super().g_step(batch, fakes)
        fake, real, _ = fakes
        lr = self.unroll_lr if self.unroll_lr is not None else self.opt_d.param_groups[0]["lr"]
        reals = [self.real_inputs(self.next_batch()) if self.fresh_batches else real for _ in range(self.unroll_steps)]
        with self.autocast():
            g_loss = unrolled_generator_loss(self.D, self.loss, fake, reals, self.unroll_steps, lr)
        self.opt_g.zero_grad(set_to_none=True)
        # only G's gradients: the unrolled graph also reaches D's parameters, which this step must not touch
        torch.autograd.backward(g_loss, inputs=list(self.G.parameters()))
        g_grad_norm = grad_norm(self.G)
        self.opt_g.step()
        return {"g_loss": g_loss.detach(), "g_grad_norm": g_grad_norm}


@ganzoo.hookimpl
def register_methods(register):
    """Register ``unrolled``."""
    register(
        "unrolled",
        UnrolledMethod,
        description="G's loss through K differentiable D updates, against mode collapse (Metz et al. 2017)",
    )
