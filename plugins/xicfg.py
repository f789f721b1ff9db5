"""xICFG: composite functional gradient learning of GANs (Johnson and Zhang, ICML 2018, arXiv 1801.06309).

The generator is not trained by back-propagating D's verdict into its weights. It *grows* by functional gradient
steps: with D_t a discriminator trained against the current generator,

    G_t(z) = G_{t-1}(z) + eta * grad_x D_t(x) at x = G_{t-1}(z),

so every step moves each sample uphill on D's logit, towards where D believes real data lies. xICFG ("ICFG with an
approximator") keeps this affordable: a fixed-size network G~ (the **approximator**) starts each stage, T steps
through the stage's D snapshots follow it, and at the end of the stage G~ is regressed onto the result. One stage,
as the authors' code does it (riejohnson/cfg-gan-pt ``cfggan.py``, ``DDG.icfg`` and ``DDG.approximate``):

1. for t = 1..T: U logistic-loss updates of D against G_{t-1} = G~ followed by the t-1 steps through the
   snapshots D_1..D_{t-1} taken so far in this stage; then D is snapshotted as D_t;
2. N pairs (z, G_T(z)) are drawn and G~ is fitted to them for a few epochs (squared error, a fresh RMSprop whose
   learning rate is cut by 10 whenever an epoch's mean loss goes up, at most 3 times).

Before the first stage G~ is fitted to a random linear map of z clamped to [-1, 1] (``DDG.initialize_G``). D and
G~ use RMSprop (alpha 0.95, eps 1e-18; lr 2.5e-4 unless ``lr`` is given). One training step of ganzoo is one
stage, so ``steps`` counts stages, checkpoints fall between stages and resume exactly (the snapshots are method
state).

The model saved is the full G_T: ``FunctionalGradientGenerator`` (G~ plus the T snapshots), sampled in PyTorch.
ONNX has no operator for a gradient, so ``ganzoo export`` writes G~ alone and says so in the file's metadata
(``ganzoo.exported_part``); the two are compared in benchmarks/README.md.

Method ``xicfg`` (unconditional architectures; no ``--loss``: the logistic loss is part of the method), options
(the authors' defaults for their DCGAN-style networks on MNIST-like 32x32 data):

- ``steps`` T (15) and ``d_updates`` U (1): functional-gradient steps and D updates per step;
- ``eta`` (0.5): the generator step size (the authors: 0.5 for MNIST with batch norm, 0.25 for SVHN, 1 for 64x64
  LSUN with ResNets; 2.5 without batch norm);
- ``pairs`` N (640) and ``approx_epochs`` (10): the approximator's regression set and epochs per stage;
- ``lr_cuts`` (3) and ``lr_cut_factor`` (0.1): the approximator's learning-rate cuts within a stage;
- ``diff_max`` (40) and ``diff_after`` (2000): the paper's exit criterion: training stops with a message when
  |mean D(real) - mean D(fake)| over a stage exceeds ``diff_max`` after stage ``diff_after`` (0 disables).

- ``batch_statistics`` (True): a D with batch norm normalises, in the gradient steps, with the statistics of the
  batch being moved, as the authors' code does (``DDG.generate`` runs D in train mode). D is trained on batches of
  all-real and all-fake images, each normalised by its own statistics, so that is the function D learnt; its
  running statistics average real and fake batches and make another function. With them (``False``, per-sample
  and batch-independent steps) D separated real from generated Fashion-MNIST ever more widely (a stage's mean
  logits +38 / -37 by stage 110, D's loss 1e-16) while the samples did not improve; with batch statistics D's loss
  stayed at 0.2-0.5 over the same 150 stages (that seed still ran away later; another did not: benchmarks/README.md).
  The price: a sample depends on the batch it is drawn in, so draw in
  batches of the training batch size. A D without batch norm (``d_norm="layer"``, ``"spectral"`` or ``"none"``
  for ``dcgan``; the MLP) is unaffected.
"""

from __future__ import annotations

import copy
import math
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

