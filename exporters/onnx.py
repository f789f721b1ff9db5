"""Export a model (a ``Generator`` or one direction of a ``Translator``) to one self-contained ONNX file, checked
and parity-tested on the way out.

The file's interface comes from the model's input spec (``model.inputs`` / ``model.outputs``, see
``ganzoo.config.InputSpec``), so every runtime (``OnnxGenerator``, ``OnnxTranslator``, ``ganzoo serve``, Triton) can
drive any model from its metadata alone:

- inputs, in spec order: ``z`` float32 ``(N, z_dim)``; class-conditional models add ``labels`` int64 ``(N,)``;
  translators take ``images`` float32 ``(N, C, H, W)`` in [-1, 1];
- output: ``images`` float32 NCHW in [-1, 1] (``uint8=True``: uint8 NHWC in [0, 255], converted in the graph),
  ``images_out`` for translators (ONNX names must be unique: ``images`` is their input);
  models of non-image samples (the 2-D MLP) name their output ``samples``;
- the batch axis is dynamic (every other axis is fixed by the spec);
- ``metadata_props`` describe the model (architecture, task, role, ``ganzoo.inputs`` / ``ganzoo.outputs``: the
  specs as JSON lists, image size, output range, versions).

Export goes through ``torch.onnx.export(..., dynamo=True)``; ``onnx.checker`` runs a full check and ONNX Runtime
must reproduce PyTorch's output for the same inputs (batch 1 and a larger batch) before the file is written.
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

    from ganzoo.config import InputSpec
    from ganzoo.models.base import Model

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


def output_name(model: Model) -> str:
    """The graph's output name, from the output spec: ``images`` for image generators, ``samples`` for other
    samples, and ``images_out`` for translators: ONNX forbids a graph input and output of the same name, so an
    output named like an input gets ``_out`` appended."""
    name = model.outputs[0].name
    return f"{name}_out" if name in input_names(model) else name


def input_names(model: Model) -> list[str]:
    """The graph's input names, in the input spec's order (``z``; ``z``, ``labels``; or ``images``)."""
    return [spec.name for spec in model.inputs]


def pick_role(model: Model, direction: str | None) -> str:
    """The role (network) to export: ``direction`` if given, else the model's only one.

    A model with several (a CycleGAN's ``g_ab`` and ``g_ba``) needs ``direction``; the error names them.
    """
    roles = model.roles
    if direction is None:
        if len(roles) > 1:
            raise ExportError(
                f"{model.architecture!r} has {len(roles)} directions ({', '.join(roles)}); export one at a time with "
                f"direction={roles[0]!r} (CLI: --direction {roles[0]})"
            )
        return roles[0]
    if direction not in roles:
        from ganzoo.models.translator import DIRECTION_ALIASES

        direction = DIRECTION_ALIASES.get(direction, direction)
    if direction not in roles:
        raise ExportError(f"unknown direction {direction!r}; {model.architecture!r} has {', '.join(roles)}")
    return direction


def graph_outputs(model: Model, *, uint8: bool) -> list[InputSpec]:
    """The output spec as the exported graph emits it: named by ``output_name``, and uint8 NHWC in [0, 255] for
    ``uint8``."""
    import dataclasses

    spec = dataclasses.replace(model.outputs[0], name=output_name(model))
    if uint8 and spec.kind == "image":
        c, h, w = spec.shape
        spec = dataclasses.replace(spec, dtype="uint8", shape=(h, w, c), value_range=(0, 255))
    return [spec]


def _wrapped(module: torch.nn.Module, uint8: bool, fp16: bool) -> torch.nn.Module:
    """The module that is traced: the network plus the optional dtype and uint8-NHWC conversions."""
    import torch

    class Exported(torch.nn.Module):
        def __init__(self, module: torch.nn.Module) -> None:
            super().__init__()
            self.module = module

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            # fp16 runs the network in half precision but keeps the float32 interface, so clients never change
            if fp16:
                inputs = tuple(x.half() if x.is_floating_point() else x for x in inputs)
            x = self.module(*inputs).float()
            if uint8:
                x = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1)
            return x

    return Exported(module.half() if fp16 else module).eval()


def onnx_network(network: torch.nn.Module) -> torch.nn.Module:
    """The part of a published network that ONNX can express: ``network.onnx_network()`` where the network says
    (xICFG's approximator, without the gradient steps through D that ONNX has no operator for), else all of it."""
    part = getattr(network, "onnx_network", None)
    return part() if callable(part) else network


def metadata(
    model: Model, *, uint8: bool, fp16: bool, source_revision: str | None, role: str | None = None
) -> dict[str, str]:
    """The ``metadata_props`` that make an exported file describe itself (all values are strings).

    ``ganzoo.inputs`` and ``ganzoo.outputs`` are JSON lists of ``InputSpec.to_dict()``; the outputs describe the
    graph as written (uint8 NHWC with ``uint8``). ``ganzoo.role`` names the exported network (e.g. ``g_ab``).
    """
    from ganzoo.version import __version__

    config = model.config
    out = model.outputs[0]
    props = {
        "ganzoo.architecture": model.architecture,
        "ganzoo.task": model.task,
        "ganzoo.role": role or model.roles[0],
        "ganzoo.z_dim": str(config.z_dim),
        "ganzoo.inputs": json.dumps([spec.to_dict() for spec in model.inputs]),
        "ganzoo.outputs": json.dumps([spec.to_dict() for spec in graph_outputs(model, uint8=uint8)]),
        "ganzoo.output_shape": json.dumps(list(model.output_shape)),
        "ganzoo.output": output_name(model),
        "ganzoo.output_layout": "NHWC" if uint8 else "NCHW",
        "ganzoo.output_dtype": "uint8" if uint8 else "float32",
        "ganzoo.output_range": "[0, 255]" if uint8 else ("[-1, 1]" if out.kind == "image" else "unbounded"),
        "ganzoo.precision": "fp16" if fp16 else "fp32",
        "ganzoo.config": json.dumps(config.to_dict()),
        "ganzoo.version": __version__,
        "ganzoo.source_revision": source_revision or str(model.training.get("revision", "local")),
    }
    note = getattr(model.modules[role or model.roles[0]], "onnx_note", "")
    if note:  # the graph is not the whole PyTorch model (see onnx_network): say so in the file itself
        props["ganzoo.exported_part"] = note
    if any(spec.kind == "latent" for spec in model.inputs):
        props["ganzoo.latents"] = "numpy.random.default_rng(seed).standard_normal((n, z_dim), dtype=float32)"
    if config.is_image:
        props["ganzoo.image_size"] = str(config.output_shape[-1])
        props["ganzoo.channels"] = str(config.output_shape[0])
    return props


def example_inputs(specs: tuple[InputSpec, ...] | list[InputSpec], n: int, seed: int) -> tuple[np.ndarray, ...]:
    """``n`` rows of every input in ``specs``: latents as ``Generator.sample(seed=)`` draws them, labels and
    images uniform over their value range, anything else standard normal (floats) or zeros (integers)."""
    from ganzoo.sampling import latents

    rng = np.random.default_rng(seed)
    arrays = []
    for spec in specs:
        if spec.kind == "latent" and spec.prior in ("normal", "") and len(spec.shape) == 1:
            arrays.append(latents(n, spec.shape[0], seed))
        elif spec.kind in ("label", "code") and spec.dtype.startswith("int") and spec.value_range is not None:
            low, high = (int(v) for v in spec.value_range)
            arrays.append(rng.integers(low, high + 1, size=(n, *spec.shape), dtype=np.int64).astype(spec.dtype))
        elif np.issubdtype(np.dtype(spec.dtype), np.floating):
            if spec.value_range is not None:
                low, high = spec.value_range
                arrays.append(rng.uniform(low, high, size=(n, *spec.shape)).astype(spec.dtype))
            else:
                arrays.append(rng.standard_normal((n, *spec.shape)).astype(spec.dtype))
        else:
            arrays.append(np.zeros((n, *spec.shape), dtype=spec.dtype))
    return tuple(arrays)


def parity_batches(model: Model) -> tuple[int, int]:
    """Batch 1 and a larger batch: 64 for latents and small images, fewer for big input images (a power of two
    keeping one batch of inputs near 2**20 values, at least 2), so the check stays quick on a CPU."""
    row = max(int(np.prod(spec.shape, dtype=np.int64)) for spec in model.inputs)
    large = PARITY_BATCHES[-1]
    while large > 2 and large * row > (1 << 20):
        large //= 2
    return (PARITY_BATCHES[0], large)


def _trace(module: torch.nn.Module, model: Model, names: list[str], out: str) -> onnx.ModelProto:
    """``torch.onnx.export(dynamo=True)`` with a dynamic batch axis on every input."""
    import torch

    example = tuple(torch.from_numpy(a) for a in example_inputs(model.inputs, 2, seed=0))
    batch = torch.export.Dim("batch", min=1, max=1 << 20)
    dynamic_shapes = (tuple({0: batch} for _ in example),)  # forward(*inputs): one varargs tuple
    # the exporter logs a line for every torchvision op it cannot find and warns about its own deprecations
    quiet = logging.getLogger("torch.onnx")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            # several inputs share the one batch axis: the exporter notes that it names it once
            warnings.filterwarnings("ignore", message=r".*shares the same shape constraints", category=UserWarning)
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
        raise ExportError(f"torch.onnx.export failed for {model.architecture!r}: {exc}") from exc
    finally:
        quiet.setLevel(level)
    return program.model_proto


def _parity(proto: onnx.ModelProto, module: torch.nn.Module, model: Model, names: list[str]) -> dict:
    """Max |ONNX Runtime - PyTorch| at each of ``parity_batches(model)`` for the same inputs."""
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    diffs = {}
    for batch in parity_batches(model):
        inputs = example_inputs(model.inputs, batch, seed=batch)
        (got,) = session.run(None, dict(zip(names, inputs, strict=True)))
        with torch.no_grad():
            want = module(*(torch.from_numpy(a) for a in inputs)).numpy()
        if got.shape != want.shape:
            raise ExportError(f"ONNX output shape {got.shape} differs from PyTorch's {want.shape} at batch {batch}")
        diffs[batch] = float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64))))
    return diffs


