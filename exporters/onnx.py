"""Export a generator to one self-contained ONNX file, checked and parity-tested on the way out.

The file's interface is fixed so that every runtime (``OnnxGenerator``, ``ganzoo serve``, Triton) can drive any
generator from its metadata alone:

- inputs: ``z`` float32 ``(N, z_dim)``; class-conditional models add ``labels`` int64 ``(N,)``;
- output: ``images`` float32 NCHW in [-1, 1] (``uint8=True``: uint8 NHWC in [0, 255], converted in the graph);
  generators of non-image samples (the 2-D MLP) name their output ``samples``;
- the batch axis is dynamic;
- ``metadata_props`` describe the model (architecture, z_dim, task, image size, output range, versions).

Export goes through ``torch.onnx.export(..., dynamo=True)``; ``onnx.checker`` runs a full check and ONNX Runtime
must reproduce PyTorch's output for the same latents (batch 1 and 64) before the file is written.
"""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ganzoo.errors import ExportError
from ganzoo.fileio import atomic_path

if TYPE_CHECKING:
    import onnx
    import torch

    from ganzoo.models.generator import Generator

OPSET = 18
PARITY_BATCHES = (1, 64)
# Tolerances of the export-time parity check: fp32 must agree to 1e-4 (the bound); fp16 keeps ~3 digits;
# uint8 may differ by one level where a value sits on a rounding boundary.
ATOL = {"fp32": 1e-4, "fp16": 2e-2, "uint8": 1.0}


@dataclass
class ExportReport:
    """What ``export_onnx`` wrote and measured."""

    path: Path
    inputs: dict[str, list[Any]]
    output: str
    metadata: dict[str, str]
    parity: dict[int, float] = field(default_factory=dict)
    tolerance: float = 0.0
    size_bytes: int = 0

    def __str__(self) -> str:
        diffs = ", ".join(f"batch {b}: {d:.2e}" for b, d in self.parity.items())
        return f"{self.path} ({self.size_bytes / 1e6:.1f} MB); ONNX Runtime vs PyTorch max |diff| {diffs}"


def output_name(generator: Generator) -> str:
    """``images`` for image generators, ``samples`` for anything else (e.g. 2-D points)."""
    return "images" if generator.config.is_image else "samples"


def input_names(generator: Generator) -> list[str]:
    """The graph's input names for the generator's task."""
    if generator.task == "class-conditional":
        return ["z", "labels"]
    if generator.task == "image-to-image":
        raise ExportError("image-to-image generators cannot be exported yet: their input is an image, not z")
    return ["z"]


def _wrapped(generator: Generator, uint8: bool, fp16: bool) -> torch.nn.Module:
    """The module that is traced: the generator plus the optional dtype and uint8-NHWC conversions."""
    import torch

    class Exported(torch.nn.Module):
        def __init__(self, module: torch.nn.Module) -> None:
            super().__init__()
            self.module = module

        def forward(self, z: torch.Tensor, *extra: torch.Tensor) -> torch.Tensor:
            # fp16 runs the network in half precision but keeps the float32 interface, so clients never change
            x = self.module(z.half() if fp16 else z, *extra).float()
            if uint8:
                x = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1)
            return x

    module = generator.module.half() if fp16 else generator.module
    return Exported(module).eval()


def metadata(generator: Generator, *, uint8: bool, fp16: bool, source_revision: str | None) -> dict[str, str]:
    """The ``metadata_props`` that make an exported file describe itself (all values are strings)."""
    from ganzoo.version import __version__

    config = generator.config
    props = {
        "ganzoo.architecture": generator.architecture,
        "ganzoo.task": generator.task,
        "ganzoo.z_dim": str(generator.z_dim),
        "ganzoo.output_shape": json.dumps(list(generator.output_shape)),
        "ganzoo.output": output_name(generator),
        "ganzoo.output_layout": "NHWC" if uint8 else "NCHW",
        "ganzoo.output_dtype": "uint8" if uint8 else "float32",
        "ganzoo.output_range": "[0, 255]" if uint8 else ("[-1, 1]" if config.is_image else "unbounded"),
        "ganzoo.precision": "fp16" if fp16 else "fp32",
        "ganzoo.latents": "numpy.random.default_rng(seed).standard_normal((n, z_dim), dtype=float32)",
        "ganzoo.config": json.dumps(config.to_dict()),
        "ganzoo.version": __version__,
        "ganzoo.source_revision": source_revision or str(generator.training.get("revision", "local")),
    }
    if config.is_image:
        props["ganzoo.image_size"] = str(config.output_shape[-1])
        props["ganzoo.channels"] = str(config.output_shape[0])
    return props


def _example_inputs(generator: Generator, n: int, seed: int) -> tuple[np.ndarray, ...]:
    from ganzoo.sampling import latents

    z = latents(n, generator.z_dim, seed)
    if generator.task == "class-conditional":
        classes = int(getattr(generator.config, "num_classes", 1))
        labels = np.random.default_rng(seed).integers(0, classes, size=n, dtype=np.int64)
        return z, labels
    return (z,)


