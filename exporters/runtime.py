"""``OnnxGenerator``: sample an exported generator with ONNX Runtime. numpy + onnxruntime only, never torch.

The same seed gives the same images as ``ganzoo.load(...).sample(n, seed=...)``: both draw their latents from
``numpy.random.default_rng(seed)`` (``ganzoo.sampling.latents``, which imports no torch either).

Providers are explicit. ONNX Runtime silently falls back to the CPU when a GPU provider fails to load (a missing
CUDA or cuDNN library, a CPU-only ``onnxruntime`` wheel); here that is an error unless the caller allows it.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ganzoo.errors import ModelFileError, ProviderError, RuntimeMissingError
from ganzoo.sampling import latents

GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "ROCMExecutionProvider", "DmlExecutionProvider")
RUNTIME_DISTRIBUTIONS = ("onnxruntime", "onnxruntime-gpu")


def installed_runtimes() -> list[str]:
    """Which ONNX Runtime distributions are installed (``onnxruntime``, ``onnxruntime-gpu``)."""
    found = []
    for name in RUNTIME_DISTRIBUTIONS:
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        found.append(name)
    return found


def import_onnxruntime() -> Any:
    """``import onnxruntime`` with clear messages for the two broken installs: none, or both wheels."""
    runtimes = installed_runtimes()
    if len(runtimes) > 1:
        # Both wheels install the same `onnxruntime` package: whichever came last overwrote the other's files.
        warnings.warn(
            "both onnxruntime and onnxruntime-gpu are installed; they share one `onnxruntime` module and the "
            "result depends on install order. Keep one: pip uninstall -y onnxruntime onnxruntime-gpu && "
            "pip install 'ganzoo[gpu]' (or 'ganzoo[cpu]').",
            stacklevel=3,
        )
    try:
        import onnxruntime
    except ImportError as exc:
        raise RuntimeMissingError(
            "ONNX Runtime is not installed: pip install 'ganzoo[cpu]' (onnxruntime) or 'ganzoo[gpu]' "
            f"(onnxruntime-gpu) ({exc})"
        ) from exc
    return onnxruntime


def resolve_providers(requested: Sequence[str] | str | None, available: Sequence[str]) -> list[str]:
    """The provider list to hand ONNX Runtime.

    ``None`` means "the best there is": CUDA then CPU when CUDA is available, else CPU. Short names (``cuda``,
    ``tensorrt``, ``cpu``) are accepted. A requested provider that this onnxruntime build does not have is an error.
    """
    aliases = {
        "cpu": "CPUExecutionProvider",
        "cuda": "CUDAExecutionProvider",
        "tensorrt": "TensorrtExecutionProvider",
        "trt": "TensorrtExecutionProvider",
        "rocm": "ROCMExecutionProvider",
        "dml": "DmlExecutionProvider",
    }
    if requested is None:
        return (
            ["CUDAExecutionProvider", "CPUExecutionProvider"]
            if "CUDAExecutionProvider" in available
            else ["CPUExecutionProvider"]
        )
    if isinstance(requested, str):
        requested = [p for p in requested.split(",") if p]
    providers = [aliases.get(p.lower(), p) for p in requested]
    missing = [p for p in providers if p not in available]
    if missing:
        hint = (
            " This is the CPU-only onnxruntime wheel: pip uninstall -y onnxruntime && pip install 'ganzoo[gpu]'."
            if any(p in GPU_PROVIDERS for p in missing) and "CUDAExecutionProvider" not in available
            else ""
        )
        raise ProviderError(
            f"execution provider(s) {missing} not available; this onnxruntime has {list(available)}.{hint}"
        )
    return providers


class OnnxGenerator:
    """An exported generator run by ONNX Runtime.

    >>> g = OnnxGenerator("model.onnx")                  # CUDA then CPU where CUDA is available, else CPU
    >>> images = g.sample(16, seed=0)                    # uint8 (16, 64, 64, 3)
    >>> g = OnnxGenerator("model.onnx", providers=["cuda"])        # CUDA or a clear error
    """

    def __init__(
        self,
        path: str | Path,
        providers: Sequence[str] | str | None = None,
        *,
        allow_cpu_fallback: bool = False,
        threads: int | None = None,
    ) -> None:
        """Open ``path`` (an ``.onnx`` file, or a folder holding ``model.onnx``).

        Args:
            providers: execution providers in order of preference (``None``: CUDA then CPU if CUDA exists).
            allow_cpu_fallback: accept a session that ended up on the CPU although a GPU provider was asked for.
            threads: ONNX Runtime intra-op threads (default: ``OMP_NUM_THREADS`` or ONNX Runtime's own choice).
        """
        ort = import_onnxruntime()
        path = Path(path)
        if path.is_dir():
            path = path / "model.onnx"
        if not path.is_file():
            raise ModelFileError(f"no ONNX file at {path}; write one with `ganzoo export MODEL -o {path}`")
        self.path = path
        wanted = resolve_providers(providers, ort.get_available_providers())
        options = ort.SessionOptions()
        threads = threads or int(os.environ.get("OMP_NUM_THREADS", "0") or 0)
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(path), sess_options=options, providers=wanted)
        except Exception as exc:  # onnxruntime raises its own exception types for invalid or truncated files
            raise ModelFileError(f"ONNX Runtime cannot load {path}: {exc}") from exc
        self.providers: list[str] = self.session.get_providers()
        lost = [p for p in wanted if p in GPU_PROVIDERS and p not in self.providers]
        if lost and not allow_cpu_fallback:
            raise ProviderError(
                f"{lost} failed to load (ONNX Runtime fell back to {self.providers}); usually a missing CUDA/cuDNN "
                "library: see onnxruntime's CUDA requirements, or pass allow_cpu_fallback=True to accept the CPU."
            )
        self.metadata: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        self.inputs = {i.name: i for i in self.session.get_inputs()}
        output = self.session.get_outputs()[0]
        self.output_name: str = output.name
        if "z" not in self.inputs:
            raise ModelFileError(f"{path} has no input named 'z'; it was not exported by ganzoo")
        z_dim = self.inputs["z"].shape[1]
        self.z_dim: int = int(self.metadata.get("ganzoo.z_dim", z_dim if isinstance(z_dim, int) else 0))
        self.task: str = self.metadata.get("ganzoo.task", "unconditional")
        self.uint8_output: bool = self.metadata.get("ganzoo.output_dtype") == "uint8"
        self.is_image: bool = self.output_name == "images"
        shape = self.metadata.get("ganzoo.output_shape")
        self.output_shape: tuple[int, ...] = tuple(json.loads(shape)) if shape else tuple(output.shape[1:])

    @property
    def graph_output_shape(self) -> tuple[int, ...]:
        """One sample's shape as the graph emits it: ``output_shape``, or its NHWC form for uint8 exports."""
        if self.uint8_output and len(self.output_shape) == 3:
            c, h, w = self.output_shape
            return (h, w, c)
        return self.output_shape

    def __repr__(self) -> str:
        return f"OnnxGenerator({str(self.path)!r}, providers={self.providers})"

    @property
    def architecture(self) -> str:
        """The architecture recorded at export time."""
        return self.metadata.get("ganzoo.architecture", "unknown")

    def run(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """One ONNX Runtime call on explicit inputs; returns the graph's output as is."""
        feeds = {"z": np.ascontiguousarray(z, dtype=np.float32)}
        if "labels" in self.inputs:
            if labels is None:
                raise ValueError("this generator is class-conditional: pass labels=(n,) int64 class indices")
            feeds["labels"] = np.ascontiguousarray(labels, dtype=np.int64)
        return self.session.run([self.output_name], feeds)[0]

    def sample(
        self,
        n: int = 1,
        *,
        seed: int | None = None,
        z: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        output: Literal["numpy", "raw", "pil"] = "numpy",
        batch_size: int = 256,
    ) -> np.ndarray | list:
        """Draw ``n`` samples; ``seed`` gives the same latents (and images) as the PyTorch ``Generator``.

        ``output``: ``"numpy"`` uint8 NHWC images, ``"raw"`` the graph's own output (float32 NCHW in [-1, 1]
        unless exported with ``--uint8``), ``"pil"`` a list of PIL images.
        """
        if output not in ("numpy", "raw", "pil"):
            raise ValueError(f"output must be 'numpy', 'raw' or 'pil', got {output!r}")
        if z is None:
            z = latents(n, self.z_dim, seed)
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must have shape (n, {self.z_dim}), got {z.shape}")
        chunks = [
            self.run(z[i : i + batch_size], None if labels is None else labels[i : i + batch_size])
            for i in range(0, len(z), batch_size)
        ]
        raw = np.concatenate(chunks)
        if output == "raw":
            return raw
        if not self.is_image:
            raise ValueError(f"output={output!r} needs an image generator; use output='raw'")
        images = raw if self.uint8_output else to_uint8_nhwc(raw)
        if output == "numpy":
            return images
        from PIL import Image

        return [Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a) for a in images]


def to_uint8_nhwc(images: np.ndarray) -> np.ndarray:
    """float images in [-1, 1], NCHW -> uint8 NHWC (the same rounding as ``ganzoo.sampling.to_uint8``)."""
    scaled = np.rint((np.clip(images, -1.0, 1.0) + 1.0) * 127.5)
    return scaled.astype(np.uint8).transpose(0, 2, 3, 1)
