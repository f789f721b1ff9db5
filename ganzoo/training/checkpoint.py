"""Resumable training checkpoints as one safetensors file (never pickle).

Tensors: ``generator.*``, ``discriminator.*``, ``ema.*``, optimiser state (``opt_g.<i>.<name>``), RNG states
(``rng.*``) and the batch sampler's position (``sampler.*``). Everything else (step, configs, optimiser
hyperparameters) is JSON in the safetensors metadata. The file is written to a temporary name and renamed, so
a crash mid-write leaves the previous checkpoint intact.
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

FORMAT = "ganzoo-checkpoint-1"


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


def save_checkpoint(path: str | Path, state: Any) -> None:
    """Write the training state (a ``TrainState``) to ``path`` atomically."""
    tensors: dict[str, torch.Tensor] = {}
    for prefix, module in (
        ("generator", state.generator),
        ("discriminator", state.discriminator),
        ("ema", state.ema.module),
    ):
        tensors.update({f"{prefix}.{k}": v for k, v in module.state_dict().items()})
    opt_meta = {}
    for prefix, optimizer in (("opt_g", state.opt_g), ("opt_d", state.opt_d)):
        flat, opt_meta[prefix] = _optimizer_to_flat(prefix, optimizer)
        tensors.update(flat)
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for i, rng in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = rng
    tensors.update({f"sampler.{k}": v for k, v in state.batches.state_dict().items()})
    metadata = {
        "format": FORMAT,
        "step": str(state.step),
        "ema_updates": str(state.ema.updates),
        "train_config": json.dumps(state.config.to_dict()),
        "optimizers": json.dumps(opt_meta),
    }
    # safetensors wants contiguous CPU tensors that share no memory
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        safetensors.torch.save_file(tensors, str(tmp), metadata=metadata)


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read a checkpoint's tensors and metadata, with a clear error for a missing or corrupt file."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"no checkpoint at {path}; train with out_dir={path.parent} first, or drop resume")
    try:
        with safetensors.safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open has no __iter__
    except SafetensorError as exc:
        raise ModelFileError(f"checkpoint {path} is corrupt or truncated ({exc})") from exc
    if metadata.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a ganzoo training checkpoint (format {metadata.get('format')!r})")
    return tensors, metadata


def load_checkpoint(path: str | Path, state: Any) -> None:
    """Restore a ``TrainState`` in place from ``path`` (weights strictly, then optimisers, RNGs and sampler)."""
    tensors, metadata = read_checkpoint(path)

    def part(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + ".")}

    state.generator.load_state_dict(part("generator"), strict=True)
    state.discriminator.load_state_dict(part("discriminator"), strict=True)
    state.ema.module.load_state_dict(part("ema"), strict=True)
    state.ema.updates = int(metadata["ema_updates"])
    opt_meta = json.loads(metadata["optimizers"])
    state.opt_g.load_state_dict(_optimizer_from_flat("opt_g", tensors, opt_meta["opt_g"]))
    state.opt_d.load_state_dict(_optimizer_from_flat("opt_d", tensors, opt_meta["opt_d"]))
    torch.set_rng_state(tensors["rng.torch"])
    cuda_states = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
    if cuda_states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda_states)
    state.batches.load_state_dict(part("sampler"))
    state.step = int(metadata["step"])
