"""The training core: one loop for every architecture and loss.

    D step(s) -> G step -> EMA -> log -> sample grid -> checkpoint

The per-iteration update is a training step object (``AdversarialStep`` by default); an architecture that needs
its own update (paired L1 terms, two generator/discriminator pairs, functional-gradient updates) registers a
``training_step`` class and reuses everything else here.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import math
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ganzoo.config import GeneratorConfig
from ganzoo.data import BatchSampler, InMemoryData, resolve_data
from ganzoo.errors import DataError, GanzooError, TrainingDivergedError, TrainingWarning
from ganzoo.host.manager import get_registry
from ganzoo.models.folder import save
from ganzoo.models.generator import Generator
from ganzoo.sampling import latents, save_grid
from ganzoo.training.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from ganzoo.training.ema import ExponentialMovingAverage
from ganzoo.training.standing_stats import has_batchnorm, recompute_batchnorm_stats

CHECKPOINT_NAME = "checkpoint.safetensors"
LOG_NAME = "losses.csv"
MOMENTS_NAME = "moments.csv"
LR_DECAYS = ("none", "linear")
MOMENT_SAMPLES = 512  # fixed latents and real samples per moment record: enough for 192-d (8x8x3) statistics
LOG_FIELDS = (
    "step",
    "d_loss",
    "g_loss",
    "d_real",
    "d_fake",
    "d_acc_real",  # share of real samples with logit > 0 (D(x) > 0.5); for critics (WGAN) only a rough guide
    "d_acc_fake",  # share of fakes D scores below it
    "d_grad_norm",  # L2 norm of D's gradient in its last step
    "g_grad_norm",  # L2 norm of G's gradient
    "fake_spread",  # per-feature std of the fake batch / the real batch's: near 0 means collapse
    "seconds",
)
VANISHING_RATIO = 1e-3  # G's gradient norm below this share of its first logged value: "vanishing"
COLLAPSE_SPREAD = 0.1  # fakes lost 90% of the largest spread they had (relative to the real batch's): "collapse"


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved in checkpoints and config.json)."""

    architecture: str
    model: dict[str, Any]  # the architecture's config fields
    loss: str  # registered loss name
    loss_options: dict[str, Any] = field(default_factory=dict)  # e.g. {"gp_weight": 10}
    steps: int = 1000  # total generator steps (resume continues up to this number)
    batch_size: int = 64
    lr: float | None = None  # None: the loss's recommendation
    betas: tuple[float, float] | None = None  # Adam betas; None: the loss's recommendation
    lr_decay: str = "none"  # "linear": both learning rates fall linearly to 0 at the last step
    lr_decay_start: int = 0  # with "linear": constant up to this step, then the linear fall (CycleGAN's schedule)
    ema: float = 0.999  # EMA decay of the published generator weights
    seed: int = 0
    data: str = ""  # description of the training data
    log_every: int = 10  # progress bar, CSV row and finiteness check
    sample_every: int = 500  # fixed-latent sample grid into out_dir/progress/
    checkpoint_every: int = 1000
    amp: bool = False  # bfloat16 autocast (CUDA only)
    channels_last: bool = True  # NHWC convolutions: ~10% faster DCGAN steps on CPU (benchmarks/README.md)
    # D sees real and fake in two passes (pytorch/examples style) instead of one joint pass. Both give the same D
    # update: in the joint pass every batch-norm layer normalises the real and the fake half separately
    # (batch_norm_per_half); mixing their statistics made D win at once (D(G(z)) -> 0 within 50 DCGAN steps).
    separate_d_batches: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dataclasses.asdict(self)


@dataclass
class TrainState:
    """What a training step reads and updates; saved whole in checkpoints."""

    config: TrainConfig
    generator: nn.Module
    discriminator: nn.Module
    loss: Any
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    ema: ExponentialMovingAverage
    batches: BatchSampler
    device: torch.device
    z_dim: int
    step: int = 0

    def autocast(self) -> contextlib.AbstractContextManager:
        """bfloat16 autocast when mixed precision is on (bfloat16 needs no gradient scaler)."""
        if self.config.amp and self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()


