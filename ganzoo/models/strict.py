"""Strict loading: a weights file is checked against the network its config describes *before* anything is built.

A saved model is two files that must agree: ``config.json`` (from which the network is built) and
``model.safetensors`` (its weights). A careless or hostile pair can disagree in ways that ``load_state_dict`` does
not catch (int64 or bool weights are silently cast to float) or that cost a lot before any check runs (a config with
``z_dim: 10**9`` or ``layers: 10**6`` allocates tens of GB while the network is built). So loading goes:

1. read the weights file's header (names, dtypes, shapes; ``safe_open`` reads no tensor data);
2. build the network on PyTorch's ``meta`` device, which allocates no memory, and stop the build as soon as it
   registers many more tensors than the header holds (a config with a million layers is refused after a few
   thousand registrations, not after building them all);
3. compare every tensor's name, shape and dtype with the header, naming each difference;
4. only then build the network for real and load the weights.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from torch.overrides import TorchFunctionMode

from ganzoo.errors import ModelFileError

#: safetensors dtype names of floating-point tensors: a float parameter may be stored in any of them (fp16 zoo
#: weights are converted back on load); every other tensor must be stored in exactly its own dtype.
FLOAT_DTYPES = {"F16", "BF16", "F32", "F64"}
TORCH_TO_SAFETENSORS = {
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float32: "F32",
    torch.float64: "F64",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}


class _SkipMetaInitialisation(TorchFunctionMode):
    """Skip in-place operations (``normal_``, ``kaiming_uniform_``, ``fill_`` ...) on meta tensors.

    They have no values to change, and PyTorch runs them on the meta device through its Python reference
    decompositions, whose first use imports ``torch._dynamo`` (over a second of a cold ``ganzoo.load``).
    """

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name.endswith("_") and not name.startswith("__"):
            target = args[0] if args else next(iter(kwargs.values()), None)  # nn.init passes tensor=...
            if getattr(target, "is_meta", False):
                return target
        return func(*args, **kwargs)


class _TooManyTensorsError(Exception):
    """Raised from a registration hook to stop building a network far larger than its weights file."""


def read_header(path: Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    """``{name: (dtype, shape)}`` of a safetensors file, read from its header alone (no tensor data)."""
    try:
        with safe_open(str(path), framework="pt") as f:
            slices = {name: f.get_slice(name) for name in f.keys()}  # noqa: SIM118 - safe_open has no __iter__
            return {name: (part.get_dtype(), tuple(part.get_shape())) for name, part in slices.items()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(f"{path} is corrupt or truncated ({exc}); download or save it again.") from exc


@contextlib.contextmanager
def _registration_limit(max_tensors: int, max_modules: int) -> Iterator[None]:
    """Raise ``_TooManyTensorsError`` once more than ``max_tensors`` parameters/buffers or ``max_modules`` submodules
    have been registered inside the block (torch's global registration hooks; removed on exit)."""
    counts = {"tensors": 0, "modules": 0}

    def count(kind: str, limit: int) -> Callable[..., None]:
        def hook(*args: object) -> None:
            counts[kind] += 1
            if counts[kind] > limit:
                raise _TooManyTensorsError(kind)

        return hook

    from torch.nn.modules import module as nn_module

    handles = [
        nn_module.register_module_parameter_registration_hook(count("tensors", max_tensors)),
        nn_module.register_module_buffer_registration_hook(count("tensors", max_tensors)),
        nn_module.register_module_module_registration_hook(count("modules", max_modules)),
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def expected_tensors(
    build: Callable[[], torch.nn.Module], header_size: int, source: str
) -> dict[str, tuple[torch.dtype, tuple[int, ...]]]:
    """The ``{name: (dtype, shape)}`` of the state dict ``build()`` makes, built on the meta device (no memory).

    ``header_size`` (the weights file's tensor count) bounds the build: a network registering far more tensors
    cannot match the file, so it is refused before it is finished.
    """
    # Generous bounds: spectral-norm parametrisations and activations register tensors and modules beyond the
    # state dict, but never 4x / 16x as many.
    max_tensors, max_modules = 4 * header_size + 64, 16 * header_size + 256
    try:
        try:
            with _registration_limit(max_tensors, max_modules), torch.device("meta"), _SkipMetaInitialisation():
                module = build()
        except (NotImplementedError, RuntimeError) as exc:
            if "meta" not in str(exc).lower():
                raise
            # a third-party network whose constructor computes on its tensors (``.item()``, numpy) cannot be built
            # on the meta device: build it on the CPU, still bounded in tensor count
            with _registration_limit(max_tensors, max_modules):
                module = build()
    except _TooManyTensorsError as exc:
        raise ModelFileError(
            f"{source}: the config describes a network with more {exc} than the weights file holds tensors "
            f"({header_size}); config.json and model.safetensors do not belong together (re-save the model)"
        ) from None
    return {name: (t.dtype, tuple(t.shape)) for name, t in module.state_dict().items()}


def check_against_header(
    expected: dict[str, tuple[torch.dtype, tuple[int, ...]]],
    header: dict[str, tuple[str, tuple[int, ...]]],
    weights: Path,
    described: str,
) -> None:
    """Refuse a weights file whose tensor names, shapes or dtypes differ from the network's (all differences are
    named, up to a few of each kind)."""
    missing = sorted(set(expected) - set(header))
    unexpected = sorted(set(header) - set(expected))
    shapes, dtypes = [], []
    for name in sorted(set(expected) & set(header)):
        dtype, shape = expected[name]
        stored_dtype, stored_shape = header[name]
        if stored_shape != shape:
            shapes.append(f"{name}: file {list(stored_shape)}, network {list(shape)}")
        wanted = TORCH_TO_SAFETENSORS.get(dtype, str(dtype))
        ok = stored_dtype in FLOAT_DTYPES if dtype.is_floating_point else stored_dtype == wanted
        if not ok:
            dtypes.append(f"{name}: file {stored_dtype}, network {wanted}")
    problems = []
    for label, items in (
        ("missing tensors", missing),
        ("unexpected tensors", unexpected),
        ("shape mismatches", shapes),
        ("dtype mismatches", dtypes),
    ):
        if items:
            more = f" (and {len(items) - 4} more)" if len(items) > 4 else ""
            problems.append(f"{label} ({len(items)}): {'; '.join(items[:4])}{more}")
    if problems:
        raise ModelFileError(
            f"{weights} does not match {described}: {'. '.join(problems)}. The weights and config.json must "
            "come from the same save; re-save or re-download the model."
        )
