"""A small Fashion-MNIST classifier for classifier-based GAN metrics (conditional accuracy, CAS, classifier IS,
class diversity, intra-class Fréchet distance): ``FashionClassifier`` and ``load_fashion_classifier()``.

The network takes 32x32 greyscale images in [-1, 1] (Fashion-MNIST's 28x28 pictures zero-padded by 2 pixels, as
``fashion-mnist:PATH`` with ``image_size=32`` loads them) and returns 10 logits and its 128-d penultimate
features. Four conv blocks (conv 3x3, batch norm, ReLU; 32, 64, 64, 128 channels at strides 2, 1, 2, 2: 16x16,
16x16, 8x8, 4x4), a 128-d dense feature layer (batch norm, ReLU), dropout and a linear head. Strided convolutions
instead of max pooling (Springenberg et al. 2015, "Striving for simplicity: the all convolutional net") keep a
training epoch near a minute on 2 CPU cores. The shipped weights
(``weights/fashion_classifier.safetensors``, fp16, checked against ``WEIGHTS_SHA256``) were trained by
``benchmarks/train_fashion_classifier.py`` on the 60,000 training pictures (Xiao, Rasul and Vollgraf 2017,
"Fashion-MNIST: a novel image dataset for benchmarking machine learning algorithms", MIT licence) and score
``TEST_ACCURACY`` on the 10,000 test pictures. Weights are read with safetensors only (no pickle).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from ganzoo.errors import EvaluationError
from ganzoo.fileio import sha256_file

WEIGHTS_PATH = Path(__file__).resolve().parent / "weights" / "fashion_classifier.safetensors"
#: sha256 of the shipped weights file (``benchmarks/train_fashion_classifier.py`` prints it)
WEIGHTS_SHA256 = "059add2b8c6183a272ba0f236df9203ff3a263e93b55242c594179f45e5c6c3f"
#: accuracy of the shipped weights on Fashion-MNIST's 10,000 test pictures (padded to 32x32)
TEST_ACCURACY = 0.9313
NUM_CLASSES = 10
IMAGE_SIZE = 32
WIDTHS = (32, 64, 64, 128)
STRIDES = (2, 1, 2, 2)
FEATURE_DIM = 128


class FashionClassifierError(EvaluationError, FileNotFoundError):
    """The classifier's weights file is missing, or its sha256 is not the expected one."""


