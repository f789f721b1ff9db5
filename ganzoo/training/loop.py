"""The training core: one loop for every architecture, method and loss.

    data -> method.step(batch) -> EMA of the published roles -> log -> preview -> checkpoint -> publish

What one iteration does belongs to the ``TrainingMethod`` (``ganzoo.training.method``); everything a family
shares is here, top to bottom: settings, data, networks and optimisers, resume, the loop, publishing.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

import ganzoo.training.distributed as distributed
from ganzoo.data import BatchSampler, InMemoryData, field_shapes, resolve_data
from ganzoo.errors import GanzooError, RunExistsError, TrainingDivergedError, TrainingWarning
from ganzoo.host.manager import get_registry
from ganzoo.sampling import latents, save_grid
from ganzoo.training.checkpoint import checkpoint_info, load_checkpoint, read_checkpoint, save_checkpoint
from ganzoo.training.config import TrainConfig
from ganzoo.training.ema import ExponentialMovingAverage
from ganzoo.training.method import MethodContext, TrainingMethod
from ganzoo.training.monitor import CsvLog, TrainingMonitor
from ganzoo.training.optim import LearningRateSchedule
from ganzoo.training.standing_stats import has_batchnorm, recompute_batchnorm_stats

CHECKPOINT_NAME = "checkpoint.safetensors"
LOG_NAME = "losses.csv"
MOMENTS_NAME = "moments.csv"
MOMENT_SAMPLES = 512  # fixed latents and real samples per moment record: enough for 192-d (8x8x3) statistics
PREVIEW_SAMPLES = 64  # images in a preview grid
SCATTER_SAMPLES = 2000  # points in a 2-D preview scatter plot
#: what a run folder holds; a fresh run refuses a folder holding any of them unless overwrite=True
RUN_FILES = ("config.json", "model.safetensors", CHECKPOINT_NAME, LOG_NAME, "samples.png", "losses.png")


@dataclass
class TrainState:
    """What the loop keeps across iterations (and checkpoints): the method, EMA copies, data, step."""

    config: TrainConfig
    method: TrainingMethod
    ema: dict[str, ExponentialMovingAverage]
    batches: BatchSampler
    device: torch.device
    step: int = 0
    world: distributed.World = distributed.SINGLE

    @property
    def modules(self) -> dict[str, torch.nn.Module]:
        """The method's networks by role."""
        return self.method.modules

    @property
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The method's optimisers by name."""
        return self.method.optimizers

    @property
    def z_dim(self) -> int:
        """The model's latent size."""
        return self.method.config.z_dim