class AdversarialStep:
    """The classic alternating update: ``loss.d_steps`` discriminator steps, then one generator step."""

    def __init__(self, state: TrainState) -> None:
        self.memory_format = torch.channels_last if state.config.channels_last else torch.contiguous_format

    def __call__(self, s: TrainState) -> dict[str, torch.Tensor]:
        G, D, loss = s.generator, s.discriminator, s.loss
        n = s.config.batch_size
        # ------------------------------------------------------------------------------------------------
        # (1) Update D: maximise log D(x) + log(1 - D(G(z))) (or the chosen loss's version of it)
        # ------------------------------------------------------------------------------------------------
        for i in range(loss.d_steps):
            real = next(s.batches)
            if real.ndim == 4:
                real = real.contiguous(memory_format=self.memory_format)
            z = torch.randn(n, s.z_dim, device=s.device)
            last = i == loss.d_steps - 1
            with s.autocast():
                # The last D step keeps the fake batch's graph: the G step reuses it instead of running G again.
                with contextlib.nullcontext() if last else torch.no_grad():
                    fake = G(z)
                if s.config.separate_d_batches:
                    real_logits, fake_logits = D(real), D(fake.detach())
                else:  # one pass over real and fake together: one set of larger, faster kernels
                    with batch_norm_per_half(D):
                        logits = D(torch.cat([real, fake.detach()]))
                    # halves, not [:n]: a packing D (PacGAN) returns one logit per group of samples
                    real_logits, fake_logits = logits.chunk(2)
                d_loss = loss.discriminator_loss(real_logits.float(), fake_logits.float())
                penalty = loss.regularizer(D, real, fake.detach())
                if penalty is not None:
                    d_loss = d_loss + penalty
            s.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            d_grad_norm = _grad_norm(D)
            s.opt_d.step()
            if loss.clip is not None:  # WGAN: keep the critic (roughly) Lipschitz by clipping its weights
                with torch.no_grad():
                    for p in D.parameters():
                        p.clamp_(-loss.clip, loss.clip)
        # ------------------------------------------------------------------------------------------------
        # (2) Update G: maximise log D(G(z)) (or the chosen loss's version of it)
        # ------------------------------------------------------------------------------------------------
        # D's weight gradients are not needed for the G step; switching them off skips a third of D's backward.
        D.requires_grad_(False)
        try:
            with s.autocast():
                g_loss = loss.generator_loss(D(fake).float())
            s.opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            g_grad_norm = _grad_norm(G)
            s.opt_g.step()
        finally:
            D.requires_grad_(True)
        real_logits, fake_logits = real_logits.detach().float(), fake_logits.detach().float()
        with torch.no_grad():
            spread = fake.detach().float().flatten(1).std(0).mean() / real.float().flatten(1).std(0).mean()
        return {
            "d_loss": d_loss.detach(),
            "g_loss": g_loss.detach(),
            "d_real": real_logits,
            "d_fake": fake_logits,
            "d_acc_real": (real_logits > 0).float().mean(),
            "d_acc_fake": (fake_logits < 0).float().mean(),
            "d_grad_norm": d_grad_norm,
            "g_grad_norm": g_grad_norm,
            "fake_spread": spread,
        }


def _grad_norm(module: nn.Module) -> torch.Tensor:
    """L2 norm of all of ``module``'s gradients, as a tensor (no host sync)."""
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


