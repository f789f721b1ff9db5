"""``ganzoo.export``: hand a generator to a registered export format (``onnx``, ``triton``, or a plugin's)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganzoo.host.manager import get_registry
from ganzoo.models.generator import Generator


def export(generator: Generator | str | Path, path: str | Path, *, format: str = "onnx", **options: Any) -> Path:
    """Export ``generator`` (a ``Generator``, a saved folder or a zoo name) to ``path`` in ``format``.

    ``options`` go to the format's exporter, e.g. ``uint8=True`` / ``fp16=True`` for ``onnx`` or
    ``max_batch_size=64`` for ``triton``. Returns the path written.
    """
    exporter = get_registry().get("exporter", format)
    if not isinstance(generator, Generator):
        from ganzoo.loading import load

        generator = load(generator)
    return exporter.export(generator, path, **options)