import ganzoo
import ganzoo.training.distributed as distributed
from ganzoo.errors import ModelFileError, TrainingDivergedError
from ganzoo.training.method import TrainingMethod

#: the most functional-gradient steps a saved model may ask for (a bound on what ``ganzoo.load`` builds)
MAX_STEPS = 1000


def use_batch_statistics(module: nn.Module) -> nn.Module:
    """``module``'s batch-norm layers normalise with the statistics of the batch they are given, in train and eval
    mode alike, and keep no running statistics (PyTorch's ``track_running_stats=False``: the buffers are removed,
    so they are neither used, updated nor saved). Returns ``module``; without batch norm it is unchanged."""
    for layer in module.modules():
        if isinstance(layer, nn.modules.batchnorm._BatchNorm):
            layer.track_running_stats = False
            layer.running_mean = layer.running_var = layer.num_batches_tracked = None
    return module


def copy_into(snapshot: nn.Module, discriminator: nn.Module) -> None:
    """``discriminator``'s weights (and those of its buffers that ``snapshot`` keeps) into ``snapshot``."""
    kept = snapshot.state_dict().keys()
    snapshot.load_state_dict({k: v for k, v in discriminator.state_dict().items() if k in kept}, strict=True)


def functional_gradient_steps(x: torch.Tensor, discriminators: Any, eta: float) -> torch.Tensor:
    """``x <- x + eta * grad_x D(x)`` through each discriminator in turn (the xICFG generator's steps).

    The gradient is of D's logit summed over the batch: each sample's own gradient when D judges samples one by one
    (no batch norm, or running statistics); with batch statistics it also carries the batch's share, as in the
    authors' code. Works under ``torch.no_grad()`` (sampling) and returns a tensor without a graph."""
    with torch.enable_grad():
        for discriminator in discriminators:
            x = x.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(discriminator(x).float().sum(), x)
            x = x + eta * grad
    return x.detach()


class FunctionalGradientGenerator(nn.Module):
    """The xICFG generator G_T: latents (N, z_dim) -> approximator G~ -> T gradient steps through D_1..D_T ->
    samples shaped like G~'s output (Johnson and Zhang 2018, Algorithm 1 with the approximator of Section 3)."""

    onnx_note = (
        "the xICFG approximator alone: the gradient steps through the discriminator snapshots that the PyTorch model "
        "adds are not expressible in ONNX, so this graph's samples differ from ganzoo.load(...).sample's"
    )

    def __init__(
        self, approximator: nn.Module, discriminators: list[nn.Module], eta: float, batch_statistics: bool = False
    ) -> None:
        super().__init__()
        self.approximator = approximator
        self.discriminators = nn.ModuleList(discriminators)
        self.eta = float(eta)
        self.batch_statistics = bool(batch_statistics)  # how the snapshots' batch norms were made (see the module)
        if self.batch_statistics:
            for discriminator in self.discriminators:
                use_batch_statistics(discriminator)
        self.discriminators.requires_grad_(False)  # only gradients with respect to the samples are taken

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return functional_gradient_steps(self.approximator(z), self.discriminators, self.eta)

    def onnx_network(self) -> nn.Module:
        """What ``ganzoo export`` writes: the approximator (see ``onnx_note``)."""
        return self.approximator


class XICFGExitCriterionError(TrainingDivergedError):
    """The paper's exit criterion: D tells real from generated by too wide a margin for the steps to recover."""