class TrainingMonitor:
    """Warns once each when G's gradients vanish or the fakes collapse onto (nearly) one sample.

    Vanishing: G's gradient norm falls below ``VANISHING_RATIO`` of its first logged value (the minimax loss's
    saturation when D wins). Collapse: the fakes are identical, or their spread (relative to the real batch's) fell
    below ``COLLAPSE_SPREAD`` of the largest it has been after reaching half the data's. Why relative to the past:
    a fresh generator's samples are tightly bunched before it learns anything, which is not a collapse.
    """

    def __init__(self) -> None:
        self.first_g_norm: float | None = None
        self.max_spread = 0.0
        self.warned: set[str] = set()

    def check(self, step: int, values: dict[str, float]) -> list[str]:
        """Look at one log row; returns (and warns) the new problems."""
        found = []
        g_norm = values.get("g_grad_norm")
        if g_norm is not None and math.isfinite(g_norm):
            if self.first_g_norm is None:
                self.first_g_norm = g_norm
            elif g_norm < VANISHING_RATIO * self.first_g_norm and "vanishing" not in self.warned:
                found.append(
                    f"step {step}: the generator's gradients have vanished (norm {g_norm:.2e}, was "
                    f"{self.first_g_norm:.2e}); D is winning. With the minimax loss, try non-saturating."
                )
                self.warned.add("vanishing")
        spread = values.get("fake_spread")
        if spread is None or not math.isfinite(spread):
            spread = None
        else:
            self.max_spread = max(self.max_spread, spread)
        lost = spread is not None and self.max_spread >= 0.5 and spread < COLLAPSE_SPREAD * self.max_spread
        identical = spread is not None and spread < 1e-4
        if (lost or identical) and "collapse" not in self.warned:
            found.append(
                f"step {step}: generated samples in a batch are nearly identical (spread {spread:.3f} of the "
                "real batch's): mode collapse. Try another loss (wgan-gp, hinge), a lower lr or a smaller D."
            )
            self.warned.add("collapse")
        for message in found:
            warnings.warn(message, TrainingWarning, stacklevel=3)
        return found


def _make_optimizer(params: Any, settings: dict[str, Any], lr: float | None, betas: Any) -> torch.optim.Optimizer:
    name = settings.get("name", "adam")
    lr = lr if lr is not None else settings.get("lr", 2e-4)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=tuple(betas or settings.get("betas", (0.5, 0.999))))
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    raise GanzooError(f"the loss recommends an unknown optimiser {name!r}; use 'adam' or 'rmsprop'")


def _describe_data(data: Any) -> str:
    if isinstance(data, (str, Path)):
        return str(data)
    return getattr(data, "description", "") or type(data).__name__


def _check_data_shape(dataset: Any, cfg: GeneratorConfig, architecture: str) -> None:
    shape = dataset.sample_shape if isinstance(dataset, InMemoryData) else None
    if shape is None:
        first = dataset[0]
        shape = tuple((first[0] if isinstance(first, (list, tuple)) else first).shape)
    if tuple(shape) != tuple(cfg.output_shape):
        hint = ""
        if cfg.is_image and len(shape) == 3:
            hint = (
                f" Pass resize=True (CLI: --resize) to resize and convert images to {cfg.output_shape[1]}x"
                f"{cfg.output_shape[2]} with {cfg.output_shape[0]} channel(s) on load, or set image_size/channels."
            )
        raise DataError(
            f"the data's samples have shape {tuple(shape)} but {architecture!r} with this config makes "
            f"{tuple(cfg.output_shape)}.{hint}"
        )


def _metrics_to_floats(metrics: dict[str, torch.Tensor], probability: bool) -> dict[str, float]:
    out = {}
    for key, value in metrics.items():
        if key in ("d_real", "d_fake"):
            value = torch.sigmoid(value) if probability else value
            value = value.mean()
        out[key] = float(value)
    return out


