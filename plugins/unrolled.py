"""Unrolled GAN (Metz, Poole, Pfau and Sohl-Dickstein 2017, "Unrolled Generative Adversarial Networks").

G's loss looks K discriminator updates ahead: D's parameters are updated K times *as functions of G's output*
(differentiable gradient steps, ``torch.func.functional_call`` + ``torch.autograd.grad(create_graph=True)``), and
G's loss is the adversarial loss under the unrolled D_K. Its gradient therefore has the second-order term through
the D updates: G learns how D would react to it, which stops it from hopping between modes that the current D
happens to like (the mode collapse of the 2-D mixtures). The real D takes one ordinary step per iteration, as in
the paper; the unrolled copies are never kept.

Method ``unrolled`` (unconditional architectures, any loss), options:

- ``unroll_steps`` K (default 5; the paper's mixture experiments use 5 to 10; 0 is the plain alternating update);
- ``unroll_optimizer``: how the unrolled copies step. ``"adam"`` (default) unrolls D's own Adam differentiably,
  as the paper's code does (``graph_replace`` over the optimiser's update, moments included): each unrolled step
  starts from D's current moments and step count and normalises the gradient as Adam does, so K steps move D as
  far as K real steps would. ``"sgd"``: plain gradient steps of size ``unroll_lr``; a plain step of Adam's
  learning rate (2e-4) barely moves D, measured so (benchmarks/README.md: K = 5 no better than K = 0);
- ``unroll_lr``: the step size of the unrolled updates (default: D's optimiser learning rate);
- ``fresh_batches``: each unrolled step sees a new real batch (``True``; the sampler is checkpointed, so resuming
  stays exact) or the iteration's own real and fake batches again (default ``False``, as the paper's code does:
  poolio/unrolled_gan builds the unrolled loss with ``graph_replace`` over D's update, which reuses the one batch
  the iteration sampled).

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
    adam: AdamState | None = None,
) -> torch.Tensor:
    """G's adversarial loss under D unrolled ``steps`` updates, differentiable in ``fake`` (Metz et al. 2017, eq. 4-6).

    Step ``i`` lowers ``loss.discriminator_loss(D_i(real_batches[i]), D_i(fake))`` with ``create_graph=True``, so
    ``D_{i+1}``'s parameters are functions of ``fake`` (the second-order term); D itself is not changed. Without
    ``adam`` each step is ``p - lr * grad``; with it, an Adam step continuing from ``adam``'s moments and step
    count, the moments themselves differentiable (the paper unrolls D's optimiser, not plain gradient descent).
    """
    params = dict(discriminator.named_parameters())
    buffers = {name: value.clone() for name, value in discriminator.named_buffers()}  # keep D's running stats

    def scores(weights: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        out = functional_call(discriminator, (weights, buffers), (x,))
        return out.float() if out.dtype in (torch.float16, torch.bfloat16) else out  # autocast: losses in fp32

    moments = adam.start(params) if adam is not None else None
    for i in range(steps):
        d_loss = loss.discriminator_loss(scores(params, real_batches[i]), scores(params, fake))
        grads = torch.autograd.grad(d_loss, list(params.values()), create_graph=True)
        if adam is None:
            params = {name: p - lr * g for (name, p), g in zip(params.items(), grads, strict=True)}
        else:
            params, moments = adam.step(params, grads, moments, lr)
    return loss.generator_loss(scores(params, fake))


class AdamState:
    """D's Adam hyper-parameters, moments and step count, for differentiable unrolled Adam steps.

    ``step`` is ``torch.optim.Adam``'s update written out in tensors that autograd sees through:
    ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``, ``p -= lr * m_hat / (sqrt(v_hat) + eps)``.
    """

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        if not isinstance(optimizer, torch.optim.Adam):
            raise ValueError(
                f"unroll_optimizer='adam' unrolls D's Adam, but D's optimiser is {type(optimizer).__name__}; "
                "use unroll_optimizer='sgd' with an unroll_lr"
            )
        group = optimizer.param_groups[0]
        if group.get("amsgrad") or group.get("maximize"):
            raise ValueError("unroll_optimizer='adam' supports plain Adam (no amsgrad, no maximize)")
        self.optimizer = optimizer
        self.beta1, self.beta2 = group["betas"]
        self.eps, self.weight_decay = group["eps"], group["weight_decay"]

    def start(self, params: dict[str, torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor], int]:
        """D's current first and second moments (zeros before its first step) and step count."""
        firsts, seconds, count = [], [], 0
        for p in params.values():
            state = self.optimizer.state.get(p, {})
            if "exp_avg" in state:
                firsts.append(state["exp_avg"].detach())
                seconds.append(state["exp_avg_sq"].detach())
                count = int(state["step"])
            else:
                firsts.append(torch.zeros_like(p))
                seconds.append(torch.zeros_like(p))
        return firsts, seconds, count

    def step(
        self,
        params: dict[str, torch.Tensor],
        grads: tuple[torch.Tensor, ...],
        moments: tuple[list[torch.Tensor], list[torch.Tensor], int],
        lr: float,
    ) -> tuple[dict[str, torch.Tensor], tuple[list[torch.Tensor], list[torch.Tensor], int]]:
        """One differentiable Adam step of every parameter; returns the new parameters and moments."""
        firsts, seconds, count = moments
        count += 1
        correction1, correction2 = 1 - self.beta1**count, 1 - self.beta2**count
        new_params, new_firsts, new_seconds = {}, [], []
        for (name, p), g, m, v in zip(params.items(), grads, firsts, seconds, strict=True):
            if self.weight_decay:
                g = g + self.weight_decay * p
            m = self.beta1 * m + (1 - self.beta1) * g
            v = self.beta2 * v + (1 - self.beta2) * g * g
            # + 1e-30 inside the root: sqrt's derivative at an exact 0 (a parameter never given a gradient) is
            # infinite, and inf * 0 would turn G's gradient into NaN; the value changes by nothing measurable
            denominator = torch.sqrt(v / correction2 + 1e-30) + self.eps
            new_params[name] = p - lr * (m / correction1) / denominator
            new_firsts.append(m)
            new_seconds.append(v)
        return new_params, (new_firsts, new_seconds, count)


class UnrolledMethod(AdversarialMethod):
    """The alternating update with G's loss taken through K differentiable D updates (Metz et al. 2017)."""

    tasks: ClassVar[tuple[str, ...]] = ("unconditional",)
    OPTIONS: ClassVar[dict[str, Any]] = {
        "unroll_steps": 5,
        "unroll_optimizer": "adam",
        "unroll_lr": None,
        "fresh_batches": False,
    }

    def check_options(self) -> None:
        o = self.options_with(self.OPTIONS)
        self.unroll_steps = o["unroll_steps"]
        if not isinstance(self.unroll_steps, int) or isinstance(self.unroll_steps, bool) or self.unroll_steps < 0:
            raise ValueError(f"unroll_steps must be an integer >= 0, got {self.unroll_steps!r}")
        self.unroll_lr = None if o["unroll_lr"] is None else float(o["unroll_lr"])
        if self.unroll_lr is not None and not self.unroll_lr > 0:
            raise ValueError(f"unroll_lr must be > 0, got {self.unroll_lr}")
        self.fresh_batches = bool(o["fresh_batches"])
        self.unroll_optimizer = o["unroll_optimizer"]
        if self.unroll_optimizer not in ("adam", "sgd"):
            raise ValueError(f"unroll_optimizer must be 'adam' or 'sgd', got {self.unroll_optimizer!r}")

    def setup(self) -> None:
        super().setup()
        if self.unroll_steps and (self.loss.has_regularizer or self.loss.clip is not None):
            # the unrolled D steps lower the plain loss; a penalty or clipping would make them another D's steps
            raise ValueError(
                "method 'unrolled' unrolls the loss alone: pick a loss without a gradient penalty or weight "
                "clipping (non-saturating, hinge, ...), or unroll_steps=0"
            )
        self.adam = AdamState(self.opt_d) if self.unroll_steps and self.unroll_optimizer == "adam" else None

    def g_step(self, batch: dict[str, torch.Tensor], fakes: Any) -> dict[str, torch.Tensor]:
        if self.unroll_steps == 0:
            return super().g_step(batch, fakes)
        fake, real, _ = fakes
        lr = self.unroll_lr if self.unroll_lr is not None else self.opt_d.param_groups[0]["lr"]
        reals = [self.real_inputs(self.next_batch()) if self.fresh_batches else real for _ in range(self.unroll_steps)]
        with self.autocast():
            g_loss = unrolled_generator_loss(self.D, self.loss, fake, reals, self.unroll_steps, lr, self.adam)
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