def train(
    architecture: str,
    data: Any,
    *,
    method: str | None = None,
    method_options: dict[str, Any] | None = None,
    loss: str | None = None,
    loss_options: dict[str, Any] | None = None,
    device: str | torch.device | None = None,
    out_dir: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    data_options: dict[str, Any] | None = None,
    progress: bool = True,
    callbacks: Sequence[Callable[[int, dict[str, float], TrainState], None]] = (),
    **settings_and_config: Any,
) -> Any:
    """Train a registered architecture on ``data`` with a training method and loss; return the published model.

    Args:
        architecture: registered architecture name (``ganzoo list``).
        data: a registered dataset name (``ring-8``), a ``.npz`` file, an image folder, ``NAME:PATH`` for a
            dataset that reads files (``paired-npz:pairs.npz``), or a torch Dataset (items: a tensor, an
            ``(image, label)`` pair or a dict of named fields).
        method: registered training method; default: the architecture's ``default_method`` (``adversarial``).
        method_options: the method's options (e.g. ``{"l1_weight": 100}``).
        loss: registered loss name; default: the architecture's ``default_loss``.
        loss_options: the loss's options (e.g. ``{"gp_weight": 10}``).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``; default: CUDA when available.
        out_dir: where the run writes ``config.json`` + ``model.safetensors`` (the EMA weights),
            ``checkpoint.safetensors``, ``losses.csv``, ``losses.png``, ``samples.png`` and ``progress/``.
            ``None`` writes nothing. A folder that already holds a run is refused unless ``resume`` or
            ``overwrite``.
        resume: continue from ``out_dir/checkpoint.safetensors`` (bit-identical on CPU); a resume with other
            settings (architecture, method, loss, data, batch size, seed, lr, ...) is refused, naming them.
        overwrite: start afresh in a folder that holds a run, deleting its outputs first.
        data_options: options for the data source (``key``, ``image_size``, ...).
        progress: show a progress bar.
        callbacks: called as ``fn(step, metrics, state)`` every ``log_every`` steps.
        **settings_and_config: the training settings (every field of ``ganzoo.TrainConfig``: ``steps``,
            ``batch_size``, ``lr``, ``betas``, ``lr_decay``, ``lr_decay_start``, ``ema``, ``seed``, ``log_every``,
            ``sample_every``, ``checkpoint_every``, ``amp``, ``channels_last``, ``separate_d_batches``,
            ``resize``, ``track_moments``, ``standing_stats``; see its field comments), and the architecture's
            config fields (``image_size=64``, ``z_dim=100``, ...).
    """
    from ganzoo.devices import cpu_has_bf16, resolve_device

    registry = get_registry()
    arch = registry.get("architecture", architecture)
    settings = {k: v for k, v in settings_and_config.items() if k in TrainConfig.names()}
    config = {k: v for k, v in settings_and_config.items() if k not in TrainConfig.names()}
    for reserved in ("architecture", "model", "method", "method_options", "loss", "loss_options", "data"):
        if reserved in settings:
            raise TypeError(f"train() got {reserved!r} as a setting; it is set from the arguments")
    cfg = arch.make_config(**config)
    method_name = method or arch.default_method
    method_entry = registry.get("method", method_name)
    if method_entry.method_class.tasks and arch.task not in method_entry.method_class.tasks:
        raise GanzooError(
            f"method {method_name!r} trains {', '.join(method_entry.method_class.tasks)} architectures; "
            f"{arch.name!r} is {arch.task}. Pick a method for it (`ganzoo list`)."
        )
    loss_name = (loss or arch.default_loss) if method_entry.method_class.uses_loss else ""
    if loss and not method_entry.method_class.uses_loss:
        raise GanzooError(f"method {method_name!r} uses no adversarial loss; drop loss={loss!r}")
    loss_obj = registry.get("loss", loss_name).create(**(loss_options or {})) if loss_name else None
    if "betas" in settings and settings["betas"] is not None:
        settings["betas"] = tuple(settings["betas"])
    tc = TrainConfig(
        architecture=arch.name,
        model=cfg.to_dict(),
        method=method_name,
        method_options=dict(method_options or {}),
        loss=loss_name,
        loss_options=dict(loss_options or {}),
        data=_describe_data(data),
        **settings,
    )
    tc.check()
    if (tc.track_moments or tc.standing_stats) and arch.task != "unconditional":
        raise ValueError(
            f"track_moments and standing_stats sample latents alone; {arch.name!r} is {arch.task}: turn them off"
        )
    if tc.track_moments and out_dir is None:
        raise ValueError("track_moments writes moments.csv and moments.png into out_dir: pass out_dir too")
    if resume and out_dir is None:
        raise ValueError("resume=True needs out_dir, the folder holding checkpoint.safetensors")
    if resume and overwrite:
        raise ValueError("resume=True continues a run and overwrite=True deletes it: pass one of them")
    device = resolve_device(device)
    # torchrun: this rank's place in the run, and its device (cuda:LOCAL_RANK); one process: (SINGLE, device)
    world, device = distributed.setup(device)
    if tc.amp and device.type == "cpu" and not cpu_has_bf16():
        warnings.warn(
            "amp=True on a CPU without bfloat16 units (AMX or AVX-512 BF16): autocast will be slower than float32",
            TrainingWarning,
            stacklevel=2,
        )
    elif tc.amp and device.type not in ("cuda", "cpu"):
        tc.amp = False  # no bfloat16 autocast path measured on other devices (mps): float32
    out = Path(out_dir) if out_dir is not None else None
    if resume:
        _check_resumable(out / CHECKPOINT_NAME, tc)
        if world.is_main:
            _remove_stale_temporaries(out)
    elif out is not None and world.is_main:
        _claim_run_folder(out, overwrite)
    distributed.barrier(world)  # no rank starts before the main rank has claimed (or cleaned) the folder
    writes = out if world.is_main else None  # only the main rank writes files

    # -- data ------------------------------------------------------------------------------------------------
    options = dict(data_options or {})
    reads_files = isinstance(data, (str, Path)) and (Path(data).exists() or ":" in str(data))
    if cfg.is_image and reads_files:  # file sources fit images to the model; named sets make their own
        options.setdefault("image_size", cfg.output_shape[1])
        options.setdefault("channels", cfg.output_shape[0])
        options.setdefault("resize", tc.resize)
    dataset = resolve_data(data, **options)

    # -- the method: networks by role, optimisers, EMA of the published roles (seeded: same seed, same run) ---
    context = MethodContext(arch, cfg, loss_obj, tc, device, tc.method_options, name=method_name)
    trainer: TrainingMethod = method_entry.method_class(context)
    trainer.check_data(field_shapes(dataset), tc.data)
    torch.manual_seed(tc.seed)
    memory_format = torch.channels_last if tc.channels_last else torch.contiguous_format
    trainer.modules = {
        role: module.to(device, memory_format=memory_format).train() for role, module in trainer.build().items()
    }
    if tc.init_from and not resume:
        _init_from(trainer, tc.init_from, arch.name, cfg)
    if tc.sync_bn:
        trainer.modules = distributed.convert_sync_batchnorm(world, trainer.modules, device)
    distributed.broadcast_modules(world, trainer.modules)
    if tc.compile:  # in place (Module.compile): state-dict names, checkpoints and EMA copies stay as they are
        for module in trainer.modules.values():
            module.compile()
    trainer.optimizers = trainer.make_optimizers()
    for optimizer in trainer.optimizers.values():  # each role's gradients averaged over the ranks at its own step
        distributed.average_gradients_on_step(world, optimizer)
    if loss_obj is not None and loss_obj.has_regularizer and has_batchnorm(trainer.modules.get("discriminator")):
        warnings.warn(
            f"loss {loss_name!r} adds a gradient penalty, which assumes per-sample gradients, but the "
            f"discriminator uses BatchNorm; prefer a discriminator without batch norm (e.g. d_norm='layer').",
            stacklevel=2,
        )
    ema_decay = tc.ema if trainer.uses_ema else 0.0  # decay 0: the copy follows the weights exactly
    ema = {role: ExponentialMovingAverage(trainer.modules[role], ema_decay) for role in trainer.published}
    trainer.ema = {role: average.module for role, average in ema.items()}
    batches = BatchSampler(dataset, tc.batch_size, seed=tc.seed, device=device, rank=world.rank, world_size=world.size)
    state = TrainState(tc, trainer, ema, batches, device, world=world)
    trainer.batches = state.batches
    trainer.setup()
    schedule = LearningRateSchedule(trainer.optimizers, tc.lr_decay, tc.steps, tc.lr_decay_start)
    if resume:
        load_checkpoint(out / CHECKPOINT_NAME, state)
    fixed = _fixed_inputs(trainer, dataset, tc.seed, device)
    if writes is not None:
        writes.mkdir(parents=True, exist_ok=True)
    log = CsvLog(writes / LOG_NAME, keep_until=state.step if resume else 0) if writes is not None else None
    tracker = _moment_tracker(tc, dataset, writes, state, resume) if tc.track_moments and writes else None

    # -- the loop --------------------------------------------------------------------------------------------
    from tqdm.auto import tqdm

    bar = tqdm(
        total=tc.steps,
        initial=state.step,
        disable=not progress or not world.is_main,
        desc=f"{arch.name}/{method_name}" + (f"/{loss_name}" if loss_name else ""),
        unit="step",
        dynamic_ncols=True,
    )
    started = time.perf_counter()
    monitor = TrainingMonitor()
    try:
        while state.step < tc.steps:
            schedule.apply(state.step)
            metrics = trainer.step(next(state.batches), state.step)
            for role, average in ema.items():
                average.update(trainer.modules[role])
            state.step += 1
            bar.update(1)
            # max_seconds: this step is the last one; it is logged, previewed and checkpointed like the final step
            out_of_time = bool(tc.max_seconds) and distributed.any_rank(
                world, time.perf_counter() - started >= tc.max_seconds
            )
            last = state.step == tc.steps or out_of_time
            at_log = state.step % tc.log_every == 0 or last
            at_checkpoint = out is not None and (state.step % tc.checkpoint_every == 0 or last)
            if at_log or at_checkpoint:
                values = {k: float(v.float().mean()) for k, v in metrics.items()}
                values = distributed.average_metrics(world, values)  # each rank measured its own rows
                bad = [k for k, v in values.items() if k.endswith("loss") and not math.isfinite(v)]
                if bad:
                    raise TrainingDivergedError(_diverged_message(bad, values, state.step, out))
                values["seconds"] = round(time.perf_counter() - started, 3)
                shown = [k for k in trainer.shown if k in values] or [k for k in values if k.endswith("loss")]
                bar.set_postfix({k: f"{values[k]:.3f}" for k in shown}, refresh=False)
                monitor.check(state.step, values)
                if log is not None:
                    log.writerow({"step": state.step, **values})
                for callback in callbacks:
                    callback(state.step, values, state)
            if tracker is not None and (state.step % tc.track_moments == 0 or last):
                tracker.record(state.step, trainer.ema[trainer.published[0]])
            if writes is not None and (state.step % tc.sample_every == 0 or last):
                _save_preview(trainer, fixed, dataset, writes / "progress" / f"step-{state.step:07d}.png", state.step)
            if at_checkpoint:
                # every rank takes part: the weights' fingerprints (ranks must agree) and every rank's RNG state
                fingerprints = distributed.check_in_sync(world, trainer.modules, state.step)
                rng_states = distributed.gather_rng_states(world)
                if writes is not None:
                    save_checkpoint(writes / CHECKPOINT_NAME, state, rng_states=rng_states, fingerprints=fingerprints)
            if out_of_time:
                if world.is_main:
                    bar.write(f"max_seconds={tc.max_seconds:g} reached at step {state.step} of {tc.steps}: stopping")
                break
    finally:
        bar.close()
        if log is not None:
            log.close()

    # -- publish the EMA weights -------------------------------------------------------------------------------
    from ganzoo.models.kinds import published_model

    wall = time.perf_counter() - started
    training = {
        "method": method_name,
        "loss": loss_name,
        "steps": state.step,
        "batch_size": tc.batch_size,
        "seed": tc.seed,
        "data": tc.data,
        "images_seen": trainer.images_seen(state.step),
        "world_size": world.size,  # torchrun processes; batch_size is per process
        "device": str(device),
        # a wall-clock budget means little without the cores it ran on (benchmarks run two 1-thread runs at once)
        "cpu_threads": torch.get_num_threads() if device.type == "cpu" else None,
        "wall_seconds_last_session": round(wall, 1),
        "max_seconds": tc.max_seconds,  # a time budget (0: none); steps says where it stopped
        "lr": schedule.base[next(iter(schedule.base))][0] if schedule.base else None,
        # every optimiser's own rate: methods may give G and D different ones (InfoGAN, TTUR)
        "learning_rates": {name: rates[0] for name, rates in schedule.base.items()},
        "lr_decay": tc.lr_decay,
        "lr_decay_start": tc.lr_decay_start,
        "ema": ema_decay,
        "standing_stats": tc.standing_stats,
    }
    # the options the run was given (the rest are the plugins' defaults), so a published model says how it was made
    for key, options in (("method_options", tc.method_options), ("loss_options", tc.loss_options)):
        if options:
            training[key] = dict(options)
    if tc.init_from:
        from ganzoo.hub.cards import inherited_metadata

        training["init_from"] = tc.init_from  # the weights this run started from
        training.update(inherited_metadata(tc.init_from))  # the base's licence and datasets, never its results
    settings = trainer.published_settings()
    if settings:
        training["method_settings"] = settings  # what the method needs to rebuild its model (published_network)
    modules = trainer.published_modules({role: trainer.ema[role].eval() for role in trainer.published})
    model = published_model(arch, cfg, {role: module.eval() for role, module in modules.items()}, training=training)
    if tc.standing_stats:
        recompute_batchnorm_stats(model, batches=tc.standing_stats, batch_size=tc.batch_size, seed=tc.seed)
    if writes is not None:
        from ganzoo.models.folder import save

        save(model, writes)
        _save_preview(trainer, fixed, dataset, writes / "samples.png", state.step)
        from ganzoo.plots import save_loss_plot

        title = f"{arch.name} / {method_name}" + (f" / {loss_name}" if loss_name else "") + f" on {tc.data}"
        save_loss_plot(writes / LOG_NAME, writes / "losses.png", title=title)
        if tracker is not None:
            from ganzoo.training.moments import save_moment_plot

            save_moment_plot(tracker.rows, writes / "moments.png", title=f"{arch.name}: moments and sparsity")
    distributed.teardown(world)  # after a barrier: every rank leaves once the main rank has written the model
    return model


