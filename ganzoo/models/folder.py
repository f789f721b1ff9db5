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
from typing import Any

import safetensors.torch
import torch
from safetensors import SafetensorError

from ganzoo.errors import ModelFileError, UnknownNameError
from ganzoo.fileio import atomic_path, write_json
from ganzoo.host.manager import get_host
from ganzoo.models.base import Model

CONFIG_NAME = "config.json"
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
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path} is not valid JSON ({exc}); re-save the generator.") from exc
    if not isinstance(config, dict) or not isinstance(config.get("architecture"), str):
        raise ModelFileError(f"{path} does not name an 'architecture'; it was not written by ganzoo.save().")
    return config


def load_folder(folder: str | Path, *, device: str | torch.device | None = None) -> Model:
    """Load a model saved with ``save`` (a ``Generator`` or ``Translator``, by its task); strict about weights,
    clear about what is wrong."""
    from ganzoo.models import published_model

    folder = Path(folder)
    if not folder.is_dir():
        raise ModelFileError(f"no such generator folder: {folder}")
    saved = read_config(folder)
    registry = get_host().registry
    name = saved["architecture"]
    if name not in registry.architectures:
        plugin = saved.get("plugin") or {}
        dist = plugin.get("distribution") or ""
        hint = (
            f"It was saved with plugin {plugin.get('name')!r} from {dist} {plugin.get('version', '')}: "
            f"install it (pip install {dist}) and try again."
            if dist
            else "Install the plugin that provides it."
        )
        raise UnknownNameError("architecture", name, registry.architectures, hint)
    arch = registry.architectures[name]
    cfg = arch.config.from_dict(saved.get("config") or {}, source=str(folder / CONFIG_NAME))
    roles = saved.get("roles") or ["generator"]  # folders written before roles existed hold one generator
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise ModelFileError(f"{folder / CONFIG_NAME}: 'roles' must be a list of network roles, got {roles!r}")
    missing = [r for r in roles if r not in arch.networks]
    if missing:
        raise ModelFileError(
            f"{folder / CONFIG_NAME} names network role(s) {missing} that architecture {name!r} does not have "
            f"(it has {sorted(arch.networks)}); the folder was written by another version of its plugin"
        )
    modules = {role: arch.network(role)(cfg) for role in roles}
    module = modules[roles[0]] if len(roles) == 1 else torch.nn.ModuleDict(modules)
    weights = folder / WEIGHTS_NAME
    if not weights.is_file():
        raise ModelFileError(f"{folder} has no {WEIGHTS_NAME}; the folder is incomplete.")
    try:
        safetensors.torch.load_model(module, str(weights), strict=True)
    except SafetensorError as exc:
        raise ModelFileError(f"{weights} is corrupt or truncated ({exc}); download or save it again.") from exc
    except RuntimeError as exc:
        raise ModelFileError(
            f"{weights} does not match {CONFIG_NAME} (architecture {name!r}, config {cfg}): {exc}"
        ) from exc
    model = published_model(arch, cfg, modules, training=saved.get("training"))
    return model.to(device or "cpu").eval()
