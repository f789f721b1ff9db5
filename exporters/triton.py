"""Write a Triton Inference Server model repository for a generator or a translator: the engine for many GPUs
and machines.

Layout (what ``tritonserver --model-repository=REPO`` reads)::

    REPO/<name>/config.pbtxt        platform onnxruntime_onnx, max_batch_size, dynamic batching, I/O specs
    REPO/<name>/1/model.onnx        the parity-checked ONNX export

The input and output specs come from the model's input spec as the exported ONNX file records it (its
``ganzoo.inputs`` / ``ganzoo.outputs`` metadata: names, data types, dims without the batch axis) and are checked
against the file's graph, so the config and the file cannot disagree. A generator takes ``z`` (and ``labels``),
a translator ``images``; the output is ``images`` (``images_out`` for translators) or ``samples``.

Where the instances run (``instance_group`` kind) follows the execution providers asked for: CPU providers only
(``providers="cpu"``, CLI ``--providers cpu``) give ``KIND_CPU``, which a CPU-only Triton can load; any GPU
provider (``cuda``, ``tensorrt``, ...) gives ``KIND_GPU``. An explicit ``instance_kind`` (CLI ``--instance-kind``)
does the same; with neither the export keeps ``KIND_GPU`` (one instance per GPU), which a Triton without GPUs
refuses to load.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ganzoo.errors import GanzooError

if TYPE_CHECKING:
    from ganzoo.config import InputSpec
    from ganzoo.models.base import Model

# ONNX TensorProto element types -> Triton's model_config DataType names
TRITON_TYPES = {1: "TYPE_FP32", 10: "TYPE_FP16", 11: "TYPE_FP64", 7: "TYPE_INT64", 6: "TYPE_INT32", 2: "TYPE_UINT8"}
# an InputSpec's dtype -> Triton's DataType name
SPEC_TYPES = {
    "float32": "TYPE_FP32",
    "float16": "TYPE_FP16",
    "float64": "TYPE_FP64",
    "int64": "TYPE_INT64",
    "int32": "TYPE_INT32",
    "uint8": "TYPE_UINT8",
}


#: ONNX Runtime execution providers (short and full names, lower case) that run on the CPU
CPU_PROVIDERS = {
    "cpu",
    "cpuexecutionprovider",
    "dnnl",
    "dnnlexecutionprovider",
    "openvino",
    "openvinoexecutionprovider",
    "xnnpack",
    "xnnpackexecutionprovider",
}


def instance_kind_for(providers: Sequence[str] | str) -> str:
    """The Triton instance kind for ONNX Runtime ``providers`` (``"cpu"``, ``"cuda,cpu"``, full names too):
    ``KIND_CPU`` when all of them run on the CPU, else ``KIND_GPU`` (a GPU provider is asked for)."""
    names = providers.split(",") if isinstance(providers, str) else list(providers)
    names = [n.strip().lower() for n in names if n.strip()]
    if not names:
        raise GanzooError("providers is empty: name at least one, e.g. 'cpu' or 'cuda,cpu'")
    return "KIND_CPU" if all(n in CPU_PROVIDERS for n in names) else "KIND_GPU"


def triton_spec(spec: InputSpec) -> dict[str, Any]:
    """One input or output spec as a Triton tensor spec: name, data type, dims without the batch axis."""
    if spec.dtype not in SPEC_TYPES:
        raise GanzooError(f"{spec.name!r} has dtype {spec.dtype!r}, which Triton config writing does not know")
    if not spec.shape:  # a per-sample scalar such as a class label: Triton wants dims [1] with reshape {}
        return {"name": spec.name, "data_type": SPEC_TYPES[spec.dtype], "dims": [1], "reshape": True}
    return {"name": spec.name, "data_type": SPEC_TYPES[spec.dtype], "dims": list(spec.shape), "reshape": False}


def _io_specs(onnx_path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(inputs, outputs) of an exported ONNX file as Triton specs, from its ``ganzoo.inputs`` / ``ganzoo.outputs``
    metadata (the graph's own inputs and outputs for files without it), checked against the graph."""
    import json

    import onnx

    from ganzoo.config import InputSpec

    model = onnx.load(str(onnx_path), load_external_data=False)
    graph, meta = model.graph, {p.key: p.value for p in model.metadata_props}

    def from_graph(value: Any) -> dict[str, Any]:
        tensor = value.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim][1:]
        if not dims:
            return {"name": value.name, "data_type": TRITON_TYPES[tensor.elem_type], "dims": [1], "reshape": True}
        return {"name": value.name, "data_type": TRITON_TYPES[tensor.elem_type], "dims": dims, "reshape": False}

    initializers = {i.name for i in graph.initializer}
    actual = (
        [from_graph(v) for v in graph.input if v.name not in initializers],
        [from_graph(v) for v in graph.output],
    )
    if "ganzoo.inputs" not in meta or "ganzoo.outputs" not in meta:
        return actual
    specs = tuple(
        [triton_spec(InputSpec.from_dict(d)) for d in json.loads(meta[key])]
        for key in ("ganzoo.inputs", "ganzoo.outputs")
    )
    if specs != actual:
        raise GanzooError(
            f"{onnx_path}: the input spec in its metadata {specs} does not match its graph {actual}; re-export it"
        )
    return specs