def train(
    architecture: str,
    data: Any,
    *,
    loss: str | None = None,
    loss_options: dict[str, Any] | None = None,
    steps: int = 1000,
    batch_size: int = 64,
    lr: float | None = None,
    betas: Sequence[float] | None = None,
    lr_decay: str = "none",
    lr_decay_start: int = 0,
    ema: float = 0.999,
    seed: int = 0,
    device: str | torch.device | None = None,
    out_dir: str | Path | None = None,
    resume: bool = False,
    log_every: int = 10,
    sample_every: int = 500,
    checkpoint_every: int = 1000,
    amp: bool = False,
    channels_last: bool = True,
    separate_d_batches: bool | None = None,
    resize: bool = False,
    data_options: dict[str, Any] | None = None,
    progress: bool = True,
    track_moments: int = 0,
    standing_stats: int = 0,
    callbacks: Sequence[Callable[[int, dict[str, float], TrainState], None]] = (),
    **config: Any,
) -> Generator:
    """Train a registered architecture on ``data`` and return the EMA generator (in eval mode).

    Args:
        architecture: registered architecture name (``ganzoo list``).
        data: a registered dataset name (``ring-8``), a ``.npz`` file, an image folder, or a torch Dataset of
            samples in [-1, 1].
        loss: registered loss name; default: the architecture's ``default_loss``.
        steps: total generator steps; with ``resume=True`` training continues from the checkpoint up to this.
        lr_decay: ``"linear"`` lowers both learning rates linearly from ``lr`` to 0 over ``steps`` (as SNGAN
            does; it sharpens the end of training); ``"none"`` keeps them constant.
        lr_decay_start: with ``lr_decay="linear"``, keep ``lr`` constant up to this step and fall linearly to 0
            from there to ``steps`` (CycleGAN's schedule: constant, then linear); 0 decays from the first step.
        out_dir: where the run writes ``config.json`` + ``model.safetensors`` (the EMA generator),
            ``checkpoint.safetensors``, ``losses.csv``, ``losses.png``, ``samples.png`` and ``progress/``.
            ``None`` writes nothing.
        resume: continue from ``out_dir/checkpoint.safetensors`` (bit-identical on CPU).
        resize: resize/convert images from files to the model's size and channels on load.
        channels_last: NHWC convolutions (faster on CPU and on tensor-core GPUs).
        separate_d_batches: D sees real and fake batches in separate passes instead of one joint, faster pass
            (``None``/``False``, the default). The two are equivalent: in the joint pass batch norm normalises
            the real and fake halves separately.
        track_moments: every this many steps, record how far the EMA generator's sample mean and covariance are
            from the data's (512 fixed latents vs 512 fixed real samples; images pooled to 8x8) and how sparse
            its ReLU activations are, into ``out_dir/moments.csv`` and ``moments.png`` (0: off).
        standing_stats: at the end, re-measure the EMA generator's batch-norm statistics over this many batches
            of ``batch_size`` latents (BigGAN's standing statistics; ``ganzoo.recompute_batchnorm_stats``). The
            averaged running statistics belong to the training weights, not the averaged ones; 0 keeps them.
            Checkpoints are not affected, so a resume continues the same run.
        callbacks: called as ``fn(step, metrics, state)`` every ``log_every`` steps.
        **config: the architecture's config fields (``image_size=64``, ``z_dim=100``, ...).
    """
    registry = get_registry()
    arch = registry.get("architecture", architecture)
    cfg = arch.make_config(**config)
    loss_name = loss or arch.default_loss
    loss_obj = registry.get("loss", loss_name).create(**(loss_options or {}))
    if steps <= 0:
        raise ValueError(f"steps must be positive, got {steps}")
    if lr_decay not in LR_DECAYS:
        raise ValueError(f"lr_decay must be one of {LR_DECAYS}, got {lr_decay!r}")
    if lr_decay_start and lr_decay != "linear":
        raise ValueError(f"lr_decay_start={lr_decay_start} sets where the linear decay begins: pass lr_decay='linear'")
    if not 0 <= lr_decay_start < steps:
        raise ValueError(f"lr_decay_start must be a step in [0, steps={steps}), got {lr_decay_start}")
    for name, value in (
        ("log_every", log_every),
        ("sample_every", sample_every),
        ("checkpoint_every", checkpoint_every),
    ):
        if value <= 0:
            raise ValueError(f"{name} must be positive, got {value}")
    if track_moments < 0:
        raise ValueError(f"track_moments must be >= 0 (0: off), got {track_moments}")
    if standing_stats < 0:
        raise ValueError(f"standing_stats must be >= 0 batches (0: off), got {standing_stats}")
    if standing_stats and batch_size < 2:
        raise ValueError("standing_stats measures batch statistics: it needs batch_size >= 2")
    if track_moments and out_dir is None:
        raise ValueError("track_moments writes moments.csv and moments.png into out_dir: pass out_dir too")
    if resume and out_dir is None:
        raise ValueError("resume=True needs out_dir, the folder holding checkpoint.safetensors")
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if amp and device.type != "cuda":
        amp = False  # bfloat16 autocast is slower than fp32 on most CPUs
    if separate_d_batches is None:  # the joint pass (with per-half batch norm) is the fast, equivalent default
        separate_d_batches = False
    tc = TrainConfig(
        architecture=arch.name,
        model=cfg.to_dict(),
        loss=loss_name,
        loss_options=dict(loss_options or {}),
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        betas=tuple(betas) if betas else None,
        lr_decay=lr_decay,
        lr_decay_start=lr_decay_start,
        ema=ema,
        seed=seed,
        data=_describe_data(data),
        log_every=log_every,
        sample_every=sample_every,
        checkpoint_every=checkpoint_every,
        amp=amp,
        channels_last=channels_last,
        separate_d_batches=separate_d_batches,
    )
    out = Path(out_dir) if out_dir is not None else None
    if resume:
        _check_resumable(out / CHECKPOINT_NAME, tc)

    # -- data --------------------------------------------------------------------------------------------------
    options = dict(data_options or {})
    if cfg.is_image and isinstance(data, (str, Path)) and (Path(data).exists()):
        options.setdefault("image_size", cfg.output_shape[1])
        options.setdefault("channels", cfg.output_shape[0])
        options.setdefault("resize", resize)
    dataset = resolve_data(data, **options)
    _check_data_shape(dataset, cfg, arch.name)

    # -- models, optimisers, EMA (seeded: the same seed gives the same run on CPU) ----------------------------
    torch.manual_seed(seed)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    G = arch.generator(cfg).to(device, memory_format=memory_format).train()
    D = arch.discriminator(cfg).to(device, memory_format=memory_format).train()
    if loss_obj.has_regularizer and has_batchnorm(D):
        warnings.warn(
            f"loss {loss_name!r} adds a gradient penalty, which assumes per-sample gradients, but the "
            f"discriminator uses BatchNorm; prefer a discriminator without batch norm (e.g. d_norm='layer').",
            stacklevel=2,
        )
    settings = dict(loss_obj.optimizer)
    state = TrainState(
        config=tc,
        generator=G,
        discriminator=D,
        loss=loss_obj,
        opt_g=_make_optimizer(G.parameters(), settings, lr, betas),
        opt_d=_make_optimizer(D.parameters(), settings, lr, betas),
        ema=ExponentialMovingAverage(G, ema),
        batches=BatchSampler(dataset, batch_size, seed=seed, device=device),
        device=device,
        z_dim=cfg.z_dim,
    )
    base_lrs = [[group["lr"] for group in opt.param_groups] for opt in (state.opt_g, state.opt_d)]
    if resume:
        load_checkpoint(out / CHECKPOINT_NAME, state)
    step_fn = (arch.training_step or AdversarialStep)(state)
    fixed_z = torch.from_numpy(latents(64, cfg.z_dim, seed)).to(device)  # the same latents in every grid
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        log = _CsvLog(out / LOG_NAME, keep_until=state.step if resume else 0)
    else:
        log = None
    tracker = None
    if track_moments:
        from ganzoo.training.moments import MomentTracker

        reference = _reference_samples(dataset, MOMENT_SAMPLES, seed, device)
        z_moments = torch.from_numpy(latents(MOMENT_SAMPLES, cfg.z_dim, seed + 1)).to(device)
        tracker = MomentTracker(reference, z_moments, out / MOMENTS_NAME)
        if resume:
            tracker.resume(state.step)

    # -- the loop ----------------------------------------------------------------------------------------------
    from tqdm.auto import tqdm

    bar = tqdm(
        total=steps,
        initial=state.step,
        disable=not progress,
        desc=f"{arch.name}/{loss_name}",
        unit="step",
        dynamic_ncols=True,
    )
    started = time.perf_counter()
    monitor = TrainingMonitor()
    try:
        while state.step < steps:
            if lr_decay == "linear":  # set from the step, so a resumed run follows the same schedule
                _scale_lrs(state, base_lrs, linear_decay_factor(state.step, steps, lr_decay_start))
            metrics = step_fn(state)
            state.ema.update(G)
            state.step += 1
            bar.update(1)
            at_log = state.step % log_every == 0 or state.step == steps
            at_checkpoint = out is not None and (state.step % checkpoint_every == 0 or state.step == steps)
            if at_log or at_checkpoint:
                values = _metrics_to_floats(metrics, loss_obj.outputs_probability)
                bad = [k for k in ("d_loss", "g_loss") if not math.isfinite(values[k])]
                if bad:
                    raise TrainingDivergedError(_diverged_message(bad, values, state.step, out))
                values["seconds"] = round(time.perf_counter() - started, 3)
                bar.set_postfix(
                    d=f"{values['d_loss']:.3f}",
                    g=f"{values['g_loss']:.3f}",
                    Dx=f"{values['d_real']:.3f}",
                    DGz=f"{values['d_fake']:.3f}",
                    refresh=False,
                )
                monitor.check(state.step, values)
                if log is not None:
                    log.writerow({"step": state.step, **{k: values.get(k, "") for k in LOG_FIELDS[1:]}})
                for callback in callbacks:
                    callback(state.step, values, state)
            if tracker is not None and (state.step % track_moments == 0 or state.step == steps):
                tracker.record(state.step, state.ema.module)
            if out is not None and (state.step % sample_every == 0 or state.step == steps):
                _save_samples(state, fixed_z, dataset, out / "progress" / f"step-{state.step:07d}.png")
            if at_checkpoint:
                save_checkpoint(out / CHECKPOINT_NAME, state)
    finally:
        bar.close()
        if log is not None:
            log.close()

    wall = time.perf_counter() - started
    generator = Generator(
        state.ema.module.eval(),
        arch.name,
        cfg,
        task=arch.task,
        training={
            "loss": loss_name,
            "steps": state.step,
            "batch_size": batch_size,
            "seed": seed,
            "data": tc.data,
            "images_seen": state.step * batch_size,
            "device": str(device),
            "wall_seconds_last_session": round(wall, 1),
            "lr": base_lrs[0][0],
            "lr_decay": lr_decay,
            "lr_decay_start": lr_decay_start,
            "ema": ema,
            "standing_stats": standing_stats,
        },
    )
    if standing_stats:
        recompute_batchnorm_stats(generator, batches=standing_stats, batch_size=batch_size, seed=seed)
    if out is not None:
        save(generator, out)
        _save_samples(state, fixed_z, dataset, out / "samples.png")
        from ganzoo.plots import save_loss_plot

        save_loss_plot(out / LOG_NAME, out / "losses.png", title=f"{arch.name} / {loss_name} on {tc.data}")
        if tracker is not None:
            from ganzoo.training.moments import save_moment_plot

            title = f"{arch.name} / {loss_name}: moments and sparsity"
            save_moment_plot(tracker.rows, out / "moments.png", title=title)
    return generator


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


