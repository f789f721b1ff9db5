"""Blocks the restoration families share (super-resolution, inpainting): how low-resolution inputs are made,
a VGG-style image discriminator whose features feed a feature-matching loss, and an optional VGG19 perceptual
loss that reads a user's weights file (none can be downloaded here, and none ships with ganzoo)."""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.errors import ModelFileError

#: the kernels ``downscale`` knows; "bicubic" is PIL's Image.BICUBIC resize (a = -0.5, antialiased)
DOWNSCALE_KERNELS = ("bicubic", "bilinear", "area")


def downscale(images: torch.Tensor, scale: int, kernel: str = "bicubic", *, quantize: bool = True) -> torch.Tensor:
    """High-resolution images (N, C, H, W) in [-1, 1] -> (N, C, H/scale, W/scale): the low-resolution inputs a
    super-resolution model is trained and evaluated on.

    ``bicubic`` is the antialiased bicubic resize of PIL (``Image.resize(..., Image.BICUBIC)``) and MATLAB's
    ``imresize``, the degradation of SRGAN (Ledig et al. 2017) and most SR benchmarks. ``quantize`` rounds to
    the 256 levels of an 8-bit picture, so training sees what users feed (uint8 pictures), not finer values.
    """
    if kernel not in DOWNSCALE_KERNELS:
        raise ValueError(f"unknown downscale kernel {kernel!r}; choose one of {', '.join(DOWNSCALE_KERNELS)}")
    h, w = images.shape[-2:]
    if h % scale or w % scale:
        raise ValueError(f"images of {h}x{w} do not divide by the scale {scale}")
    size = (h // scale, w // scale)
    if kernel == "area":
        small = F.adaptive_avg_pool2d(images, size)
    else:
        small = F.interpolate(images, size=size, mode=kernel, align_corners=False, antialias=True)
    small = small.clamp(-1, 1)
    if quantize:
        small = torch.round((small + 1) * 127.5) / 127.5 - 1
    return small


class VGGStyleDiscriminator(nn.Module):
    """image (N, C, S, S) -> logits (N, 1): SRGAN's discriminator (Ledig et al. 2017, figure 4), halved in depth
    for small pictures: stages of (3x3 conv, 3x3 stride-2 conv) with LeakyReLU(0.2) and batch norm, the width
    doubling per stage from ``width``, down to 4x4, then dense 1024 -> 1.

    ``features(x)`` also returns each stage's output (what the feature-matching loss compares, as in pix2pixHD).
    """

    def __init__(self, channels: int, image_size: int, width: int = 64, max_width: int = 512) -> None:
        super().__init__()
        stages, c_in, size, c = [], channels, image_size, width
        while size > 4:
            first_norm = c_in != channels  # no batch norm straight on the pixels (DCGAN's advice, SRGAN's too)
            stages.append(
                nn.Sequential(
                    nn.Conv2d(c_in, c, 3, 1, 1, bias=not first_norm),
                    nn.BatchNorm2d(c) if first_norm else nn.Identity(),
                    nn.LeakyReLU(0.2, inplace=True),
                    nn.Conv2d(c, c, 3, 2, 1, bias=False),  # halves the size
                    nn.BatchNorm2d(c),
                    nn.LeakyReLU(0.2, inplace=True),
                )
            )
            c_in, size, c = c, size // 2, min(c * 2, max_width)
        self.stages = nn.ModuleList(stages)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(c_in * 16, 1024), nn.LeakyReLU(0.2, inplace=True), nn.Linear(1024, 1)
        )

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(logits (N, 1), [each stage's output]) from one pass."""
        feats = []
        for stage in self.stages:
            x = stage(x)  # (N, c, S/2, S/2) per stage
            feats.append(x)
        return self.head(x), feats  # x: (N, c, 4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)[0]


def feature_matching(fake: list[torch.Tensor], real: list[torch.Tensor]) -> torch.Tensor:
    """Mean over layers of L1(D's features of the fakes, of the reals) (Salimans et al. 2016; pix2pixHD's form:
    per element, so wide layers weigh no more than narrow ones). The real features are constants."""
    terms = [F.l1_loss(f.float(), r.detach().float()) for f, r in zip(fake, real, strict=True)]
    return torch.stack(terms).mean()


#: VGG19's convolution widths ("M": 2x2 max-pool), the layout of torchvision's ``vgg19().features``
VGG19_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512)


class VGGFeatures(nn.Module):
    """VGG19's convolutions up to conv5_4, before its ReLU (ESRGAN's perceptual features, Wang et al. 2018), frozen.

    Weights come from a user's safetensors file with torchvision's names (``features.0.weight``, ...,
    ``features.34.bias``; extra keys such as the classifier's are ignored). ganzoo ships none and downloads none.
    """

    def __init__(self, weights: str | os.PathLike) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for item in VGG19_LAYOUT:
            if item == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(c_in, int(item), 3, padding=1), nn.ReLU(inplace=False)]
                c_in = int(item)
        self.features = nn.Sequential(*layers[:-1])  # conv5_4 without its ReLU
        self._load(Path(weights))
        self.requires_grad_(False).eval()
        # ImageNet statistics: the VGG was trained on images normalised with these
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)

    def _load(self, path: Path) -> None:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        if not path.is_file():
            raise ModelFileError(f"perceptual weights {path} do not exist: pass a VGG19 safetensors file")
        try:
            tensors = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as err:
            raise ModelFileError(f"{path} is not a readable safetensors file: {err}") from None
        wanted = self.features.state_dict()
        missing = [k for k in wanted if f"features.{k}" not in tensors]
        if missing:
            raise ModelFileError(
                f"{path} lacks VGG19 weights {', '.join('features.' + k for k in missing[:4])}...: save torchvision's "
                "vgg19().state_dict() with safetensors.torch.save_file"
            )
        for key, value in wanted.items():
            got = tensors[f"features.{key}"]
            if got.shape != value.shape:
                raise ModelFileError(
                    f"{path}: features.{key} has shape {tuple(got.shape)}, VGG19 has {tuple(value.shape)}"
                )
        self.features.load_state_dict({k: tensors[f"features.{k}"].float() for k in wanted})

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = ((images.float() + 1) / 2 - self.mean) / self.std  # [-1, 1] -> ImageNet-normalised
        return self.features(x)

    def train(self, mode: bool = True) -> VGGFeatures:
        return super().train(False)  # always frozen
