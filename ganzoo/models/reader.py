"""Reading a saved model folder back: ``config.json`` picks the architecture, its task the class (``Generator`` or
``Translator``), its roles the networks; ``model.safetensors`` is loaded strictly."""

from __future__ import annotations

from pathlib import Path

import safetensors.torch
import torch
from safetensors import SafetensorError

from ganzoo.errors import ModelFileError, UnknownNameError
from ganzoo.host.manager import get_host
from ganzoo.models.base import Model
from ganzoo.models.folder import CONFIG_NAME, WEIGHTS_NAME, read_config
from ganzoo.models.kinds import published_model


def load_folder(folder: str | Path, *, device: str | torch.device | None = None) -> Model:
    """Load a model saved with ``save`` (a ``Generator`` or ``Translator``, by its task); strict about weights,
    clear about what is wrong."""

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
