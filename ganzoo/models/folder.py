"""The on-disk format of a generator: a Hub-style folder with ``config.json`` and ``model.safetensors``.

``config.json`` names the architecture (so ``load`` can pick the class before reading weights), its config, the
plugin that provided it and the ganzoo version. ``model.safetensors`` holds the (EMA) generator weights and is
loaded strictly: a missing, extra or mis-shaped tensor is an error, never silently ignored.
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
from ganzoo.models.generator import Generator

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


def save(generator: Generator, folder: str | Path, *, dtype: torch.dtype | None = None) -> Path:
    """Write ``generator`` to ``folder`` as ``config.json`` + ``model.safetensors`` (each file atomically).

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
        "config": generator.config.to_dict(),
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
            safetensors.torch.save_model(generator.module, str(tmp), metadata=metadata)
        else:
            state = {
                k: (v.to(dtype) if v.is_floating_point() else v).contiguous()
                for k, v in generator.module.state_dict().items()
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


def load_folder(folder: str | Path, *, device: str | torch.device | None = None) -> Generator:
    """Load a generator saved with ``save``; strict about weights, clear about what is wrong."""
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
    module = arch.generator(cfg)
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
    generator = Generator(module, name, cfg, task=arch.task, training=saved.get("training"))
    return generator.to(device or "cpu").eval()