def config_pbtxt(
    name: str,
    inputs: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
    *,
    max_batch_size: int = 64,
    max_queue_delay_us: int = 1000,
    instance_kind: str = "KIND_GPU",
    instance_count: int = 1,
) -> str:
    """The text of ``config.pbtxt`` (protobuf text format of Triton's ``ModelConfig``)."""

    def block(specs: list[dict[str, Any]]) -> str:
        items = []
        for s in specs:
            reshape = " reshape: { shape: [ ] }" if s["reshape"] else ""
            dims = ", ".join(str(d) for d in s["dims"])
            items.append(f'  {{ name: "{s["name"]}" data_type: {s["data_type"]} dims: [ {dims} ]{reshape} }}')
        return ",\n".join(items)

    preferred = sorted({b for b in (8, 16, 32, max_batch_size) if b <= max_batch_size})
    return (
        f'name: "{name}"\n'
        'platform: "onnxruntime_onnx"\n'
        f"max_batch_size: {max_batch_size}\n"
        f"input [\n{block(inputs)}\n]\n"
        f"output [\n{block(outputs)}\n]\n"
        "dynamic_batching {\n"
        f"  preferred_batch_size: [ {', '.join(map(str, preferred))} ]\n"
        f"  max_queue_delay_microseconds: {max_queue_delay_us}\n"
        "}\n"
        f"instance_group [ {{ kind: {instance_kind} count: {instance_count} }} ]\n"
    )


def _instance_kind(instance_kind: str | None, providers: Sequence[str] | str | None) -> str:
    """The instance kind asked for, directly or through the providers (they must agree when both are given)."""
    if instance_kind is not None and instance_kind not in ("KIND_GPU", "KIND_CPU"):
        raise GanzooError(f"instance_kind must be KIND_GPU or KIND_CPU, got {instance_kind!r}")
    if providers is None:
        return instance_kind or "KIND_GPU"
    implied = instance_kind_for(providers)
    if instance_kind is not None and instance_kind != implied:
        raise GanzooError(
            f"instance_kind {instance_kind} contradicts providers {providers!r} (which run as {implied}): give one"
        )
    return implied


def export_triton(
    model: Model,
    repo: str | Path,
    *,
    name: str | None = None,
    direction: str | None = None,
    max_batch_size: int = 64,
    max_queue_delay_us: int = 1000,
    instance_kind: str | None = None,
    instance_count: int = 1,
    providers: Sequence[str] | str | None = None,
    overwrite: bool = False,
    **onnx_options: Any,
) -> Path:
    """Export ``model`` (a generator, or one direction of a translator) into the Triton model repository ``repo``
    as model ``name``; returns the model folder.

    ``direction`` picks the network of a model with several (``g_ab``); the default name is then
    ``<architecture>-<direction>``. ``instance_kind`` is ``KIND_GPU`` (one instance per GPU) or ``KIND_CPU``; left
    out, it follows ``providers`` (the ONNX Runtime providers the Triton server should use: CPU ones only ->
    ``KIND_CPU``, any GPU one -> ``KIND_GPU``), and is ``KIND_GPU`` when neither is given. ``onnx_options`` go
    to ``export_onnx`` (``uint8``, ``fp16``). The model folder appears whole or not at all; an existing one is an
    error unless ``overwrite=True``, which replaces it whole.
    """
    import re

    from ganzoo.exporters.onnx import export_onnx, pick_role

    pick_role(model, direction)  # a model with several networks names one before anything is written
    name = name or (f"{model.architecture}-{direction}" if direction else model.architecture)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise GanzooError(f"Triton model name {name!r} may only use letters, digits, '_', '.' and '-'")
    if max_batch_size < 1:
        raise GanzooError(f"max_batch_size must be at least 1, got {max_batch_size}")
    instance_kind = _instance_kind(instance_kind, providers)
    repo = Path(repo)
    target = repo / name
    if repo.exists() and not repo.is_dir():
        raise GanzooError(
            f"{repo} is a file, but the triton format writes a model repository folder: give a folder path "
            f"(CLI: -o model_repo), or use --format onnx for one file"
        )
    if target.exists() and not overwrite:
        raise GanzooError(f"{target} already exists; pass overwrite=True (CLI: --overwrite) to replace it")
    repo.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=repo))
    try:
        onnx_path = staging / "1" / "model.onnx"
        export_onnx(model, onnx_path, direction=direction, **onnx_options)
        inputs, outputs = _io_specs(onnx_path)
        text = config_pbtxt(
            name,
            inputs,
            outputs,
            max_batch_size=max_batch_size,
            max_queue_delay_us=max_queue_delay_us,
            instance_kind=instance_kind,
            instance_count=instance_count,
        )
        (staging / "config.pbtxt").write_text(text, encoding="utf-8")
        if target.exists():
            old = repo / f".{name}.old"
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            staging.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
