"""The machine's fp32 peak, measured the way the speed benchmarks quote it, and the CPU's theoretical FMA peak.

Why several GEMMs: a single ``torch.mm`` probe is not a sound yardstick. On an AMD EPYC (Zen 5) MKL's ``torch.mm``
reached 186 GFLOP/s while ganzoo's oneDNN convolutions ran at 261 GFLOP/s ("140 % of peak"). So the measured peak
is the best of three GEMM engines on the same machine state: MKL (``torch.mm``), oneDNN (a 1x1 convolution, which
is a GEMM, in channels_last) and ONNX Runtime's MLAS (a ``MatMul`` graph). Shares of peak are quoted against the
best of them; the theoretical FMA peak (cores x FMA pipes x SIMD lanes x 2 x clock) is printed beside it, with its
assumptions, because a VM does not say how many FMA pipes its cores have.

Run: ``python benchmarks/peak.py`` (prints a JSON report).
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch


def _best_seconds(run: Any, repeats: int) -> float:
    run()  # warm-up: thread pools, page faults, the library's own buffers
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def torch_mm(n: int = 2048, repeats: int = 10) -> float:
    """GFLOP/s of ``torch.mm`` on two n x n float32 matrices (MKL on x86)."""
    a, b, out = torch.randn(n, n), torch.randn(n, n), torch.empty(n, n)
    return 2 * n**3 / _best_seconds(lambda: torch.mm(a, b, out=out), repeats) / 1e9


def onednn_conv(batch: int = 64, channels: int = 512, side: int = 16, repeats: int = 10) -> float:
    """GFLOP/s of a 1x1 convolution in channels_last (oneDNN): a (batch*side^2) x channels x channels GEMM."""
    x = torch.randn(batch, channels, side, side).to(memory_format=torch.channels_last)
    conv = torch.nn.Conv2d(channels, channels, 1, bias=False).to(memory_format=torch.channels_last).eval()
    flops = 2 * batch * side * side * channels * channels
    with torch.no_grad():
        return flops / _best_seconds(lambda: conv(x), repeats) / 1e9


def onnxruntime_matmul(n: int = 2048, repeats: int = 10) -> float | None:
    """GFLOP/s of an ONNX ``MatMul`` of two n x n float32 matrices in ONNX Runtime (MLAS); None without it."""
    try:
        import onnx
        import onnxruntime as ort
        from onnx import TensorProto, helper
    except ImportError:
        return None
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])],
        "matmul",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, [n, n]) for name in ("a", "b")],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = min(model.ir_version, 9)
    onnx.checker.check_model(model)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {"a": np.random.rand(n, n).astype(np.float32), "b": np.random.rand(n, n).astype(np.float32)}
    return 2 * n**3 / _best_seconds(lambda: session.run(None, feeds), repeats) / 1e9


def measured_peak(repeats: int = 10) -> dict[str, Any]:
    """Each GEMM engine's GFLOP/s and the best of them (``best``), measured now."""
    engines = {"torch_mm": torch_mm(repeats=repeats), "onednn_conv1x1": onednn_conv(repeats=repeats)}
    ort = onnxruntime_matmul(repeats=repeats)
    if ort is not None:
        engines["onnxruntime_matmul"] = ort
    return {**engines, "best": max(engines.values()), "best_engine": max(engines, key=engines.get)}


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def fma_peak() -> dict[str, Any]:
    """The CPU's theoretical fp32 FMA peak, ``cores x FMA pipes x SIMD lanes x 2 x GHz``, with each factor.

    Lanes come from the flags (AVX-512: 16 float32, AVX2 + FMA: 8, else SSE: 4); the clock from /proc/cpuinfo's
    "cpu MHz" (what the VM reports; turbo may be higher); FMA pipes are assumed 2 per core (server Intel cores and
    AMD Zen 4/5; Zen 4 runs AVX-512 as two 256-bit halves, so its real AVX-512 peak is half this). AMX/AVX-512
    bf16 units, when present, are listed but not counted: the fp32 peak is what fp32 work can reach.
    """
    text = _cpuinfo()
    flags = set(re.search(r"^flags\s*:\s*(.*)$", text, re.M).group(1).split()) if "flags" in text else set()
    lanes = 16 if "avx512f" in flags else 8 if {"avx2", "fma"} <= flags else 4
    mhz = [float(m) for m in re.findall(r"^cpu MHz\s*:\s*([\d.]+)", text, re.M)]
    ghz = max(mhz) / 1000 if mhz else None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    pipes = 2
    return {
        "gflops": cores * pipes * lanes * 2 * ghz if ghz else None,
        "cores": cores,
        "fma_pipes_assumed": pipes,
        "fp32_lanes": lanes,
        "ghz": ghz,
        "bf16_units": sorted(flags & {"avx512_bf16", "amx_bf16", "amx_tile"}),
    }


def report(repeats: int = 10) -> dict[str, Any]:
    """Measured and theoretical peaks, for the benchmarks' JSON."""
    return {"measured": measured_peak(repeats), "fma": fma_peak()}


if __name__ == "__main__":
    print(json.dumps(report(), indent=2))