def _describe_data(data: Any) -> str:
    if isinstance(data, (str, Path)):
        return str(data)
    return getattr(data, "description", "") or type(data).__name__


def _claim_run_folder(out: Path, overwrite: bool) -> None:
    """Refuse to start a fresh run over another one, unless ``overwrite``: then clear its outputs first."""
    if out.exists() and not out.is_dir():
        raise RunExistsError(f"out_dir {out} is a file; pass a folder")
    found = [name for name in RUN_FILES if (out / name).exists()] + (
        ["progress/"] if (out / "progress").is_dir() else []
    )
    if not found:
        return
    if not overwrite:
        raise RunExistsError(
            f"{out} already holds a run ({', '.join(found)}). Continue it with resume=True (CLI: --resume), start "
            "afresh with overwrite=True (--overwrite; deletes those files), or pick another out_dir."
        )
    import shutil

    for name in (*RUN_FILES, MOMENTS_NAME, "moments.png"):
        (out / name).unlink(missing_ok=True)
    shutil.rmtree(out / "progress", ignore_errors=True)


def _check_resumable(path: Path, tc: TrainConfig) -> None:
    """Refuse a resume whose settings differ from the checkpoint's, or that asks for fewer steps than it holds.

    A checkpoint already at ``steps`` resumes to publish the model it holds (the run was stopped after its last
    checkpoint and before ``model.safetensors`` was written).
    """
    _, metadata = read_checkpoint(path, with_tensors=False)  # load_checkpoint reads the tensors later
    info = checkpoint_info(path, metadata)
    diffs = tc.differences(info["train_config"])
    if diffs:
        raise GanzooError(f"cannot resume {path}: the run's settings differ ({'; '.join(diffs)})")
    if info["step"] > tc.steps:
        raise GanzooError(
            f"{path} is already at step {info['step']}; pass steps >= {info['step']} (the same steps publish the "
            "model it holds; more train further)"
        )


