"""Networks the image-to-image families share: pix2pix's U-Net, CycleGAN's ResNet generator, the PatchGAN
discriminator, and the pool of earlier fakes CycleGAN's discriminators replay.

Sources: Isola, Zhu, Zhou and Efros, "Image-to-Image Translation with Conditional Adversarial Networks", CVPR 2017
(https://arxiv.org/abs/1611.07004), appendix 6.1; Zhu, Park, Isola and Efros, "Unpaired Image-to-Image
Translation using Cycle-Consistent Adversarial Networks", ICCV 2017 (https://arxiv.org/abs/1703.10593),
appendix 7.2; Johnson, Alahi and Fei-Fei 2016 for the ResNet generator; Shrivastava et al. 2017 for the pool.
Written from the papers, checked against the layer lists of junyanz/pytorch-CycleGAN-and-pix2pix.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
from torch import nn


def norm_layer(name: str) -> type[nn.Module] | functools.partial:
    """``batch`` (pix2pix), ``instance`` (CycleGAN: no learned affine, no running statistics) or ``none``."""
    if name == "batch":
        return nn.BatchNorm2d
    if name == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    if name == "none":
        return lambda channels: nn.Identity()
    raise ValueError(f"norm must be 'batch', 'instance' or 'none', got {name!r}")


def uses_bias(name: str) -> bool:
    """Convolutions before a batch norm need no bias (the norm's shift replaces it); before instance norm without
    an affine, or no norm, they do."""
    return name != "batch"


def init_normal(module: nn.Module, std: float = 0.02) -> None:
    """The papers' initialisation: conv weights N(0, 0.02), norm scales N(1, 0.02), biases 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, std)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, std)
        nn.init.zeros_(module.bias)


# -- pix2pix: U-Net ----------------------------------------------------------------------------------------------


class UNetLevel(nn.Module):
    """One level of the U-Net: down (stride-2 conv), the ``inner`` levels, up (stride-2 transposed conv), with the
    level's input concatenated to its output (the skip connection). The innermost level has no ``inner``."""

    def __init__(
        self,
        outer: int,
        inner: int,
        *,
        submodule: nn.Module | None,
        norm: str,
        dropout: float = 0.0,
        in_channels: int | None = None,
        out_channels: int | None = None,
    ) -> None:
        super().__init__()
        bias, Norm = uses_bias(norm), norm_layer(norm)
        outermost, innermost = out_channels is not None, submodule is None
        down_in = in_channels if in_channels is not None else outer
        down: list[nn.Module] = [] if outermost else [nn.LeakyReLU(0.2, True)]
        down.append(nn.Conv2d(down_in, inner, 4, 2, 1, bias=bias))  # (N, inner, H/2, W/2)
        if not (outermost or innermost):
            down.append(Norm(inner))
        # the up path sees the inner level's output and its skip: 2 * inner channels, except at the bottom
        up_in = inner if innermost else 2 * inner
        up: list[nn.Module] = [nn.ReLU(True)]
        if outermost:
            up += [nn.ConvTranspose2d(up_in, out_channels, 4, 2, 1), nn.Tanh()]  # (N, out, H, W) in [-1, 1]
        else:
            up += [nn.ConvTranspose2d(up_in, outer, 4, 2, 1, bias=bias), Norm(outer)]
            if dropout:
                up.append(nn.Dropout(dropout))  # pix2pix's noise: G has no z, dropout is its randomness
        self.outermost = outermost
        self.down, self.inner, self.up = nn.Sequential(*down), submodule or nn.Identity(), nn.Sequential(*up)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.up(self.inner(self.down(x)))
        return y if self.outermost else torch.cat([x, y], 1)  # skip: (N, 2 * outer, H, W)


class UNet(nn.Module):
    """pix2pix's generator: ``depth`` stride-2 levels down to 1x1 and back, each level's input skipped across to
    its output. Widths (``width`` = 64 in the paper): width, 2, 4, 8, 8, ... x width; dropout 0.5 on the three
    8x-width levels above the bottom (the paper's decoder C512 layers with dropout)."""

    def __init__(
        self, in_channels: int, out_channels: int, depth: int, width: int = 64, norm: str = "batch", dropout=0.5
    ) -> None:
        super().__init__()
        if depth < 5:
            raise ValueError(f"a U-Net needs at least 5 levels (the 4 outer ones widen), got depth={depth}")
        top = 8 * width
        level: nn.Module = UNetLevel(top, top, submodule=None, norm=norm)  # bottom: 2x2 -> 1x1 -> 2x2
        for i in range(depth - 5):  # 8x-width middle levels; the paper's dropout sits on the three lowest
            level = UNetLevel(top, top, submodule=level, norm=norm, dropout=dropout if i < 3 else 0.0)
        for outer in (4 * width, 2 * width, width):
            level = UNetLevel(outer, 2 * outer, submodule=level, norm=norm)
        self.net = UNetLevel(
            width, width, submodule=level, norm=norm, in_channels=in_channels, out_channels=out_channels
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (N, in, H, W) -> (N, out, H, W)


# -- CycleGAN: ResNet generator ----------------------------------------------------------------------------------


class ResidualBlock(nn.Module):
    """x + (reflect-pad, 3x3 conv, norm, ReLU, reflect-pad, 3x3 conv, norm)(x): same shape in and out."""

    def __init__(self, channels: int, norm: str, dropout: float = 0.0) -> None:
        super().__init__()
        bias, Norm = uses_bias(norm), norm_layer(norm)
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            Norm(channels),
            nn.ReLU(True),
        ]
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), Norm(channels)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResNetGenerator(nn.Module):
    """CycleGAN's generator (Johnson et al. 2016's): c7s1-w, d2w, d4w, ``blocks`` x R4w, u2w, uw, c7s1-out.

    Reflection padding against border artefacts; instance norm in the paper. 6 blocks at 128 px, 9 at 256.
    """

    def __init__(
        self, in_channels: int, out_channels: int, width: int = 64, blocks: int = 9, norm: str = "instance"
    ) -> None:
        super().__init__()
        bias, Norm = uses_bias(norm), norm_layer(norm)
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, width, 7, bias=bias),  # (N, w, H, W)
            Norm(width),
            nn.ReLU(True),
        ]
        for k in (1, 2):  # (N, 2w, H/2, W/2), (N, 4w, H/4, W/4)
            layers += [nn.Conv2d(width * k, width * 2 * k, 3, 2, 1, bias=bias), Norm(width * 2 * k), nn.ReLU(True)]
        layers += [ResidualBlock(4 * width, norm) for _ in range(blocks)]
        for k in (4, 2):  # (N, 2w, H/2, W/2), (N, w, H, W)
            layers += [
                nn.ConvTranspose2d(width * k, width * k // 2, 3, 2, 1, output_padding=1, bias=bias),
                Norm(width * k // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, out_channels, 7), nn.Tanh()]  # (N, out, H, W)
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


# -- PatchGAN discriminator --------------------------------------------------------------------------------------


def patch_receptive_field(layers: int) -> int:
    """Receptive field of one output of ``PatchDiscriminator(layers=...)`` in input pixels: 70 for 3 (the
    papers' 70x70 PatchGAN), 16 for 1, 34 for 2, 142 for 4."""
    field = 1
    # walk back from the output: two stride-1 4x4 convs, then `layers` stride-2 4x4 convs
    for stride in [1, 1] + [2] * layers:
        field = (field - 1) * stride + 4
    return field


class PatchDiscriminator(nn.Module):
    """PatchGAN (Isola et al. 2017): ``layers`` stride-2 4x4 convs, one stride-1 conv, then a 1-channel conv: a
    grid of logits, each judging one ``patch_receptive_field(layers)``-pixel patch. No norm on the first layer.

    Returns the logit map ``(N, 1, h, w)``; the losses average over it (every patch is a real/fake decision).
    """

    def __init__(self, in_channels: int, width: int = 64, layers: int = 3, norm: str = "batch") -> None:
        super().__init__()
        bias, Norm = uses_bias(norm), norm_layer(norm)
        blocks: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        channels = width
        for n in range(1, layers + 1):
            out = width * min(2**n, 8)
            stride = 2 if n < layers else 1  # the last widening conv keeps the size
            blocks += [nn.Conv2d(channels, out, 4, stride, 1, bias=bias), Norm(out), nn.LeakyReLU(0.2, True)]
            channels = out
        blocks.append(nn.Conv2d(channels, 1, 4, 1, 1))  # (N, 1, h, w)
        self.net = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


# -- CycleGAN's pool of earlier fakes ----------------------------------------------------------------------------


class ImagePool:
    """The last ``size`` generated images (Shrivastava et al. 2017; CycleGAN's 50): D sees a mix of new fakes and
    older ones, which damps oscillation. Until full, every fake is stored and passed on; then each new fake is,
    with probability 1/2, swapped for a random stored one (which D sees instead).

    Its images, fill count and random generator state are checkpointed (``state`` / ``load``), so a resumed run
    replays exactly what the uninterrupted one would have.
    """

    def __init__(self, size: int, shape: tuple[int, ...], device: torch.device, seed: int = 0) -> None:
        self.size = size
        self.images = torch.zeros((size, *shape), device=device)
        self.filled = 0
        self.rng = torch.Generator().manual_seed(seed)  # its own stream: pool choices never shift other draws

    def query(self, fakes: torch.Tensor) -> torch.Tensor:
        """The images D should see for this batch of (detached) ``fakes``."""
        if self.size == 0:
            return fakes
        out = fakes.clone()
        # draws for the whole batch at once (one call each), then the per-image rule
        coins = torch.rand(len(fakes), generator=self.rng)
        slots = torch.randint(self.size, (len(fakes),), generator=self.rng)
        for i in range(len(fakes)):
            if self.filled < self.size:
                self.images[self.filled] = fakes[i]
                self.filled += 1
            elif coins[i] < 0.5:
                j = int(slots[i])
                out[i] = self.images[j]
                self.images[j] = fakes[i]
        return out

    def state(self, prefix: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """(tensors, JSON values) for a checkpoint, under ``prefix``."""
        return {f"{prefix}.images": self.images, f"{prefix}.rng": self.rng.get_state()}, {
            f"{prefix}.filled": self.filled
        }

    def load(self, prefix: str, tensors: dict[str, torch.Tensor], extra: dict[str, Any]) -> None:
        """Restore what ``state`` saved."""
        self.images.copy_(tensors[f"{prefix}.images"])
        self.rng.set_state(tensors[f"{prefix}.rng"].cpu())
        self.filled = int(extra[f"{prefix}.filled"])
