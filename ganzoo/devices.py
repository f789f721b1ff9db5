"""``resolve_device``: turn ``--device`` / ``device=`` into a ``torch.device`` that exists on this machine.

An unavailable accelerator (a CPU-only torch asked for ``cuda``, no GPU visible, an index past the last GPU) or a
malformed device string is a ``DeviceError`` that says what is wrong and what to do, instead of a traceback from
deep inside torch.
"""

from __future__ import annotations

import torch

from ganzoo.errors import DeviceError

#: The device types ganzoo runs on.
DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu")

_INSTALL = "install a CUDA build of torch (https://pytorch.org/get-started/locally/)"


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """The ``torch.device`` for ``device``; ``None`` picks ``cuda`` when a GPU is usable, else ``cpu``.

    Accepts ``cpu``, ``cuda``, ``cuda:N``, ``mps`` and ``xpu`` (strings or ``torch.device``). Raises ``DeviceError``
    for a malformed string and for a device this torch build or machine cannot use.
    """
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(device, torch.device):
        resolved = device
    else:
        text = str(device).strip().lower()
        try:
            resolved = torch.device(text)
        except (RuntimeError, ValueError, TypeError) as exc:
            raise DeviceError(
                f"{device!r} is not a device: use cpu, cuda, cuda:N (N = the GPU's index) or mps, e.g. --device cpu"
            ) from exc
    if resolved.type not in DEVICE_TYPES:
        raise DeviceError(
            f"ganzoo does not run on device type {resolved.type!r} ({device!r}); use one of "
            f"{', '.join(DEVICE_TYPES)}, e.g. --device cpu"
        )
    if resolved.type == "cuda":
        _check_cuda(resolved, device)
    elif resolved.type == "mps":
        _check_mps(device)
    elif resolved.type == "xpu":
        xpu = getattr(torch, "xpu", None)
        if xpu is None or not xpu.is_available():
            raise DeviceError(
                f"device {device!r}: no Intel XPU is usable with this torch ({torch.__version__}); use --device cpu, "
                "or install a torch build with XPU support on a machine with an Intel GPU"
            )
    return resolved


def _check_cuda(resolved: torch.device, asked: object) -> None:
    """Raise ``DeviceError`` unless ``resolved`` names a CUDA GPU that this torch can use."""
    if not torch.backends.cuda.is_built():
        raise DeviceError(
            f"device {asked!r}: this torch ({torch.__version__}) was built without CUDA. Use --device cpu "
            f"(device='cpu'), or {_INSTALL}"
        )
    if not torch.cuda.is_available():
        raise DeviceError(
            f"device {asked!r}: torch {torch.__version__} has CUDA, but no GPU is visible (no NVIDIA driver, or "
            "CUDA_VISIBLE_DEVICES hides them; `nvidia-smi` should list one). Use --device cpu (device='cpu'), or fix "
            "the driver / CUDA_VISIBLE_DEVICES"
        )
    count = torch.cuda.device_count()
    if resolved.index is not None and resolved.index >= count:
        raise DeviceError(
            f"device {asked!r}: only {count} GPU(s) are visible (cuda:0 to cuda:{count - 1}); pick one of those, "
            "or check CUDA_VISIBLE_DEVICES"
        )


def _check_mps(asked: object) -> None:
    """Raise ``DeviceError`` unless Apple's MPS backend is usable."""
    if not torch.backends.mps.is_built():
        raise DeviceError(
            f"device {asked!r}: this torch ({torch.__version__}) was built without MPS (Apple-silicon GPUs, macOS "
            "only). Use --device cpu (device='cpu'), or cuda on a machine with an NVIDIA GPU"
        )
    if not torch.backends.mps.is_available():
        raise DeviceError(
            f"device {asked!r}: torch has MPS, but it is not available here (it needs macOS 12.3+ on an Apple-silicon "
            "Mac). Use --device cpu (device='cpu')"
        )


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AMX or AVX-512 BF16, from /proc/cpuinfo's flags; False where
    that file is missing). There, bfloat16 autocast trains DCGAN about 2x faster than float32; elsewhere slower."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return bool({"amx_bf16", "avx512_bf16"} & set(line.split()))
    except OSError:
        pass
    return False
