"""The sub-pixel rewrite of a stride-2 transposed convolution, measured for ONNX export (issue 20).

A ``ConvTranspose2d(k=4, s=2, p=1)`` equals four stride-1 convolutions of the input followed by depth-to-space
(Shi et al. 2016's sub-pixel convolution): output row ``2m`` takes input rows ``m-1, m`` with kernel rows 3 and 1,
row ``2m+1`` takes rows ``m, m+1`` with kernel rows 2 and 0 (the same for columns). The four phases fit one 3x3
convolution with ``4 * C_out`` outputs (zeros where a phase does not use a tap) and a ``PixelShuffle(2)``.

It is exact up to float rounding (``check``), but it was measured slower than ONNX Runtime's own ConvTranspose
on the CPUs we had (``benchmarks/README.md``: the 3x3 form does 2.25x the multiply-adds, the four 2x2 form pays for
its slices), so the exporter does not apply it; this module keeps the rewrite so it can be re-measured on other
machines: ``sample_throughput.py`` times it beside the plain export.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

#: for output phase 0 (even rows) and 1 (odd rows): (tap of the 3x3 kernel, row of the 4x4 transposed kernel)
PHASE_TAPS = {0: ((0, 3), (1, 1)), 1: ((1, 2), (2, 0))}


class SubPixelConvTranspose(nn.Module):
    """A ``ConvTranspose2d(k=4, s=2, p=1)`` as a 3x3 convolution to 4x the channels and a pixel shuffle."""

    def __init__(self, transposed: nn.ConvTranspose2d) -> None:
        super().__init__()
        weight = transposed.weight.detach()  # (C_in, C_out, 4, 4)
        c_in, c_out = weight.shape[:2]
        kernel = torch.zeros(c_out, 2, 2, c_in, 3, 3, dtype=weight.dtype)  # (C_out, phase y, phase x, C_in, 3, 3)
        for py, rows in PHASE_TAPS.items():
            for px, cols in PHASE_TAPS.items():
                for ty, ky in rows:
                    for tx, kx in cols:
                        kernel[:, py, px, :, ty, tx] = weight[:, :, ky, kx].t()
        self.conv = nn.Conv2d(c_in, 4 * c_out, 3, 1, 1, bias=transposed.bias is not None)
        self.conv.weight.data = kernel.reshape(4 * c_out, c_in, 3, 3)  # channel c*4 + 2*py + px: PixelShuffle's order
        if transposed.bias is not None:
            self.conv.bias.data = transposed.bias.detach().repeat_interleave(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(self.conv(x), 2)  # (N, 4 C_out, H, W) -> (N, C_out, 2H, 2W)


def rewrite(module: nn.Module) -> nn.Module:
    """A copy of ``module`` with every ``ConvTranspose2d(k=4, s=2, p=1)`` (no groups, dilation or output padding)
    replaced by its sub-pixel form."""
    module = copy.deepcopy(module)
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            plain = child.groups == 1 if isinstance(child, nn.ConvTranspose2d) else False
            if (
                plain
                and child.kernel_size == (4, 4)
                and child.stride == (2, 2)
                and child.padding == (1, 1)
                and child.dilation == (1, 1)
                and child.output_padding == (0, 0)
            ):
                setattr(parent, name, SubPixelConvTranspose(child))
    return module


def check(module: nn.Module, example: torch.Tensor) -> float:
    """Largest |rewritten - original| on ``example`` (float rounding only: about 1e-6 for DCGAN-64)."""
    with torch.no_grad():
        return float((rewrite(module).eval()(example) - module.eval()(example)).abs().max())