def _trace(module: torch.nn.Module, generator: Generator, names: list[str], out: str) -> onnx.ModelProto:
    """``torch.onnx.export(dynamo=True)`` with a dynamic batch axis on every input."""
    import torch

    example = tuple(torch.from_numpy(a) for a in _example_inputs(generator, 2, seed=0))
    batch = torch.export.Dim("batch", min=1, max=1 << 20)
    dynamic_shapes = tuple({0: batch} for _ in example)
    # the exporter logs a line for every torchvision op it cannot find and warns about its own deprecations
    quiet = logging.getLogger("torch.onnx")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            program = torch.onnx.export(
                module,
                example,
                input_names=names,
                output_names=[out],
                dynamic_shapes=dynamic_shapes,
                opset_version=OPSET,
                dynamo=True,
                verbose=False,
            )
    except ImportError as exc:
        raise ExportError(f"ONNX export needs onnx and onnxscript: pip install 'ganzoo[cpu]' ({exc})") from exc
    except Exception as exc:
        raise ExportError(f"torch.onnx.export failed for {generator.architecture!r}: {exc}") from exc
    finally:
        quiet.setLevel(level)
    return program.model_proto


def _parity(proto: onnx.ModelProto, module: torch.nn.Module, generator: Generator, names: list[str]) -> dict:
    """Max |ONNX Runtime - PyTorch| at each of ``PARITY_BATCHES`` for the same latents."""
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    diffs = {}
    for batch in PARITY_BATCHES:
        inputs = _example_inputs(generator, batch, seed=batch)
        (got,) = session.run(None, dict(zip(names, inputs, strict=True)))
        with torch.no_grad():
            want = module(*(torch.from_numpy(a) for a in inputs)).numpy()
        if got.shape != want.shape:
            raise ExportError(f"ONNX output shape {got.shape} differs from PyTorch's {want.shape} at batch {batch}")
        diffs[batch] = float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64))))
    return diffs


def export_onnx(
    generator: Generator,
    path: str | Path,
    *,
    uint8: bool = False,
    fp16: bool = False,
    check_parity: bool = True,
    source_revision: str | None = None,
    overwrite: bool = False,
) -> ExportReport:
    """Export ``generator`` to ``path`` (one ``.onnx`` file); returns what was written and the parity numbers.

    Args:
        uint8: put the conversion to uint8 NHWC images inside the graph (what a viewer or a PNG encoder wants).
        fp16: run the network in half precision (for GPUs); inputs and outputs stay float32.
        check_parity: compare ONNX Runtime with PyTorch at batch 1 and 64 and refuse to write a file that differs
            by more than the tolerance (1e-4 for fp32).
        source_revision: recorded in the metadata (e.g. the Hub revision the weights came from).
        overwrite: replace an existing file at ``path`` (atomically: a failed export leaves it intact); without it
            an existing file is an ``ExportError``. A folder at ``path`` is always refused.
    """
    import copy

    import onnx

    path = Path(path)
    check_target(path, overwrite=overwrite)
    if uint8 and not generator.config.is_image:
        raise ExportError(f"--uint8 needs an image generator; {generator.architecture!r} makes non-image samples")
    names, out = input_names(generator), output_name(generator)
    # export a copy on CPU: .half() and .eval() must not change the caller's generator
    source = copy.deepcopy(generator)
    source.module.to("cpu").eval()
    module = _wrapped(source, uint8, fp16)
    proto = _trace(module, source, names, out)

    props = metadata(generator, uint8=uint8, fp16=fp16, source_revision=source_revision)
    del proto.metadata_props[:]
    for key, value in props.items():
        proto.metadata_props.add(key=key, value=value)
    proto.producer_name = "ganzoo"
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"the exported graph failed onnx.checker: {exc}") from exc

    precision = "uint8" if uint8 else ("fp16" if fp16 else "fp32")
    report = ExportReport(path, inputs={}, output=out, metadata=props, tolerance=ATOL[precision])
    for value in proto.graph.input:
        dims = [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
        report.inputs[value.name] = dims
    if check_parity:
        # fp16: PyTorch's CPU half kernels are no reference, so the fp16 graph is compared with fp32 PyTorch
        reference = _wrapped(copy.deepcopy(generator).to("cpu"), uint8, fp16=False) if fp16 else module
        report.parity = _parity(proto, reference, source, names)
        worst = max(report.parity.values())
        if worst > report.tolerance:
            raise ExportError(
                f"ONNX Runtime differs from PyTorch by {worst:.3g} (> {report.tolerance:g}); nothing was written "
                f"to {path}. Per batch: {report.parity}"
            )
    check_target(path, overwrite=overwrite)  # again: the file may have appeared while the export ran
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        onnx.save_model(proto, str(tmp))
    report.size_bytes = path.stat().st_size
    return report


def check_target(path: Path, *, overwrite: bool) -> None:
    """Refuse a folder at ``path``, and an existing file unless ``overwrite`` (what ``ganzoo export -o`` checks)."""
    if path.is_dir():
        raise ExportError(
            f"{path} is a folder, but the onnx format writes one file: give a file path such as "
            f"{path / 'model.onnx'} (CLI: -o {path / 'model.onnx'}), or use --format triton for a model repository"
        )
    if path.exists() and not overwrite:
        raise ExportError(f"{path} already exists; pass overwrite=True (CLI: --overwrite) to replace it")


def read_metadata(path: str | Path) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX file, without loading its weights into a session."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in model.metadata_props}
