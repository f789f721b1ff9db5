"""Export formats and serving (installed as ``ganzoo.exporters``), registered like any third-party plugin.

- ``onnx``: one self-contained, parity-checked ``.onnx`` file (``exporters/onnx.py``);
- ``triton``: a Triton Inference Server model repository (``exporters/triton.py``);
- ``OnnxGenerator`` and ``OnnxTranslator`` (``exporters/runtime.py``) and ``ganzoo serve`` (``exporters/server.py``)
  run the exported files with numpy + onnxruntime only.

Heavy imports (torch, onnx) happen inside the export functions, so loading the plugin stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ganzoo.hookspecs import hookimpl

if TYPE_CHECKING:
    from ganzoo.models.generator import Generator


def export_onnx(generator: Generator, path: str | Path, **options: Any) -> Path:
    """The ``onnx`` format: see ``ganzoo.exporters.onnx.export_onnx`` for the options (``overwrite`` included)."""
    from ganzoo.exporters.onnx import export_onnx as export

    return export(generator, path, **options).path


def export_triton(generator: Generator, path: str | Path, **options: Any) -> Path:
    """The ``triton`` format: see ``ganzoo.exporters.triton.export_triton`` for the options (``overwrite`` too)."""
    from ganzoo.exporters.triton import export_triton as export

    return export(generator, path, **options)


@hookimpl
def register_exporters(register: Callable[..., None]) -> None:
    """The built-in export formats."""
    register("onnx", export_onnx, description="one .onnx file, dynamic batch, parity-checked against PyTorch")
    register("triton", export_triton, description="Triton Inference Server model repository (config.pbtxt + ONNX)")