def _remove_stale_temporaries(out: Path) -> None:
    """Delete temporary files that a killed run left beside its outputs (``atomic_path`` names them
    ``.<file>.<random>.tmp``); only those of this run's own files, never anything else in the folder."""
    names = (*RUN_FILES, MOMENTS_NAME, "moments.png")
    for folder in (out, out / "progress"):
        if folder.is_dir():
            for tmp in folder.glob(".*.tmp"):
                if tmp.is_file() and (folder != out or any(tmp.name.startswith(f".{n}.") for n in names)):
                    tmp.unlink(missing_ok=True)


def _diverged_message(bad: list[str], values: dict[str, float], step: int, out: Path | None) -> str:
    where = (
        f"The last good checkpoint in {out / CHECKPOINT_NAME} is intact: resume from it with a lower lr "
        f"(or another loss)."
        if out is not None
        else "Try a lower lr or another loss."
    )
    return f"{' and '.join(bad)} became {values[bad[0]]} at step {step}; training stopped. {where}"


def _init_from(trainer: TrainingMethod, source: str, architecture: str, config: Any) -> None:
    """Copy a saved model's weights into the published roles (before the optimisers and EMA copies exist).

    The model must be the same architecture with the same config (a different network would not fit); roles it
    does not publish (the discriminator) start fresh, as in SRGAN's adversarial phase after pixel pre-training.
    """
    from ganzoo.loading import load

    try:
        model = load(source, device="cpu")
    except GanzooError as exc:
        raise GanzooError(f"init_from={source!r}: {exc}") from exc
    if model.architecture != architecture or model.config != config:
        raise GanzooError(
            f"init_from={source!r} is {model.architecture!r} with {model.config!r}; this run trains {architecture!r} "
            f"with {config!r}: pass the same architecture and config fields"
        )
    missing = [role for role in trainer.published if role not in model.modules]
    if missing:
        raise GanzooError(f"init_from={source!r} has roles {list(model.modules)}, not {missing}")
    with torch.no_grad():
        for role in trainer.published:
            trainer.modules[role].load_state_dict(model.modules[role].state_dict())