def _diverged_message(bad: list[str], values: dict[str, float], step: int, out: Path | None) -> str:
    where = (
        f"The last good checkpoint in {out / CHECKPOINT_NAME} is intact: resume from it with a lower lr "
        f"(or another loss)."
        if out is not None
        else "Try a lower lr or another loss."
    )
    return f"{' and '.join(bad)} became {values[bad[0]]} at step {step}; training stopped. {where}"


def linear_decay_factor(step: int, steps: int, start: int = 0) -> float:
    """Learning-rate factor of the 0-based ``step``: 1 before ``start``, then falling linearly to 0 at ``steps``."""
    if step < start:
        return 1.0
    return 1.0 - (step - start) / (steps - start)


def _scale_lrs(state: TrainState, base_lrs: list[list[float]], factor: float) -> None:
    for opt, bases in zip((state.opt_g, state.opt_d), base_lrs, strict=True):
        for group, base in zip(opt.param_groups, bases, strict=True):
            group["lr"] = base * factor


def _check_resumable(path: Path, tc: TrainConfig) -> None:
    _, metadata = read_checkpoint(path)
    # defaults for checkpoints written before these settings existed
    saved = {"lr_decay": "none", "lr_decay_start": 0, **json.loads(metadata["train_config"])}
    must_match = (
        "architecture",
        "model",
        "loss",
        "loss_options",
        "batch_size",
        "seed",
        "ema",
        "lr",
        "lr_decay",
        "lr_decay_start",
    )
    current = tc.to_dict()
    diffs = [
        f"{k}: checkpoint {saved.get(k)!r}, now {current[k]!r}"
        for k in must_match
        if json.dumps(saved.get(k)) != json.dumps(current[k])
    ]
    if diffs:
        raise GanzooError(f"cannot resume {path}: the run's settings differ ({'; '.join(diffs)})")
    if int(metadata["step"]) >= tc.steps:
        raise GanzooError(
            f"{path} is already at step {metadata['step']}; pass steps > {metadata['step']} to train further"
        )


