"""``OnnxGenerator`` / ``OnnxTranslator``: run exported models with ONNX Runtime. numpy + onnxruntime only, never
torch. ``open_model(path)`` picks the class from the file's input spec (the ``ganzoo.inputs`` metadata).

The same seed gives the same images as ``ganzoo.load(...).sample(n, seed=...)``: both draw their latents from
``numpy.random.default_rng(seed)`` (``ganzoo.sampling.latents``, which imports no torch either).

Providers are explicit. ONNX Runtime silently falls back to the CPU when a GPU provider fails to load (a missing
CUDA or cuDNN library, a CPU-only ``onnxruntime`` wheel); here that is an error unless the caller allows it.

Why this module is long: it is the whole torch-free client for both model kinds (the session and its providers,
the spec, latents, labels and codes for generators, images and inpainting masks for translators, with input checks
that give clear errors); the mask parsing lives in ``ganzoo.masks``'s numpy core.
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

from ganzoo.config import InputSpec
from ganzoo.errors import ModelFileError, ProviderError, RuntimeMissingError
from ganzoo.sampling import draw_codes, latents

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


#: ONNX Runtime's type names -> numpy dtype names (the ``dtype`` of an ``InputSpec``)
ORT_DTYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(uint8)": "uint8",
}


def read_specs(
    metadata: dict[str, str], inputs: Sequence[Any], outputs: Sequence[Any]
) -> tuple[tuple[InputSpec, ...], tuple[InputSpec, ...]]:
    """The (inputs, outputs) specs of an exported file.

    They come from the ``ganzoo.inputs`` / ``ganzoo.outputs`` metadata; files written before those keys existed
    get specs read off the graph (``inputs`` / ``outputs``: ONNX Runtime's ``NodeArg`` lists): ``z`` is a
    normal latent, ``labels`` a class label, ``images`` an image in [-1, 1].
    """

    def parsed(key: str) -> tuple[InputSpec, ...] | None:
        if key not in metadata:
            return None
        try:
            return tuple(InputSpec.from_dict(d) for d in json.loads(metadata[key]))
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            raise ModelFileError(f"the file's {key} metadata is not a list of input specs ({exc})") from None

    def guessed(arg: Any, is_output: bool) -> InputSpec:
        dtype = ORT_DTYPES.get(arg.type, "float32")
        shape = tuple(d if isinstance(d, int) else -1 for d in arg.shape[1:])
        if arg.name == "z" and not is_output:
            return InputSpec("z", dtype, shape, "latent", prior="normal")
        if arg.name == "labels" and not is_output:
            classes = json.loads(metadata.get("ganzoo.config", "{}")).get("num_classes")
            return InputSpec("labels", dtype, shape, "label", value_range=(0, classes - 1) if classes else None)
        if arg.name.startswith("images"):
            return InputSpec(arg.name, dtype, shape, "image", value_range=(0, 255) if dtype == "uint8" else (-1, 1))
        return InputSpec(arg.name, dtype, shape, "sample")

    specs_in = parsed("ganzoo.inputs") or tuple(guessed(a, False) for a in inputs)
    specs_out = parsed("ganzoo.outputs") or tuple(guessed(a, True) for a in outputs)
    return specs_in, specs_out


class OnnxModel:
    """What ``OnnxGenerator`` and ``OnnxTranslator`` share: the session, its providers, metadata and specs.

    ``open_model(path)`` returns the right subclass for a file.
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
        self._open(path, providers, allow_cpu_fallback=allow_cpu_fallback, threads=threads)
        self._setup()

    def _open(
        self, path: str | Path, providers: Sequence[str] | str | None, *, allow_cpu_fallback: bool, threads: int | None
    ) -> None:
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
        try:
            self._read_metadata()
        except (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError) as exc:
            # a hand-edited or hostile file: its metadata is not what ganzoo's export writes
            raise ModelFileError(f"{path}: its ganzoo metadata is malformed ({type(exc).__name__}: {exc})") from None

    def _read_metadata(self) -> None:
        """Specs, output shape and task from the file's metadata (or its graph, for files written before)."""
        #: the graph's inputs by name (ONNX Runtime ``NodeArg``s)
        self.inputs = {i.name: i for i in self.session.get_inputs()}
        output = self.session.get_outputs()[0]
        self.output_name: str = output.name
        #: the input spec (``ganzoo.inputs``) and the graph's output spec (``ganzoo.outputs``)
        self.input_specs, self.output_specs = read_specs(self.metadata, self.session.get_inputs(), [output])
        self.uint8_output: bool = (
            self.metadata.get("ganzoo.output_dtype", self.output_specs[0].dtype if self.output_specs else "") == "uint8"
        )
        self.is_image: bool = bool(self.output_specs) and self.output_specs[0].kind == "image"
        shape = self.metadata.get("ganzoo.output_shape")
        self.output_shape: tuple[int, ...] = tuple(json.loads(shape)) if shape else tuple(output.shape[1:])
        self.task: str = self.metadata.get("ganzoo.task", "image-to-image" if self.takes_images else "unconditional")

    def _setup(self) -> None:
        """Check that the file is what the subclass runs, and derive its attributes."""

    @property
    def takes_images(self) -> bool:
        """Whether the model's input is an image (an image-to-image translator)."""
        return any(spec.kind == "image" for spec in self.input_specs)

    @property
    def graph_output_shape(self) -> tuple[int, ...]:
        """One sample's shape as the graph emits it: ``output_shape``, or its NHWC form for uint8 exports."""
        if self.uint8_output and len(self.output_shape) == 3:
            c, h, w = self.output_shape
            return (h, w, c)
        return self.output_shape

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, providers={self.providers})"

    @property
    def architecture(self) -> str:
        """The architecture recorded at export time."""
        return self.metadata.get("ganzoo.architecture", "unknown")

    def run_feeds(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """One ONNX Runtime call on a dict of input arrays (name -> array); returns the graph's output as is."""
        return self.session.run([self.output_name], feeds)[0]

    def _formatted(self, raw: np.ndarray, output: str) -> np.ndarray | list:
        """The graph's output as ``output`` asks: ``raw`` as is, ``numpy`` uint8 NHWC, ``pil`` PIL images."""
        if output == "raw":
            return raw
        if not self.is_image:
            raise ValueError(f"output={output!r} needs an image model; use output='raw'")
        images = raw if self.uint8_output else to_uint8_nhwc(raw)
        if output == "numpy":
            return images
        from PIL import Image

        return [Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a) for a in images]


