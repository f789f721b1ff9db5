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
from ganzoo.models.strict import check_against_header, expected_tensors, read_header


def _kind(value: object) -> str:
    """A short description of a JSON value for error messages (never the whole value: it may be huge)."""
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


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
    source = str(folder / CONFIG_NAME)
    # read_config checked the types of 'config', 'training', 'plugin', 'roles' and 'task'
    cfg = arch.config.from_dict(saved.get("config") or {}, source=source)
    roles = saved.get("roles") or ["generator"]  # folders written before roles existed hold one generator
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        raise ModelFileError(f"{source}: 'roles' must be a list of network roles, got {_kind(roles)}")
    missing = [r for r in roles if r not in arch.networks]
    if missing or len(set(roles)) != len(roles):
        raise ModelFileError(
            f"{source} names network role(s) {roles} that architecture {name!r} does not have or names twice "
            f"(it has {sorted(arch.networks)}); the folder was written by another version of its plugin"
        )
    training = saved.get("training") or {}
    weights = folder / WEIGHTS_NAME
    if not weights.is_file():
        raise ModelFileError(f"{folder} has no {WEIGHTS_NAME} (or it is not a regular file); the folder is incomplete.")

    method = registry.methods.get(training.get("method")) if isinstance(training.get("method"), str) else None
    settings = training.get("method_settings") or {}
    if settings and method is None:
        raise ModelFileError(
            f"{source} was trained with method {training.get('method')!r}, whose model is rebuilt by its plugin; "
            "install the plugin that provides that method (see `ganzoo list`) and try again"
        )
    if not isinstance(settings, dict):
        raise ModelFileError(f"{source}: 'training.method_settings' must be an object, got {_kind(settings)}")

    rebuild = getattr(method.method_class, "published_network", None) if method is not None else None

    def network(role: str) -> torch.nn.Module:
        if rebuild is None:
            return arch.network(role)(cfg)
        return rebuild(arch, cfg, role, settings)

    def build() -> torch.nn.Module:
        modules = {role: network(role) for role in roles}
        return modules[roles[0]] if len(roles) == 1 else torch.nn.ModuleDict(modules)

    # Names, shapes and dtypes are checked against the file's header on a network built on the meta device, so a
    # config that does not fit its weights (or asks for a huge network) is refused before anything is allocated.
    header = read_header(weights)
    described = f"{CONFIG_NAME} (architecture {name!r}, roles {roles}, config {cfg})"
    try:
        expected = expected_tensors(build, len(header), source)
    except ModelFileError:
        raise
    except Exception as exc:  # a plugin's network that cannot be built from these values
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]  # torch appends C++ frames
        raise ModelFileError(f"{source}: architecture {name!r} cannot be built from this config ({reason})") from None
    check_against_header(expected, header, weights, described)
    module = build()
    modules = {roles[0]: module} if len(roles) == 1 else dict(module.items())
    try:
        safetensors.torch.load_model(module, str(weights), strict=True)
    except SafetensorError as exc:
        raise ModelFileError(f"{weights} is corrupt or truncated ({exc}); download or save it again.") from exc
    except RuntimeError as exc:
        raise ModelFileError(f"{weights} does not match {described}: {exc}") from exc
    model = published_model(arch, cfg, modules, training=training)
    return model.to(device or "cpu").eval()
