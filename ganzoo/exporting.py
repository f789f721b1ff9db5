"""``ganzoo.export``: hand a generator to a registered export format (``onnx``, ``triton``, or a plugin's)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ganzoo.errors import GanzooError
from ganzoo.host.manager import get_registry
from ganzoo.models.base import Model
from ganzoo.models.generator import Generator


def export(
    generator: Generator | str | Path,
    path: str | Path,
    *,
    format: str = "onnx",
    overwrite: bool = False,
    **options: Any,
) -> Path:
    """Export ``generator`` (a ``Generator``, a saved folder or a zoo name) to ``path`` in ``format``.

    ``options`` go to the format's exporter, e.g. ``uint8=True`` / ``fp16=True`` for ``onnx`` or
    ``max_batch_size=64`` for ``triton``; ``direction="g_ab"`` picks one network of a translator with several.
    An existing target (the ``.onnx`` file, the Triton model folder) is an error unless ``overwrite=True``, which
    is passed on to the exporter. Returns the path written.
    """
    exporter = get_registry().get("exporter", format)
    if _accepts(exporter.export, "overwrite"):
        options["overwrite"] = overwrite
    elif not overwrite and Path(path).exists():  # an exporter that knows no overwrite: refuse existing targets here
        raise GanzooError(f"{path} already exists; pass overwrite=True (CLI: --overwrite) to replace it")
    if not isinstance(generator, Model):  # a Generator or a Translator is exported as it is
        from ganzoo.loading import load

        generator = load(generator)
    return exporter.export(generator, path, **options)


def _accepts(function: Callable[..., Any], name: str) -> bool:
    """Whether ``function`` takes the keyword argument ``name`` (by name or through ``**kwargs``)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # a builtin or C callable without a signature: assume it does
        return True
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
