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


def save_checkpoint(path: str | Path, run: Any) -> None:
    """Write the training state (the loop's ``TrainState``) to ``path`` atomically."""
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
    metadata = {
        "format": FORMAT,
        "step": str(run.step),
        "ema_updates": json.dumps({role: ema.updates for role, ema in run.ema.items()}),
        "train_config": json.dumps(run.config.to_dict()),
        "optimizers": json.dumps(opt_meta),
        "method_state": json.dumps(method.extra_state()),
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
    if metadata.get("format") not in FORMATS:
        raise ModelFileError(f"{path} is not a ganzoo training checkpoint (format {metadata.get('format')!r})")
    if metadata["format"] != FORMAT:
        tensors, metadata = _upgrade_format_1(tensors, metadata)
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


def load_checkpoint(path: str | Path, run: Any) -> None:
    """Restore the loop's ``TrainState`` in place from ``path``: weights strictly by role, EMA copies, optimisers,
    the method's own state, RNGs and the sampler position."""
    tensors, metadata = read_checkpoint(path)

    def part(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + ".")}

    method = run.method
    saved_roles = {k.split(".")[1] for k in tensors if k.startswith("modules.")}
    if saved_roles != set(method.modules):
        raise ModelFileError(
            f"{path} holds networks {sorted(saved_roles)} but this run builds {sorted(method.modules)}; "
            "resume with the method and architecture that wrote it"
        )
    for role, module in method.modules.items():
        module.load_state_dict(part(f"modules.{role}"), strict=True)
    updates = json.loads(metadata["ema_updates"])
    for role, ema in run.ema.items():
        ema.module.load_state_dict(part(f"ema.{role}"), strict=True)
        ema.updates = int(updates[role])
    opt_meta = json.loads(metadata["optimizers"])
    for name, optimizer in method.optimizers.items():
        optimizer.load_state_dict(_optimizer_from_flat(f"optim.{name}", tensors, opt_meta[name]))
    method.load_state_dict(part("method"), json.loads(metadata.get("method_state") or "{}"))
    torch.set_rng_state(tensors["rng.torch"])
    cuda_states = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
    if cuda_states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda_states)
    run.batches.load_state_dict(part("sampler"))
    run.step = int(metadata["step"])
