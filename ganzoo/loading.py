"""``ganzoo.load``: a model from a zoo short name, ``hf-hub:owner/name[@revision]`` or a saved folder.

Also ``create`` (a new, randomly initialised model of a registered architecture).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ganzoo.devices import resolve_device
from ganzoo.errors import ModelFileError, UnknownNameError
from ganzoo.host import get_host
from ganzoo.hub.download import HUB_PREFIX, HubName, download_folder, is_hub_name, verify_sha256
from ganzoo.models.base import Model
from ganzoo.models.folder import WEIGHTS_NAME
from ganzoo.models.generator import Generator
from ganzoo.models.reader import load_folder

#: File endings that make a name a path (of a file or folder), never a zoo short name.
PATH_SUFFIXES = (".safetensors", ".json", ".onnx", ".npz", ".pt", ".pth", ".ckpt", ".bin", ".pkl")


def create(architecture: str, *, seed: int | None = None, **config: Any) -> Model:
    """A new, randomly initialised model of a registered architecture (``config`` overrides its defaults): a
    ``Generator``, or a ``Translator`` for image-to-image architectures, holding the roles its default method
    publishes."""
    from ganzoo.models.kinds import published_model

    registry = get_host().registry
    arch = registry.get("architecture", architecture)
    cfg = arch.make_config(**config)
    method = registry.methods.get(arch.default_method)
    roles = method.method_class.published if method else ("generator",)
    if seed is not None:
        torch.manual_seed(seed)
    return published_model(arch, cfg, {role: arch.network(role)(cfg) for role in roles})


def load(
    name: str | Path,
    *,
    revision: str | None = None,
    device: str | torch.device | None = None,
) -> Generator:
    """Load a generator: a zoo short name (``dcgan-celeba``), ``hf-hub:owner/name[@revision]``, or a folder.

    Args:
        name: a short name from ``ganzoo list``; ``hf-hub:owner/name`` for any Hub repo (through the Hub cache,
            offline too when cached); a folder path or ``local-dir:PATH``.
        revision: the Hub revision (branch, tag or commit sha) for ``hf-hub:`` names; for a zoo name, loads that
            revision from the Hub instead of the pinned one (its sha256 is then not known and not checked).
        device: where the weights go (default: CPU); ``cuda``, ``cuda:1``, ``mps`` ... are checked first, so an
            unusable one is a ``DeviceError`` saying what to do.
    """
    if device is not None:
        device = resolve_device(device)
    text = str(name)
    if text.startswith("local-dir:"):
        return load_folder(text.removeprefix("local-dir:"), device=device)
    if is_hub_name(text):
        return load_from_hub(text, revision=revision, device=device)
    path = Path(text)
    if isinstance(name, Path) or path.is_dir():
        return load_folder(path.expanduser(), device=device)
    registry = get_host().registry
    if looks_like_path(text) and text not in registry.pretrained:
        path = path.expanduser()
        if path.is_file():
            onnx_hint = ", or run the .onnx file with ganzoo.exporters.runtime.OnnxGenerator"
            onnx = onnx_hint if path.suffix == ".onnx" else ""
            raise ModelFileError(
                f"{path} is a file, not a generator folder: pass the folder that holds config.json and "
                f"model.safetensors (e.g. {path.parent}){onnx}"
            )
        if not path.is_dir():
            raise ModelFileError(
                f"no such folder: {path} ({text!r} looks like a path, so it was not looked up as a zoo model). "
                "Check the spelling; a saved generator folder holds config.json and model.safetensors "
                "(`ganzoo list` shows the zoo model names)."
            )
        return load_folder(path, device=device)
    if text in registry.pretrained:
        return load_pretrained(registry.pretrained[text], revision=revision, device=device)
    raise UnknownNameError(
        "zoo model",
        text,
        registry.pretrained,
        "Use hf-hub:owner/name for a Hub repo, or a folder path (local-dir:PATH) for a saved generator.",
    )


def looks_like_path(text: str) -> bool:
    """Whether ``text`` is meant as a file-system path: it has a path separator, starts with ``.``, ``/`` or ``~``,
    or ends with a file suffix such as ``.safetensors``."""
    separators = {"/", os.sep, os.altsep} - {None}
    return (
        any(sep in text for sep in separators)
        or text.startswith((".", "/", "~"))
        or text.lower().endswith(PATH_SUFFIXES)
    )


def load_pretrained(entry: Any, *, revision: str | None = None, device: str | torch.device | None = None) -> Generator:
    """A zoo entry: its bundled folder when the plugin ships one, else the Hub at the pinned revision.

    The weights' sha256 (and the config's, when the entry pins it) is checked on both paths before anything is
    built from the files; a file that does not match is an error, never used.
    """
    if revision is None and entry.bundled and (Path(entry.bundled) / WEIGHTS_NAME).is_file():
        source = f"zoo model {entry.name!r} (bundled)"
        config_sha256 = getattr(entry, "config_sha256", None)
        if config_sha256:
            verify_sha256(Path(entry.bundled) / "config.json", config_sha256, source)
        verify_sha256(Path(entry.bundled) / WEIGHTS_NAME, entry.sha256, source)
        generator = load_folder(entry.bundled, device=device)
        generator.training["revision"] = entry.revision
    else:
        pinned = revision in (None, entry.revision)
        generator = load_from_hub(
            f"hf-hub:{entry.repo_id}",
            revision=revision or entry.revision,
            sha256=entry.sha256 if pinned else None,
            config_sha256=getattr(entry, "config_sha256", None) if pinned else None,
            device=device,
        )
    if generator.architecture != entry.architecture:
        raise ModelFileError(
            f"zoo model {entry.name!r} should be a {entry.architecture!r} generator, but its config.json says "
            f"{generator.architecture!r}"
        )
    generator.training["zoo_name"] = entry.name
    return generator


def load_from_hub(
    text: str,
    *,
    revision: str | None = None,
    sha256: str | None = None,
    config_sha256: str | None = None,
    device: Any = None,
) -> Generator:
    """``ganzoo.load("hf-hub:owner/name", revision=...)``; ``sha256`` (of model.safetensors) and
    ``config_sha256`` (of config.json) are checked if given, before the network is built."""

    name = HubName.parse(text, revision)
    folder = download_folder(name)
    if config_sha256:
        verify_sha256(folder / "config.json", config_sha256, f"{name.repo_id}@{name.revision or 'main'}")
    if sha256:
        verify_sha256(folder / "model.safetensors", sha256, f"{name.repo_id}@{name.revision or 'main'}")
    generator = load_folder(folder, device=device)
    generator.training.setdefault("source", f"{HUB_PREFIX}{name.repo_id}")
    generator.training["revision"] = folder.name  # the snapshot folder is named after the commit sha
    return generator