class XICFGMethod(TrainingMethod):
    """xICFG (Johnson and Zhang 2018): one step is one stage of T D updates and snapshots, then the approximator
    is regressed onto the T-step generator; roles ``generator`` (the approximator) and ``discriminator``."""

    tasks: ClassVar[tuple[str, ...]] = ("unconditional",)
    uses_loss: ClassVar[bool] = False
    uses_ema: ClassVar[bool] = False  # the approximator must stay the one the snapshots were trained against
    shown: ClassVar[tuple[str, ...]] = ("d_loss", "d_real", "d_fake", "approx_loss")
    OPTIONS: ClassVar[dict[str, Any]] = {
        "steps": 15,
        "d_updates": 1,
        "eta": 0.5,
        "pairs": 640,
        "approx_epochs": 10,
        "lr_cuts": 3,
        "lr_cut_factor": 0.1,
        "diff_max": 40.0,
        "diff_after": 2000,
        "batch_statistics": True,
    }

    def check_options(self) -> None:
        o = self.options_with(self.OPTIONS)
        for key in ("steps", "d_updates", "pairs", "approx_epochs"):
            _check_int(key, o[key], low=1)
        for key in ("lr_cuts", "diff_after"):
            _check_int(key, o[key], low=0)
        for key in ("eta", "lr_cut_factor", "diff_max"):
            if isinstance(o[key], bool) or not isinstance(o[key], (int, float)) or not math.isfinite(o[key]):
                raise ValueError(f"{key} must be a finite number, got {o[key]!r}")
        if o["eta"] <= 0 or not 0 < o["lr_cut_factor"] <= 1 or o["diff_max"] < 0:
            raise ValueError("xicfg needs eta > 0, 0 < lr_cut_factor <= 1 and diff_max >= 0 (0: no exit criterion)")
        if not isinstance(o["batch_statistics"], bool):
            raise ValueError(f"batch_statistics must be true or false, got {o['batch_statistics']!r}")
        if o["steps"] > MAX_STEPS:
            raise ValueError(f"steps must be at most {MAX_STEPS}, got {o['steps']}")
        self.o = o
        self.initialised = False

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """RMSprop for D and the approximator, as the authors (alpha 0.95, eps 1e-18, lr 2.5e-4 unless given;
        ``lr_d`` for D when set)."""

        def rmsprop(role: str, lr: float | None) -> torch.optim.Optimizer:
            lr = lr if lr is not None else 2.5e-4
            return torch.optim.RMSprop(self.modules[role].parameters(), lr=lr, alpha=0.95, eps=1e-18)

        return {
            "generator": rmsprop("generator", self.lr_for(False)),
            "discriminator": rmsprop("discriminator", self.lr_for(True)),
        }

    def setup(self) -> None:
        if distributed.current().enabled:
            raise ValueError("method 'xicfg' runs in one process; launch it without torchrun")
        self.G, self.D = self.modules["generator"], self.modules["discriminator"]
        self.opt_g, self.opt_d = self.optimizers["generator"], self.optimizers["discriminator"]
        # D_1..D_T: frozen copies, overwritten in turn every stage (eval mode; batch norm per batch_statistics)
        self.batch_statistics = self.o["batch_statistics"]
        self.snapshots = [copy.deepcopy(self.D).eval().requires_grad_(False) for _ in range(self.o["steps"])]
        if self.batch_statistics:
            for snapshot in self.snapshots:
                use_batch_statistics(snapshot)

    # -- one stage ---------------------------------------------------------------------------------------------

    def step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        if not self.initialised:  # before the first stage: G~ fitted to a random linear map of z (initialize_G)
            self.fit_approximator(*self.random_projection_pairs())
            self.initialised = True
        sum_real = sum_fake = sum_loss = torch.zeros((), device=self.device)
        count = 0
        for t in range(self.o["steps"]):
            for u in range(self.o["d_updates"]):
                real = self.to_memory_format(batch["image"] if t == u == 0 else self.next_batch()["image"])
                fake = self.generate(len(real), self.snapshots[:t])
                with self.autocast():
                    real_logits, fake_logits = self.D(real).float(), self.D(fake).float()
                    # the logistic loss of the paper: log(1 + exp(-D(x))) + log(1 + exp(D(G(z))))
                    d_loss = F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
                self.opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                self.opt_d.step()
                sum_real = sum_real + real_logits.detach().sum()
                sum_fake = sum_fake + fake_logits.detach().sum()
                sum_loss = sum_loss + d_loss.detach()
                count += len(real)
            copy_into(self.snapshots[t], self.D)  # D_t (parameters, and the buffers the snapshot keeps)
        d_real, d_fake = sum_real / count, sum_fake / count
        self.check_exit(step, d_real, d_fake)
        approx_loss, approx_lr = self.fit_approximator(*self.generated_pairs())
        return {
            "d_loss": sum_loss / (self.o["steps"] * self.o["d_updates"]),
            "d_real": d_real,  # mean logits over the stage, as the authors log them
            "d_fake": d_fake,
            "approx_loss": approx_loss,
            "approx_lr": torch.tensor(approx_lr),
        }

    def images_seen(self, steps: int) -> int:
        """Real images D saw: T x U batches a stage."""
        return steps * self.o["steps"] * self.o["d_updates"] * self.settings.batch_size

    @torch.no_grad()
    def generate(self, n: int, snapshots: list[nn.Module], z: torch.Tensor | None = None) -> torch.Tensor:
        """G~(z) followed by steps through ``snapshots``; G~ in eval mode as in the authors' ``DDG.generate``."""
        z = torch.randn(n, self.config.z_dim, device=self.device) if z is None else z
        self.G.eval()
        try:
            with self.autocast():
                x = self.G(z).float()
            return self.to_memory_format(functional_gradient_steps(x, snapshots, self.o["eta"]))
        finally:
            self.G.train()

    def check_exit(self, step: int, d_real: torch.Tensor, d_fake: torch.Tensor) -> None:
        """Stop, as the paper's code does, when |mean D(real) - mean D(fake)| passes ``diff_max`` late in training."""
        if not self.o["diff_max"] or step < self.o["diff_after"]:
            return
        gap = float(d_real - d_fake)  # one host sync per stage
        if not math.isfinite(gap) or abs(gap) > self.o["diff_max"]:
            raise XICFGExitCriterionError(
                f"xICFG stopped at stage {step + 1}: |mean D(real) - mean D(fake)| = {abs(gap):.1f} exceeds "
                f"diff_max={self.o['diff_max']:g} (Johnson and Zhang's exit criterion: D wins by too much for the "
                "generator's steps to recover). The last checkpoint is kept; resume it with --steps set to its "
                "step to publish that model, or train again with a smaller eta or lr"
            )

    # -- the approximator ----------------------------------------------------------------------------------------

    @torch.no_grad()
    def random_projection_pairs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """N pairs (z, clamp(z W, -1, 1)) with W ~ N(0, 0.01^2): the authors' starting point for G~."""
        z = torch.randn(self.o["pairs"], self.config.z_dim, device=self.device)
        shape = tuple(self.config.output_shape)
        projection = torch.randn(self.config.z_dim, math.prod(shape), device=self.device) * 0.01
        return z, (z @ projection).clamp_(-1, 1).reshape(-1, *shape)

    @torch.no_grad()
    def generated_pairs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """N pairs (z, G_T(z)) through all T snapshots of this stage, in batches of the run's batch size."""
        z = torch.randn(self.o["pairs"], self.config.z_dim, device=self.device)
        size = self.settings.batch_size
        targets = [self.generate(len(part), self.snapshots, z=part) for part in z.split(size)]
        return z, torch.cat(targets)

    def fit_approximator(self, z: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, float]:
        """Regress G~ on (z, targets) for ``approx_epochs`` epochs: loss sum((G~(z) - target)^2) / 2 / batch, a fresh
        RMSprop state, the learning rate cut by ``lr_cut_factor`` whenever an epoch's mean loss rises (at most
        ``lr_cuts`` times; ``DDG._approximate``). Returns the last epoch's mean loss and the last rate."""
        group = self.opt_g.param_groups[0]
        scheduled = group["lr"]  # the run's schedule sets it each step; the cuts last one stage
        self.opt_g.state.clear()  # the authors create a new optimiser per stage
        cuts, last, size = 0, math.inf, self.settings.batch_size
        mean = torch.zeros((), device=self.device)
        for _ in range(self.o["approx_epochs"]):
            order = torch.randperm(len(z), device=self.device)
            total = torch.zeros((), device=self.device)
            batches = 0
            for rows in order.split(size):
                with self.autocast():
                    out = self.G(z[rows]).float()
                loss = (out - targets[rows].float()).square().sum() / 2 / len(rows)
                self.opt_g.zero_grad(set_to_none=True)
                loss.backward()
                self.opt_g.step()
                total, batches = total + loss.detach(), batches + 1
            mean = total / batches
            value = float(mean)  # one host sync per epoch: the cut rule needs it
            if not math.isfinite(value):
                raise TrainingDivergedError(f"xICFG's approximator loss became {value}; try a smaller eta or lr")
            if value > last and cuts < self.o["lr_cuts"]:
                group["lr"] *= self.o["lr_cut_factor"]
                cuts += 1
            last = value
        used = group["lr"]
        group["lr"] = scheduled
        return mean, used

    # -- pictures, the published model and state ---------------------------------------------------------------

    @torch.no_grad()
    def preview(self, fixed: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """Samples of the full G_T (approximator and this stage's snapshots) from the fixed latents."""
        # the snapshots themselves, not copies: a preview only reads them (published_modules copies for keeps)
        return FunctionalGradientGenerator(self.ema["generator"], self.snapshots, self.o["eta"], self.batch_statistics)(
            fixed["z"]
        ).float()

    def published_modules(self, modules: dict[str, nn.Module]) -> dict[str, nn.Module]:
        """G_T: the approximator with copies of the T snapshots."""
        snapshots = [copy.deepcopy(s) for s in self.snapshots]
        return {
            "generator": FunctionalGradientGenerator(
                modules["generator"], snapshots, self.o["eta"], self.batch_statistics
            )
        }

    def published_settings(self) -> dict[str, Any]:
        return {"steps": self.o["steps"], "eta": self.o["eta"], "batch_statistics": self.batch_statistics}

    @classmethod
    def published_network(cls, architecture: Any, config: Any, role: str, settings: dict[str, Any]) -> nn.Module:
        """An empty G_T for ``config.json``'s ``method_settings`` (``steps`` and ``eta``), checked."""
        steps, eta = settings.get("steps"), settings.get("eta")
        if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
            raise ModelFileError(
                f"xicfg model: method_settings.steps must be an integer in 1..{MAX_STEPS}, got {steps!r}"
            )
        if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not math.isfinite(eta) or eta <= 0:
            raise ModelFileError(f"xicfg model: method_settings.eta must be a positive number, got {eta!r}")
        # models saved before the option stepped with running statistics, and must sample as they were trained
        batch_statistics = settings.get("batch_statistics", False)
        if not isinstance(batch_statistics, bool):
            raise ModelFileError(
                f"xicfg model: method_settings.batch_statistics must be true or false, got {batch_statistics!r}"
            )
        if role != "generator":
            return architecture.network(role)(config)
        snapshots = [architecture.network("discriminator")(config) for _ in range(steps)]
        return FunctionalGradientGenerator(architecture.network("generator")(config), snapshots, eta, batch_statistics)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {f"snapshot.{t}.{k}": v for t, s in enumerate(self.snapshots) for k, v in s.state_dict().items()}

    def extra_state(self) -> dict[str, Any]:
        return {"initialised": self.initialised}

    def load_state_dict(self, tensors: dict[str, torch.Tensor], extra: dict[str, Any]) -> None:
        for t, snapshot in enumerate(self.snapshots):
            prefix = f"snapshot.{t}."
            part = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
            snapshot.load_state_dict(part, strict=True)
        extra_keys = {k.split(".")[1] for k in tensors if k.startswith("snapshot.")} - {
            str(t) for t in range(len(self.snapshots))
        }
        if extra_keys:
            raise ValueError(f"the checkpoint holds {len(self.snapshots) + len(extra_keys)} snapshots, not "
                             f"{len(self.snapshots)}: it was trained with another 'steps'")  # fmt: skip
        self.initialised = bool(extra.get("initialised", True))


def _check_int(key: str, value: Any, *, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{key} must be an integer >= {low}, got {value!r}")


@ganzoo.hookimpl
def register_methods(register):
    """Register ``xicfg``."""
    register(
        "xicfg",
        XICFGMethod,
        description="composite functional gradient GAN: G grows by steps along grad D, then is distilled "
        "(Johnson and Zhang 2018)",
    )