def export_onnx(
    model: Model,
    path: str | Path,
    *,
    direction: str | None = None,
    uint8: bool = False,
    fp16: bool = False,
    check_parity: bool = True,
    source_revision: str | None = None,
    overwrite: bool = False,
) -> ExportReport:
    """Export ``model`` (a ``Generator`` or a ``Translator``) to ``path`` (one ``.onnx`` file); returns what was
    written and the parity numbers. Inputs, outputs and metadata come from the model's input spec.

    Args:
        direction: the network to export for a model with several (a CycleGAN's ``g_ab`` or ``g_ba``); a model
            with one needs none.
        uint8: put the conversion to uint8 NHWC images inside the graph (what a viewer or a PNG encoder wants).
        fp16: run the network in half precision (for GPUs); inputs and outputs stay float32.
        check_parity: compare ONNX Runtime with PyTorch at batch 1 and a larger batch (64, fewer for big input
            images) and refuse to write a file that differs by more than the tolerance (1e-4 for fp32).
        source_revision: recorded in the metadata (e.g. the Hub revision the weights came from).
        overwrite: replace an existing file at ``path`` (atomically: a failed export leaves it intact); without it
            an existing file is an ``ExportError``. A folder at ``path`` is always refused.
    """
    import copy

    import onnx

    path = Path(path)
    check_target(path, overwrite=overwrite)
    role = pick_role(model, direction)
    if getattr(model.config, "test_dropout", False):
        raise ExportError(
            f"{model.architecture!r} has test_dropout=True: its outputs are random at inference, so no ONNX graph "
            "can match them. Save a copy with test_dropout=False (eval-mode inference) to export it."
        )
    if uint8 and model.outputs[0].kind != "image":
        raise ExportError(f"--uint8 needs an image generator; {model.architecture!r} makes non-image samples")
    names, out = input_names(model), output_name(model)
    # export a copy on CPU: .half() and .eval() must not change the caller's model
    network = copy.deepcopy(onnx_network(model.modules[role])).to("cpu").eval()
    module = _wrapped(network, uint8, fp16)
    proto = _trace(module, model, names, out)

    props = metadata(model, uint8=uint8, fp16=fp16, source_revision=source_revision, role=role)
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
        reference = (
            _wrapped(copy.deepcopy(onnx_network(model.modules[role])).to("cpu"), uint8, fp16=False) if fp16 else module
        )
        report.parity = _parity(proto, reference, model, names)
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