def _fixed_inputs(trainer: TrainingMethod, dataset: Any, seed: int, device: torch.device) -> dict[str, Any]:
    """The preview's inputs, the same in every picture: drawn from their own RNGs, so the run is unchanged."""
    n = PREVIEW_SAMPLES if trainer.config.is_image else SCATTER_SAMPLES
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed + 2))[:n]
    batch = _rows(dataset, order, device)
    return trainer.fixed_inputs(n, seed, batch)


def _rows(dataset: Any, order: torch.Tensor, device: torch.device) -> dict[str, torch.Tensor]:
    """Rows ``order`` of every field of ``dataset`` as model inputs."""
    if isinstance(dataset, InMemoryData):
        return {name: InMemoryData.convert(t[order % len(t)]).to(device) for name, t in dataset.fields.items()}
    from ganzoo.data import as_fields

    items = [as_fields(dataset[int(i)]) for i in order]
    return {name: torch.stack([torch.as_tensor(item[name]) for item in items]).to(device) for name in items[0]}


def _moment_tracker(tc: TrainConfig, dataset: Any, out: Path, state: TrainState, resume: bool) -> Any:
    from ganzoo.training.moments import MomentTracker

    # random training samples with their own RNG, so the training batches stay the same with and without tracking
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(tc.seed + 1))[:MOMENT_SAMPLES]
    reference = _rows(dataset, order, state.device)["image"].float()
    z = torch.from_numpy(latents(MOMENT_SAMPLES, state.z_dim, tc.seed + 1)).to(state.device)
    tracker = MomentTracker(reference, z, out / MOMENTS_NAME)
    if resume:
        tracker.resume(state.step)
    return tracker


@torch.no_grad()
def _save_preview(trainer: TrainingMethod, fixed: dict[str, Any], dataset: Any, path: Path, step: int) -> None:
    """The method's progress picture: a grid of images, or a scatter plot over 2-D data."""
    picture = trainer.preview(fixed)
    if picture is None:
        return
    if picture.ndim == 4:
        save_grid(picture.float(), path, nrow=getattr(trainer, "preview_nrow", 8))
    elif picture.ndim == 2 and picture.shape[1] == 2:
        from ganzoo.plots import save_scatter

        n = SCATTER_SAMPLES
        real = dataset.data[:n].float().numpy() if isinstance(dataset, InMemoryData) else np.zeros((0, 2))
        save_scatter(real, picture.cpu().numpy(), path, title=f"step {step}")