class _CsvLog:
    """The training log: one CSV row every ``log_every`` steps, flushed so it can be read while training."""

    def __init__(self, path: Path, keep_until: int) -> None:
        rows = []
        if keep_until and path.is_file():  # resuming: drop rows the checkpoint does not cover
            with open(path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= keep_until]
        self.file = open(path, "w", newline="")  # noqa: SIM115 - closed by close()
        self.writer = csv.DictWriter(self.file, LOG_FIELDS)
        self.writer.writeheader()
        self.writer.writerows(rows)

    def writerow(self, row: dict[str, Any]) -> None:
        self.writer.writerow(row)
        self.file.flush()

    def close(self) -> None:
        self.file.close()


@torch.no_grad()
def _reference_samples(dataset: Any, n: int, seed: int, device: torch.device) -> torch.Tensor:
    """``n`` random training samples (fewer if the set is smaller), in the model's range, drawn with their own RNG
    so the training batches stay the same with and without moment tracking."""
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed + 1))[:n]
    if isinstance(dataset, InMemoryData):
        return dataset.convert(dataset.data[order]).to(device)
    items = [dataset[int(i)] for i in order]
    items = [item[0] if isinstance(item, (list, tuple)) else item for item in items]
    return torch.stack([torch.as_tensor(item) for item in items]).float().to(device)


def _save_samples(state: TrainState, fixed_z: torch.Tensor, dataset: Any, path: Path) -> None:
    """A picture of the EMA generator's samples: a grid of images, or a scatter plot over 2-D data."""
    fake = state.ema.module(fixed_z).float()
    if fake.ndim == 4:
        save_grid(fake, path, nrow=8)
    elif fake.ndim == 2 and fake.shape[1] == 2:
        from ganzoo.plots import save_scatter

        many = state.ema.module(torch.from_numpy(latents(2000, state.z_dim, 1)).to(state.device)).float()
        real = dataset.data[:2000].float().numpy() if isinstance(dataset, InMemoryData) else np.zeros((0, 2))
        save_scatter(real, many.cpu().numpy(), path, title=f"step {state.step}")
