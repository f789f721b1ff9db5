"""Resumable training checkpoints as one safetensors file (never pickle), keyed by role.

Format 2 tensors: ``modules.<role>.*`` (every network the method built), ``ema.<role>.*`` (the EMA copies of the
published roles), ``optim.<name>.<i>.<key>`` (optimiser state), ``method.*`` (the method's own tensors), RNG
states (``rng.*``) and the batch sampler's position (``sampler.*``). Everything else (step, configs, optimiser
hyperparameters, EMA counts, the method's JSON state) is JSON in the safetensors metadata. The file is written to
a temporary name and renamed, so a crash mid-write leaves the previous checkpoint intact.

Format 1 (ganzoo 0.1: ``generator.*``, ``discriminator.*``, ``ema.*``, ``opt_g``/``opt_d``) still loads: its
parts read as roles ``generator`` and ``discriminator`` of the ``adversarial`` method.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from safetensors import SafetensorError

from ganzoo.errors import ModelFileError
from ganzoo.fileio import atomic_path

FORMAT = "ganzoo-checkpoint-2"
FORMATS = ("ganzoo-checkpoint-1", FORMAT)
# format 1 prefix -> format 2 prefix
FORMAT_1_NAMES = {
    "generator.": "modules.generator.",
    "discriminator.": "modules.discriminator.",
    "ema.": "ema.generator.",
    "opt_g.": "optim.generator.",
    "opt_d.": "optim.discriminator.",
}


def _optimizer_to_flat(prefix: str, optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, values in state["state"].items():
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.{index}.{name}"] = value
            else:
                scalars.setdefault(str(index), {})[name] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _optimizer_from_flat(prefix: str, tensors: dict[str, torch.Tensor], meta: dict) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            index, name = key[len(prefix) + 1 :].split(".", 1)
            state.setdefault(int(index), {})[name] = value
    for index, values in meta["scalars"].items():
        state.setdefault(int(index), {}).update(values)
    return {"state": state, "param_groups": meta["param_groups"]}


def _match_layouts(optimizer: torch.optim.Optimizer) -> None:
    """Give each per-parameter state tensor its parameter's memory layout again.

    Checkpoints store tensors contiguous, but a channels_last convolution weight's Adam moments are channels_last
    too, and the fused Adam kernel walks a parameter and its moments as flat memory: with mismatched strides a
    resumed run would silently update the wrong elements.
    """
    for group in optimizer.param_groups:
        for param in group["params"]:
            for key, value in optimizer.state.get(param, {}).items():
                if isinstance(value, torch.Tensor) and value.shape == param.shape and value.stride() != param.stride():
                    optimizer.state[param][key] = torch.empty_like(param, dtype=value.dtype).copy_(value)


def save_checkpoint(
    path: str | Path, run: Any, *, rng_states: list[torch.Tensor] | None = None, fingerprints: list | None = None
) -> None:
    """Write the training state (the loop's ``TrainState``) to ``path`` atomically.

    Under torchrun (``rng_states`` of every rank, ``fingerprints`` of every rank's weights) the file also holds
    each rank's RNG state (``rng.rank.<i>``), the world size and the fingerprints that showed the ranks agree.
    """
    method = run.method
    tensors: dict[str, torch.Tensor] = {}
    for role, module in method.modules.items():
        tensors.update({f"modules.{role}.{k}": v for k, v in module.state_dict().items()})
    for role, ema in run.ema.items():
        tensors.update({f"ema.{role}.{k}": v for k, v in ema.module.state_dict().items()})
    opt_meta = {}
    for name, optimizer in method.optimizers.items():
        flat, opt_meta[name] = _optimizer_to_flat(f"optim.{name}", optimizer)
        tensors.update(flat)
    tensors.update({f"method.{k}": v for k, v in method.state_dict().items()})
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for i, rng in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = rng
    tensors.update({f"sampler.{k}": v for k, v in run.batches.state_dict().items()})
    world_size = len(rng_states) if rng_states else 1
    if world_size > 1:
        tensors.update({f"rng.rank.{i}": state for i, state in enumerate(rng_states)})
    metadata = {
        "format": FORMAT,
        "step": str(run.step),
        "ema_updates": json.dumps({role: ema.updates for role, ema in run.ema.items()}),
        "train_config": json.dumps(run.config.to_dict()),
        "optimizers": json.dumps(opt_meta),
        "method_state": json.dumps(method.extra_state()),
        "world_size": str(world_size),
    }
    if fingerprints is not None and world_size > 1:
        metadata["rank_fingerprints"] = json.dumps(fingerprints)
    # safetensors wants contiguous CPU tensors that share no memory
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        safetensors.torch.save_file(tensors, str(tmp), metadata=metadata)


def read_checkpoint(path: str | Path, *, with_tensors: bool = True) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read a checkpoint's tensors and metadata, with a clear error for a missing or corrupt file
    (``with_tensors=False``: the metadata alone, from the header, and no tensors)."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"no checkpoint at {path}; train with out_dir={path.parent} first, or drop resume")
    try:
        with safetensors.safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            names = f.keys() if with_tensors else []
            tensors = {k: f.get_tensor(k) for k in names}
    except (SafetensorError, OSError) as exc:
        raise ModelFileError(f"checkpoint {path} is corrupt or truncated ({exc})") from exc
    if metadata.get("format") not in FORMATS:
        raise ModelFileError(f"{path} is not a ganzoo training checkpoint (format {metadata.get('format')!r})")
    if metadata["format"] != FORMAT:
        try:
            tensors, metadata = _upgrade_format_1(tensors, metadata)
        except (KeyError, ValueError, TypeError, RecursionError) as exc:
            raise ModelFileError(f"format-1 checkpoint {path} is damaged ({type(exc).__name__}: {exc})") from None
    return tensors, metadata


def _upgrade_format_1(tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> tuple[dict, dict[str, str]]:
    """A format-1 checkpoint in format-2 names: roles ``generator``/``discriminator``, method ``adversarial``."""
    renamed = {}
    for key, value in tensors.items():
        prefix = next((p for p in FORMAT_1_NAMES if key.startswith(p)), None)
        renamed[FORMAT_1_NAMES[prefix] + key[len(prefix) :] if prefix else key] = value
    optimizers = json.loads(metadata["optimizers"])
    config = json.loads(metadata["train_config"])
    config.setdefault("method", "adversarial")
    upgraded = {
        **metadata,
        "format": FORMAT,
        "ema_updates": json.dumps({"generator": int(metadata["ema_updates"])}),
        "optimizers": json.dumps({"generator": optimizers["opt_g"], "discriminator": optimizers["opt_d"]}),
        "train_config": json.dumps(config),
        "method_state": "{}",
    }
    return renamed, upgraded


#: Largest step a checkpoint may claim: far beyond any real run, small enough to be a plain int everywhere.
MAX_STEP = 10**12


def _json(path: Path, metadata: dict[str, str], key: str, kind: type, default: Any = None) -> Any:
    """One JSON value of the metadata, of the given type, or a ``ModelFileError`` naming the key."""
    if key not in metadata:
        if default is not None:
            return default
        raise ModelFileError(f"checkpoint {path} has no {key!r} entry; it is damaged or not a ganzoo checkpoint")
    try:
        value = json.loads(metadata[key])
    except (ValueError, RecursionError):
        raise ModelFileError(f"checkpoint {path}: {key!r} is not valid JSON; the file is damaged") from None
    if not isinstance(value, kind):
        raise ModelFileError(
            f"checkpoint {path}: {key!r} must be a JSON {kind.__name__}, got {type(value).__name__}; the file is "
            "damaged"
        )
    return value


def checkpoint_info(path: str | Path, metadata: dict[str, str]) -> dict[str, Any]:
    """The checkpoint's metadata parsed and type-checked: ``step``, ``train_config``, ``ema_updates``,
    ``optimizers``, ``method_state``. A missing or malformed entry is a ``ModelFileError`` naming it."""
    path = Path(path)
    step_text = metadata.get("step", "")
    if not (step_text.isascii() and step_text.isdigit() and len(step_text) <= 13 and int(step_text) <= MAX_STEP):
        raise ModelFileError(
            f"checkpoint {path}: step {step_text[:40]!r} is not a step count (0 to {MAX_STEP}); the file is damaged"
        )
    info = {
        "step": int(step_text),
        "train_config": _json(path, metadata, "train_config", dict),
        "ema_updates": _json(path, metadata, "ema_updates", dict),
        "optimizers": _json(path, metadata, "optimizers", dict),
        "method_state": _json(path, metadata, "method_state", dict, default={}),
    }
    for role, updates in info["ema_updates"].items():
        if not isinstance(updates, int) or isinstance(updates, bool) or not 0 <= updates <= MAX_STEP:
            raise ModelFileError(f"checkpoint {path}: EMA update count of {role!r} is {updates!r}, not a count")
    for name, meta in info["optimizers"].items():
        well_formed = isinstance(meta, dict) and isinstance(meta.get("param_groups"), list)
        if not (well_formed and isinstance(meta.get("scalars"), dict)):
            raise ModelFileError(f"checkpoint {path}: the state of optimiser {name!r} is malformed")
    return info


def _check_tensors(path: Path, part: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], what: str) -> None:
    """``part`` must hold exactly ``expected``'s tensors, each of the same shape and dtype."""
    missing = sorted(set(expected) - set(part))
    extra = sorted(set(part) - set(expected))
    wrong = [
        f"{k}: {list(part[k].shape)} {part[k].dtype} instead of {list(v.shape)} {v.dtype}"
        for k, v in expected.items()
        if k in part and (part[k].shape != v.shape or part[k].dtype != v.dtype)
    ]
    if missing or extra or wrong:
        details = "; ".join(
            f"{label}: {', '.join(items[:3])}{' ...' if len(items) > 3 else ''}"
            for label, items in (("missing", missing), ("unexpected", extra), ("mismatched", wrong))
            if items
        )
        raise ModelFileError(
            f"checkpoint {path} does not fit this run's {what} ({details}); resume with the architecture, config "
            "and method that wrote it"
        )


def _check_optimizer(path: Path, name: str, optimizer: torch.optim.Optimizer, tensors: dict, meta: dict) -> None:
    """The saved optimiser state must have this optimiser's groups, and per-parameter tensors that are scalars
    or of the parameter's shape (Adam's moments, SGD's momentum)."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    saved_groups = meta["param_groups"]
    sizes = [len(g.get("params", [])) if isinstance(g, dict) else -1 for g in saved_groups]
    if sizes != [len(g["params"]) for g in optimizer.param_groups]:
        raise ModelFileError(
            f"checkpoint {path}: optimiser {name!r} has parameter groups of sizes {sizes}, this run's has "
            f"{[len(g['params']) for g in optimizer.param_groups]}"
        )
    prefix = f"optim.{name}."
    for key, value in tensors.items():
        if not key.startswith(prefix):
            continue
        index, _, field = key[len(prefix) :].partition(".")
        if not index.isdigit() or int(index) >= len(params) or not field:
            raise ModelFileError(f"checkpoint {path}: {key} names no parameter of optimiser {name!r}")
        if value.numel() != 1 and value.shape != params[int(index)].shape:
            raise ModelFileError(
                f"checkpoint {path}: {key} has shape {list(value.shape)}, "
                f"its parameter {list(params[int(index)].shape)}"
            )
    for index in meta["scalars"]:
        if not (isinstance(index, str) and index.isdigit() and int(index) < len(params)):
            raise ModelFileError(f"checkpoint {path}: optimiser {name!r} state names a parameter {index!r} it lacks")


def validate_checkpoint(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str], run: Any) -> dict:
    """Check everything ``load_checkpoint`` will restore, before anything is restored: a malformed or foreign
    checkpoint is refused with the reason, and a resume never starts from a half-restored state."""
    info = checkpoint_info(path, metadata)
    method = run.method

    def part(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + ".")}

    saved_roles = {k.split(".")[1] for k in tensors if k.startswith("modules.")}
    if saved_roles != set(method.modules):
        raise ModelFileError(
            f"{path} holds networks {sorted(saved_roles)} but this run builds {sorted(method.modules)}; "
            "resume with the method and architecture that wrote it"
        )
    for role, module in method.modules.items():
        _check_tensors(path, part(f"modules.{role}"), module.state_dict(), f"{role!r} network")
    for role, ema in run.ema.items():
        _check_tensors(path, part(f"ema.{role}"), ema.module.state_dict(), f"EMA copy of {role!r}")
        if role not in info["ema_updates"]:
            raise ModelFileError(f"checkpoint {path} has no EMA update count for {role!r}")
    for name, optimizer in method.optimizers.items():
        if name not in info["optimizers"]:
            raise ModelFileError(f"checkpoint {path} has no state for optimiser {name!r}")
        _check_optimizer(path, name, optimizer, tensors, info["optimizers"][name])
    world = getattr(run, "world", None)
    size = world.size if world is not None else 1
    saved_size = metadata.get("world_size", "1")
    if saved_size != str(size):
        raise ModelFileError(
            f"checkpoint {path} was written by a run of {saved_size[:12]} process(es); this one has {size}. Resume "
            f"with the same world size (torchrun --nproc_per_node={saved_size[:12]} ...): the global batch, the data "
            "order and every rank's RNG state depend on it"
        )
    reference = torch.get_rng_state()
    rng_keys = ["rng.torch"] + ([f"rng.rank.{i}" for i in range(size)] if size > 1 else [])
    for key in rng_keys:
        rng = tensors.get(key)
        if rng is None or rng.dtype != reference.dtype or rng.shape != reference.shape:
            raise ModelFileError(f"checkpoint {path} has no valid torch RNG state ({key}); it is damaged")
    problem = run.batches.check_state(part("sampler"))
    if problem:
        raise ModelFileError(f"checkpoint {path}: the data sampler's state {problem}; resume with the same data")
    return info


def load_checkpoint(path: str | Path, run: Any) -> None:
    """Restore the loop's ``TrainState`` in place from ``path``: weights strictly by role, EMA copies, optimisers,
    the method's own state, RNGs and the sampler position. Everything is checked first (``validate_checkpoint``)."""
    path = Path(path)
    tensors, metadata = read_checkpoint(path)
    info = validate_checkpoint(path, tensors, metadata, run)

    def part(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + ".")}

    method = run.method
    try:
        for role, module in method.modules.items():
            module.load_state_dict(part(f"modules.{role}"), strict=True)
        for role, ema in run.ema.items():
            ema.module.load_state_dict(part(f"ema.{role}"), strict=True)
            ema.updates = int(info["ema_updates"][role])
        for name, optimizer in method.optimizers.items():
            optimizer.load_state_dict(_optimizer_from_flat(f"optim.{name}", tensors, info["optimizers"][name]))
            _match_layouts(optimizer)
        method.load_state_dict(part("method"), info["method_state"])
    except (KeyError, ValueError, TypeError, IndexError, RuntimeError) as exc:
        # the checks above cover the core's parts; a method's own state is checked by the method's loader
        raise ModelFileError(f"checkpoint {path} cannot be restored into this run ({exc})") from exc
    world = getattr(run, "world", None)
    torch.set_rng_state(tensors[f"rng.rank.{world.rank}" if world is not None and world.enabled else "rng.torch"])
    cuda_states = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
    if cuda_states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda_states)
    run.batches.load_state_dict(part("sampler"))
    run.step = info["step"]