class FashionClassifier(nn.Module):
    """Fashion-MNIST CNN: (N, 1, 32, 32) in [-1, 1] -> 10 logits; ``logits_and_features`` also gives the 128-d
    penultimate features (after their batch norm and ReLU) that intra-class Fréchet distances use.

    ``FashionClassifier()`` is the shipped design; smaller ``widths`` / ``feature_dim`` make quick test networks
    (``strides`` has one entry per width; the image side divided by their product is the last map's side).
    """

    def __init__(
        self,
        widths: Sequence[int] = WIDTHS,
        strides: Sequence[int] = STRIDES,
        feature_dim: int = FEATURE_DIM,
        num_classes: int = NUM_CLASSES,
        channels: int = 1,
        image_size: int = IMAGE_SIZE,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        if not widths or len(strides) != len(widths):
            raise ValueError(f"widths and strides need one entry per conv block, got {widths} and {strides}")
        if image_size % math.prod(strides):
            raise ValueError(f"image_size {image_size} must be divisible by the strides' product {math.prod(strides)}")
        layers: list[nn.Module] = []
        c = channels
        for w, stride in zip(widths, strides, strict=True):
            layers += [nn.Conv2d(c, w, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU()]
            c = w
        self.body = nn.Sequential(*layers)
        side = image_size // math.prod(strides)
        self.feature = nn.Sequential(
            nn.Flatten(), nn.Linear(c * side * side, feature_dim, bias=False), nn.BatchNorm1d(feature_dim), nn.ReLU()
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(feature_dim, num_classes)
        self.widths, self.strides = tuple(widths), tuple(strides)
        self.feature_dim, self.num_classes = feature_dim, num_classes
        self.channels, self.image_size = channels, image_size

    def logits_and_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits (N, classes), penultimate features (N, feature_dim)) for float images in [-1, 1]."""
        features = self.feature(self.body(x))
        return self.head(self.dropout(features)), features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits_and_features(x)[0]

    @torch.no_grad()
    def predict(self, images: torch.Tensor, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
        """Logits and penultimate features (float64 numpy) of uint8 images ``(N, C, 32, 32)`` (or floats in
        [-1, 1]), in eval mode, batch by batch; the module's mode is restored afterwards."""
        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        logits = [np.zeros((0, self.num_classes))]
        features = [np.zeros((0, self.feature_dim))]
        try:
            for start in range(0, len(images), batch_size):
                out, feat = self.logits_and_features(to_input(images[start : start + batch_size]).to(device))
                logits.append(out.double().cpu().numpy())
                features.append(feat.double().cpu().numpy())
        finally:
            self.train(was_training)
        return np.concatenate(logits), np.concatenate(features)


def train_classifier(
    model: FashionClassifier,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    epochs: float | None = None,
    steps: int | None = None,
    batch_size: int = 128,
    lr: float = 2e-3,
    weight_decay: float = 0.0,
    flip: bool = True,
    seed: int = 0,
    progress: Callable[[int, int, float], None] | None = None,
) -> FashionClassifier:
    """Train ``model`` on uint8 ``images`` (N, C, H, W) with int ``labels`` (N,): Adam (Kingma & Ba 2015), cross
    entropy, the learning rate warmed up over the first 5 % of steps, then a cosine decay to 0; each batch a fresh
    seeded shuffle, half its images flipped left-right when ``flip`` (Fashion-MNIST's classes are mirror-symmetric).

    Give ``epochs`` (passes over the data, may be fractional) or ``steps`` (batches). The shipped classifier and
    the classification accuracy score (CAS, Ravuri & Vinyals 2019) both train with it. It seeds torch's global
    generator with ``seed`` (for dropout); seed it before building ``model`` for reproducible initial weights.
    ``progress(step, total, loss)`` is called every 100 steps and at the end. Returns the model, in eval mode.
    """
    images, labels = torch.as_tensor(images), torch.as_tensor(labels, dtype=torch.int64).reshape(-1)
    n = len(images)
    if n == 0 or len(labels) != n:
        raise EvaluationError(f"train_classifier needs as many labels as images, got {len(labels)} for {n}")
    if (steps is None) == (epochs is None):
        raise ValueError("give exactly one of epochs= and steps=")
    batch_size = min(batch_size, n)
    total = int(steps) if steps is not None else max(1, math.ceil(float(epochs) * n / batch_size))
    if total < 1:
        raise ValueError(f"steps must be at least 1, got {total}")
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # dropout
    device = next(model.parameters()).device
    optimiser = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    warmup = max(1, total // 20)

    def rate(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, rate)
    model.train()
    order, at = torch.randperm(n, generator=generator), 0
    for step in range(total):
        if at + batch_size > n:  # a new epoch: a new shuffle (the remainder of the last one is dropped)
            order, at = torch.randperm(n, generator=generator), 0
        index = order[at : at + batch_size]
        at += batch_size
        x, y = to_input(images[index]), labels[index]
        if flip:
            mirrored = torch.rand(len(x), generator=generator) < 0.5
            x = torch.where(mirrored[:, None, None, None], x.flip(-1), x)
        loss = F.cross_entropy(model(x.to(device)), y.to(device))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        if progress is not None and ((step + 1) % 100 == 0 or step + 1 == total):
            progress(step + 1, total, loss.item())
    return model.eval()


def accuracy(model: FashionClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of ``images`` (uint8) that ``model`` classifies as their ``labels``."""
    logits, _ = model.predict(images)
    return float((logits.argmax(1) == np.asarray(labels).reshape(-1)).mean())


def to_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 images (0-255) to the classifier's float32 input in [-1, 1]; float images are taken as in [-1, 1]."""
    images = torch.as_tensor(images)
    if images.dtype == torch.uint8:
        return images.float().div(127.5).sub(1.0)
    return images.float()


def save_classifier(
    model: FashionClassifier,
    path: str | Path,
    *,
    dtype: torch.dtype = torch.float16,
    metadata: dict[str, str] | None = None,
) -> str:
    """Write ``model``'s weights as safetensors (floats as ``dtype``; fp16 keeps the shipped file small), its
    strides and image size in the metadata, and return the file's sha256 (``WEIGHTS_SHA256`` for the shipped one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        k: (v.detach().to(dtype) if v.is_floating_point() else v.detach()).cpu().contiguous()
        for k, v in model.state_dict().items()
    }
    design = {"strides": ",".join(map(str, model.strides)), "image_size": str(model.image_size)}
    # one metadata key holding sorted JSON: safetensors writes several keys in a random order, and the same weights
    # must give the same bytes (and sha256)
    save_file(state, str(path), metadata={"ganzoo": json.dumps({**dict(metadata or {}), **design}, sort_keys=True)})
    return sha256_file(path)


def load_fashion_classifier(
    path: str | Path | None = None, *, sha256: str | None = None, device: str | torch.device = "cpu"
) -> FashionClassifier:
    """The trained Fashion-MNIST classifier (Xiao et al. 2017 data) in eval mode, float32, on ``device``.

    Reads the shipped ``weights/fashion_classifier.safetensors`` (or ``path``) with safetensors and checks its
    sha256 against ``WEIGHTS_SHA256`` (or ``sha256``; ``sha256=""`` skips the check, for weights you trained
    yourself). Raises ``FashionClassifierError`` when the file is missing, its hash differs or it holds other
    weights. ``python benchmarks/train_fashion_classifier.py`` reproduces the shipped file.
    """
    path = Path(path) if path is not None else WEIGHTS_PATH
    expected = WEIGHTS_SHA256 if sha256 is None else sha256
    if not path.is_file():
        raise FashionClassifierError(
            f"the Fashion-MNIST classifier's weights are missing: {path} does not exist. They ship with ganzoo "
            "(ganzoo/plugins/metrics/weights/); reinstall ganzoo, or rebuild them with "
            "`python benchmarks/train_fashion_classifier.py`."
        )
    if expected:
        found = sha256_file(path)
        if found != expected:
            raise FashionClassifierError(
                f"{path} has sha256 {found}, not the expected {expected}: the file is damaged or not the shipped "
                "classifier. Reinstall ganzoo, or pass sha256='' to load weights you trained yourself."
            )
    state = load_file(str(path))
    with safe_open(str(path), framework="pt") as f:
        header = f.metadata() or {}
    try:
        design = json.loads(header.get("ganzoo", "{}"))
        strides = [int(x) for x in design.get("strides", ",".join(map(str, STRIDES))).split(",")]
        convs = sorted(int(k.split(".")[1]) for k in state if k.startswith("body.") and k.endswith(".weight"))
        convs = [i for i in convs if state[f"body.{i}.weight"].ndim == 4]
        model = FashionClassifier(
            widths=[int(state[f"body.{i}.weight"].shape[0]) for i in convs],
            feature_dim=int(state["head.weight"].shape[1]),
            num_classes=int(state["head.weight"].shape[0]),
            channels=int(state["body.0.weight"].shape[1]),
            strides=strides,
            image_size=int(design.get("image_size", IMAGE_SIZE)),
        )
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()}, strict=True)
    except (KeyError, RuntimeError, ValueError) as exc:
        raise FashionClassifierError(f"{path} does not hold a FashionClassifier's weights: {exc}") from exc
    return model.to(torch.device(device)).eval()