class OnnxGenerator(OnnxModel):
    """An exported generator run by ONNX Runtime.

    >>> g = OnnxGenerator("model.onnx")                  # CUDA then CPU where CUDA is available, else CPU
    >>> images = g.sample(16, seed=0)                    # uint8 (16, 64, 64, 3)
    >>> g = OnnxGenerator("model.onnx", providers=["cuda"])        # CUDA or a clear error
    """

    def _setup(self) -> None:
        if "z" not in self.inputs:
            if self.takes_images:
                raise ModelFileError(
                    f"{self.path} is an image-to-image model (input {list(self.inputs)}), not a generator: open it "
                    "with OnnxTranslator, or with open_model() which picks the class"
                )
            raise ModelFileError(f"{self.path} has no input named 'z'; it was not exported by ganzoo")
        z_dim = self.inputs["z"].shape[1]
        try:
            self.z_dim: int = int(self.metadata.get("ganzoo.z_dim", z_dim if isinstance(z_dim, int) else 0))
        except ValueError:
            raise ModelFileError(f"{self.path}: its ganzoo.z_dim metadata is not an integer") from None
        if not 0 < self.z_dim <= 1 << 20 or (isinstance(z_dim, int) and z_dim != self.z_dim):
            raise ModelFileError(f"{self.path}: ganzoo.z_dim {self.z_dim} does not match the graph's input z {z_dim}")
        #: the ``labels`` spec of a class-conditional generator (None otherwise)
        self.label_spec: InputSpec | None = next((s for s in self.input_specs if s.kind == "label"), None)

    def check_labels(self, labels: np.ndarray | None, n: int) -> np.ndarray | None:
        """``labels`` as int64 ``(n,)``, checked against the spec: required by class-conditional generators (and
        within their class range), refused by the others. Raises ``ValueError`` saying what to pass."""
        if "labels" not in self.inputs:
            if labels is not None:
                raise ValueError(f"{self.architecture!r} is not class-conditional: pass no labels")
            return None
        low, high = self.label_spec.value_range if self.label_spec and self.label_spec.value_range else (None, None)
        span = f" in [{low}, {high}]" if low is not None else ""
        if labels is None:
            raise ValueError(f"this generator is class-conditional: pass labels=(n,) int64 class indices{span}")
        labels = np.asarray(labels)
        if not np.issubdtype(labels.dtype, np.integer) or labels.shape != (n,):
            raise ValueError(f"labels must be {n} integer class indices{span}, got {labels.dtype} {labels.shape}")
        if low is not None and n and (labels.min() < low or labels.max() > high):
            raise ValueError(f"labels must lie in [{low}, {high}], got values from {labels.min()} to {labels.max()}")
        return labels.astype(np.int64, copy=False)

    def run(
        self, z: np.ndarray, labels: np.ndarray | None = None, codes: dict[str, np.ndarray] | None = None
    ) -> np.ndarray:
        """One ONNX Runtime call on explicit inputs (``codes``: InfoGAN-style code inputs by name); returns the
        graph's output as is."""
        feeds = {"z": np.ascontiguousarray(z, dtype=np.float32)}
        if "labels" in self.inputs:
            if labels is None:
                raise ValueError("this generator is class-conditional: pass labels=(n,) int64 class indices")
            feeds["labels"] = np.ascontiguousarray(labels, dtype=np.int64)
        for name, value in (codes or {}).items():
            feeds[name] = np.ascontiguousarray(value)
        missing = sorted(set(self.inputs) - set(feeds))
        if missing:
            raise ValueError(f"this generator also takes {missing}: pass them (codes={{name: values}})")
        return self.run_feeds(feeds)

    def sample(
        self,
        n: int = 1,
        *,
        seed: int | None = None,
        z: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        codes: dict[str, Any] | None = None,
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
        if labels is not None and np.ndim(labels) == 0:
            labels = np.full(len(z), labels, dtype=np.int64)
        labels = self.check_labels(labels, len(z))
        # InfoGAN-style codes: drawn from their priors with the seed exactly as Generator.sample draws them
        drawn = draw_codes(self.input_specs, len(z), seed, codes)
        chunks = [
            self.run(
                z[i : i + batch_size],
                None if labels is None else labels[i : i + batch_size],
                {name: value[i : i + batch_size] for name, value in drawn.items()},
            )
            for i in range(0, len(z), batch_size)
        ]
        raw = np.concatenate(chunks)
        if output != "raw" and not self.is_image:
            raise ValueError(f"output={output!r} needs an image generator; use output='raw'")
        return self._formatted(raw, output)


class OnnxTranslator(OnnxModel):
    """An exported image-to-image model (one direction of a translator) run by ONNX Runtime.

    >>> t = OnnxTranslator("pix2pix.onnx")
    >>> out = t.translate(images)      # uint8 (N, H, W, C) or float32 (N, C, H, W) in [-1, 1] -> uint8 NHWC

    The same images give the same output as ``ganzoo.load(folder).translate(images, output="numpy")`` (to one
    level of rounding).
    """

    def _setup(self) -> None:
        specs = [s for s in self.input_specs if s.kind == "image"]
        masks = [s for s in self.input_specs if s.kind == "mask"]
        if len(specs) != 1 or len(self.input_specs) != 1 + len(masks) or len(masks) > 1 or len(specs[0].shape) != 3:
            hint = " (a generator: open it with OnnxGenerator, or open_model())" if "z" in self.inputs else ""
            raise ModelFileError(
                f"{self.path} is not an image-to-image model: it takes {list(self.inputs)}, not one "
                f"(N, C, H, W) image input{hint}"
            )
        #: the input spec: name (``images``), dtype float32, shape (C, H, W)
        self.input_spec: InputSpec = specs[0]
        self.input_name: str = self.input_spec.name
        #: the network that was exported (``generator``, or a direction such as ``g_ab``)
        self.direction: str = self.metadata.get("ganzoo.role", "generator")
        #: an inpainting model's ``mask`` input spec (float32 (1, H, W), 1 where pixels are missing), else None
        self.mask_spec: InputSpec | None = masks[0] if masks else None
        try:
            self.config: dict[str, Any] = json.loads(self.metadata.get("ganzoo.config", "{}"))
        except (ValueError, RecursionError):
            self.config = {}
        if not isinstance(self.config, dict):
            self.config = {}

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """One input image's shape, (C, H, W)."""
        c, h, w = self.input_spec.shape
        return (int(c), int(h), int(w))

    def as_input(self, images: Any) -> np.ndarray:
        """Images as float32 ``(N, C, H, W)`` in [-1, 1], checked against the input spec.

        Accepts float arrays ``(N, C, H, W)`` in [-1, 1], uint8 arrays ``(N, H, W, C)`` in [0, 255] (greyscale
        also ``(N, H, W)``), one image without the batch axis, or PIL images. Raises ``ValueError`` otherwise.
        """
        c, h, w = self.input_shape
        want = f"float32 (N, {c}, {h}, {w}) in [-1, 1] or uint8 (N, {h}, {w}, {c})"
        images = _pil_to_array(images, c)
        array = np.asarray(images)
        if array.dtype == np.uint8:
            if array.shape == (h, w, c) or (c == 1 and array.shape == (h, w)):
                array = array[None]
            if c == 1 and array.ndim == 3 and array.shape[1:] == (h, w):
                array = array[..., None]
            if array.ndim != 4 or array.shape[1:] != (h, w, c):
                raise ValueError(f"{self.architecture!r} translates {want}; got uint8 {array.shape}. Resize first.")
            x = array.astype(np.float32) / np.float32(127.5) - np.float32(1.0)
            x = x.transpose(0, 3, 1, 2)
        elif np.issubdtype(array.dtype, np.floating):
            x = array.astype(np.float32, copy=False)
            if x.shape == (c, h, w):
                x = x[None]
            if x.ndim != 4 or x.shape[1:] != (c, h, w):
                raise ValueError(f"{self.architecture!r} translates {want}; got {array.dtype} {array.shape}")
            if x.size and np.nanmax(np.abs(x)) > 1.01:
                raise ValueError(
                    f"float images must lie in [-1, 1], got values up to {float(np.nanmax(np.abs(x))):g}; "
                    "pass uint8 (N, H, W, C) arrays for 0..255 pixels"
                )
        else:
            raise ValueError(f"{self.architecture!r} translates {want}; got {array.dtype} {array.shape}")
        if len(x) == 0:
            raise ValueError("no images to translate: the batch is empty")
        return np.ascontiguousarray(x)

    def as_mask(self, mask: Any, n: int) -> np.ndarray:
        """Masks for ``n`` images as float32 ``(n, 1, H, W)`` of 0/1 (1 or white where pixels are missing): arrays
        ``(N, 1, H, W)``, ``(N, H, W)`` or one ``(H, W)`` for all, uint8 (>= 128 is hole), or PIL pictures. None
        gives the centre hole a centre-trained model learnt (``ganzoo.config``'s ``hole_size``)."""
        from ganzoo.masks import mask_array

        assert self.mask_spec is not None
        return mask_array(_pil_to_array(mask, 1), n, int(self.mask_spec.shape[-1]), self.config, self.architecture)

    def hole_mask(self, hole: str | None, n: int) -> np.ndarray:
        """An inpainting model's masks from a hole description: None or ``center`` (the trained centre hole, else
        half the side), ``center:K`` or ``X,Y,W,H`` in pixels -> float32 ``(n, 1, H, W)``."""
        from ganzoo.masks import hole_array

        assert self.mask_spec is not None
        return hole_array(hole, n, int(self.mask_spec.shape[-1]), self.config)

    def run(self, images: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """One ONNX Runtime call on float32 ``(N, C, H, W)`` images (and an inpainting model's masks); returns
        the graph's output as is."""
        feeds = {self.input_name: np.ascontiguousarray(images, dtype=np.float32)}
        if self.mask_spec is not None:
            if mask is None:
                raise ValueError(f"{self.architecture!r} needs a mask input (1 where pixels are missing)")
            feeds[self.mask_spec.name] = np.ascontiguousarray(mask, dtype=np.float32)
        return self.run_feeds(feeds)

    def translate(
        self,
        images: Any,
        *,
        mask: Any = None,
        output: Literal["numpy", "raw", "pil"] = "numpy",
        batch_size: int = 64,
    ) -> np.ndarray | list:
        """Translate ``images`` (see ``as_input`` for the forms accepted); ``mask`` for inpainting models (see
        ``as_mask``; default the centre hole of a centre-trained model).

        ``output``: ``"numpy"`` uint8 NHWC images (as ``Translator.translate(..., output="numpy")``), ``"raw"`` the
        graph's own output (float32 NCHW in [-1, 1] unless exported with ``--uint8``), ``"pil"`` PIL images.
        """
        if output not in ("numpy", "raw", "pil"):
            raise ValueError(f"output must be 'numpy', 'raw' or 'pil', got {output!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        x = self.as_input(images)
        if self.mask_spec is None and mask is not None:
            raise ValueError(f"{self.architecture!r} takes no mask: it is not an inpainting model")
        m = self.as_mask(mask, len(x)) if self.mask_spec is not None else None
        raw = np.concatenate(
            [
                self.run(x[i : i + batch_size], None if m is None else m[i : i + batch_size])
                for i in range(0, len(x), batch_size)
            ]
        )
        return self._formatted(raw, output)


def _pil_to_array(images: Any, channels: int) -> Any:
    """PIL images (one or a list) -> a uint8 ``(N, H, W, C)`` array; anything else is returned as it is."""
    single = type(images).__module__.startswith("PIL.")
    if not single and not (
        isinstance(images, (list, tuple)) and images and type(images[0]).__module__.startswith("PIL.")
    ):
        return images
    mode = "L" if channels == 1 else "RGB"
    pictures = [images] if single else list(images)
    sizes = {p.size for p in pictures}
    if len(sizes) > 1:
        raise ValueError(f"the images differ in size ({sorted(sizes)}); resize them to one size first")
    return np.stack([np.asarray(p.convert(mode)).reshape(p.size[1], p.size[0], channels) for p in pictures])


def open_model(
    path: str | Path,
    providers: Sequence[str] | str | None = None,
    *,
    allow_cpu_fallback: bool = False,
    threads: int | None = None,
) -> OnnxGenerator | OnnxTranslator:
    """Open an exported file as the right class: ``OnnxTranslator`` when its input is an image (the
    ``ganzoo.inputs`` metadata, or the graph of an older file), ``OnnxGenerator`` otherwise. One session only."""
    model = OnnxModel.__new__(OnnxModel)
    model._open(path, providers, allow_cpu_fallback=allow_cpu_fallback, threads=threads)
    model.__class__ = OnnxTranslator if model.takes_images else OnnxGenerator
    model._setup()
    return model  # type: ignore[return-value]


def to_uint8_nhwc(images: np.ndarray) -> np.ndarray:
    """float images in [-1, 1], NCHW -> uint8 NHWC (the same rounding as ``ganzoo.sampling.to_uint8``)."""
    scaled = np.rint((np.clip(images, -1.0, 1.0) + 1.0) * 127.5)
    return scaled.astype(np.uint8).transpose(0, 2, 3, 1)
