"""The on-disk format of a model: a Hub-style folder with ``config.json`` and ``model.safetensors``.

``config.json`` names the architecture (so ``load`` can pick the class before reading weights), its task, the
published roles, the config, the input spec, the plugin that provided it and the ganzoo version.
``model.safetensors`` holds the (EMA) weights and is loaded strictly: a missing, extra or mis-shaped tensor is an
error, never silently ignored. One role's weights are stored under their own names; several roles' (CycleGAN's
``g_ab`` and ``g_ba``) under ``<role>.<name>``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import safetensors.torch
import torch

from ganzoo.errors import ModelFileError
from ganzoo.fileio import atomic_path, write_json
from ganzoo.host.manager import get_host

if TYPE_CHECKING:  # type only: Model.save imports this module
    from ganzoo.models.base import Model

CONFIG_NAME = "config.json"
#: The largest config.json read: real ones are a few KB (a zoo card's metadata included).
MAX_CONFIG_BYTES = 1 << 20
KIND_NAMES = {str: "a string", dict: "an object", list: "a list"}
WEIGHTS_NAME = "model.safetensors"


def _weights_module(model: Model) -> torch.nn.Module:
    """The module whose state dict is the weights file: the one network, or all roles in a ModuleDict."""
    if len(model.modules) == 1:
        return model.module
    return torch.nn.ModuleDict(model.modules)


def save(generator: Model, folder: str | Path, *, dtype: torch.dtype | None = None) -> Path:
    """Write a model to ``folder`` as ``config.json`` + ``model.safetensors`` (each file atomically).

    ``dtype=torch.float16`` (or ``bfloat16``) stores the floating-point weights at half size; loading converts
    them back into the module's own dtype.
    """
    from ganzoo import __version__

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    host = get_host()
    arch = host.registry.architectures.get(generator.architecture)
    plugin = host.plugins.get(arch.plugin) if arch else None
    config = {
        "architecture": generator.architecture,
        "task": generator.task,
        "roles": list(generator.roles),
        "config": generator.config.to_dict(),
        "inputs": [spec.to_dict() for spec in generator.inputs],
        "outputs": [spec.to_dict() for spec in generator.outputs],
        "plugin": {
            "name": plugin.name if plugin else "",
            "distribution": plugin.distribution if plugin else "",
            "version": plugin.version if plugin else "",
        },
        "ganzoo_version": __version__,
        "training": generator.training,
    }
    # Weights first, config last: a folder with a config.json always has the weights that go with it.
    with atomic_path(folder / WEIGHTS_NAME) as tmp:
        metadata = {"format": "pt", "ganzoo": __version__}
        if dtype is None:
            safetensors.torch.save_model(_weights_module(generator), str(tmp), metadata=metadata)
        else:
            state = {
                k: (v.to(dtype) if v.is_floating_point() else v).contiguous()
                for k, v in _weights_module(generator).state_dict().items()
            }
            safetensors.torch.save_file(state, str(tmp), metadata=metadata | {"dtype": str(dtype)})
    write_json(folder / CONFIG_NAME, config)
    return folder


def read_config(folder: Path) -> dict[str, Any]:
    """Read and check a generator folder's ``config.json``."""
    path = folder / CONFIG_NAME
    if not path.is_file():
        raise ModelFileError(
            f"{folder} has no {CONFIG_NAME}. A ganzoo generator folder holds {CONFIG_NAME} and {WEIGHTS_NAME}, "
            "as written by ganzoo.save() or `ganzoo train --out-dir`."
        )
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise ModelFileError(
            f"{path} is {size:,} bytes; a model's {CONFIG_NAME} is a few KB (at most {MAX_CONFIG_BYTES:,} bytes are "
            "read). It was not written by ganzoo.save()."
        )
    try:
        config = json.loads(path.read_bytes().decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        reason = "it is nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:200]
        raise ModelFileError(f"{path} is not valid JSON ({reason}); re-save the generator.") from None
    if not isinstance(config, dict) or not isinstance(config.get("architecture"), str):
        raise ModelFileError(f"{path} does not name an 'architecture'; it was not written by ganzoo.save().")
    for key, kind in (("task", str), ("plugin", dict), ("training", dict), ("config", dict), ("roles", list)):
        if key in config and config[key] is not None and not isinstance(config[key], kind):
            raise ModelFileError(
                f"{path}: {key!r} must be {KIND_NAMES[kind]}, got {type(config[key]).__name__}; the file was edited "
                "or not written by ganzoo.save()"
            )
    return config


def _refuse_constant(name: str) -> None:
    """``json.loads`` hook: NaN and Infinity are not JSON, and no config value may be one."""
    raise ValueError(f"{name} is not a valid JSON value")
