"""DCGAN-64 on one CUDA GPU: ganzoo's training step against the pytorch/examples step, and sampling in PyTorch eager
against ONNX Runtime's CUDA and TensorRT execution providers. Run by ``benchmarks/gpu.sh`` in well under 10 minutes.

Training (batch 64 and 256, random uint8 faces already on the GPU: speed does not depend on the pictures):
  - the pytorch/examples ``dcgan/main.py`` step (``train_dcgan.ReferenceTrainer`` moved to the GPU), fp32;
  - ``ganzoo.train(device="cuda")`` with fp32 or bf16 autocast (``amp``), channels_last, eager or ``compile``.
  Each step is timed between two ``torch.cuda.synchronize()`` calls (the train() callback syncs by reading the
  metrics); the first ``--warmup`` steps (cuDNN autotuning, compilation) are not timed.
Sampling (batch 64 and 1024): eager fp32, eager bf16 autocast, and the exported ``.onnx`` on every GPU execution
provider the installed onnxruntime has (``onnxruntime-gpu`` gives CUDA and, with TensorRT, TensorRT); a missing one
is reported as unavailable, never silently skipped.

Writes one JSON report (``--json``); ``benchmarks/README.md`` quotes it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_dcgan import BETAS, LR, ReferenceTrainer, useful_flops_per_image

import ganzoo
from ganzoo.data import InMemoryData

DEVICE = torch.device("cuda")


def _images(n: int) -> InMemoryData:
    return InMemoryData(torch.randint(0, 256, (n, 3, 64, 64), dtype=torch.uint8))


def time_reference(batch: int, warmup: int, steps: int) -> list[float]:
    """Seconds per pytorch/examples step on the GPU (its own code, moved to CUDA)."""
    torch.set_default_device(DEVICE)  # the reference makes its labels and noise without a device argument
    try:
        trainer = ReferenceTrainer()
        real = torch.rand(batch, 3, 64, 64) * 2 - 1
        times = []
        for i in range(warmup + steps):
            torch.cuda.synchronize()
            start = time.perf_counter()
            trainer.step(real)  # .item() calls inside sync as the original does
            torch.cuda.synchronize()
            if i >= warmup:
                times.append(time.perf_counter() - start)
        return times
    finally:
        torch.set_default_device(None)


def time_ganzoo(batch: int, warmup: int, steps: int, amp: bool, compile: bool) -> list[float]:
    """Seconds per ``ganzoo.train`` step (the loop users run: sampling, D and G steps, EMA, metrics)."""
    times: list[float] = []
    last: list[float] = []

    def callback(step: int, metrics: dict[str, float], state: Any) -> None:
        torch.cuda.synchronize()
        now = time.perf_counter()
        if last and step > warmup:
            times.append(now - last[0])
        last[:] = [now]

    ganzoo.train(
        "dcgan",
        _images(max(4096, batch * 4)),
        device="cuda",
        steps=warmup + steps,
        batch_size=batch,
        lr=LR,
        betas=BETAS,
        amp=amp,
        compile=compile,
        log_every=1,
        progress=False,
        callbacks=[callback],
        image_size=64,
        z_dim=100,
        g_width=64,
        d_width=64,
    )
    return times


def time_sampling(run: Any, seconds: float = 3.0) -> float:
    """Images per second of ``run()`` (which returns a batch), best of three windows of ``seconds / 3``."""
    run()
    torch.cuda.synchronize()
    rates = []
    for _ in range(3):
        start, images = time.perf_counter(), 0
        while time.perf_counter() - start < seconds / 3:
            images += len(run())
        torch.cuda.synchronize()
        rates.append(images / (time.perf_counter() - start))
    return max(rates)


def sampling(batch_sizes: list[int]) -> dict[str, Any]:
    """Eager fp32 / bf16 and every available ONNX Runtime GPU provider, images per second."""
    generator = ganzoo.load("dcgan-celeba", device="cuda")
    module = generator.module.eval().to(memory_format=torch.channels_last)
    out: dict[str, Any] = {}
    try:
        import onnxruntime as ort

        available = ort.get_available_providers()
    except ImportError:
        ort, available = None, []
    onnx_path = Path(tempfile.mkdtemp()) / "dcgan.onnx"
    ganzoo.export(ganzoo.load("dcgan-celeba"), onnx_path, format="onnx")
    providers = {
        "onnxruntime CUDA": ["CUDAExecutionProvider"],
        "onnxruntime TensorRT": ["TensorrtExecutionProvider", "CUDAExecutionProvider"],
    }
    for batch in batch_sizes:
        z = torch.randn(batch, generator.z_dim, device=DEVICE)
        row: dict[str, Any] = {}
        with torch.inference_mode():
            row["eager fp32"] = time_sampling(lambda z=z: module(z))
            with torch.autocast("cuda", dtype=torch.bfloat16):
                row["eager bf16 autocast"] = time_sampling(lambda z=z: module(z))
        z_host = z.float().cpu().numpy()
        for name, wanted in providers.items():
            if ort is None or wanted[0] not in available:
                row[name] = f"unavailable (onnxruntime providers: {available or 'onnxruntime not installed'})"
                continue
            session = ort.InferenceSession(str(onnx_path), providers=wanted)
            binding = session.io_binding()  # inputs and outputs stay on the GPU: no host copies in the timing
            z_gpu = ort.OrtValue.ortvalue_from_numpy(z_host, "cuda", 0)
            binding.bind_ortvalue_input("z", z_gpu)
            binding.bind_output(session.get_outputs()[0].name, "cuda", 0)

            def run(session: Any = session, binding: Any = binding, n: int = batch) -> np.ndarray:
                session.run_with_iobinding(binding)
                return np.empty(n)  # only the count matters

            row[name] = time_sampling(run)
        out[str(batch)] = row
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--no-compile", action="store_true", help="skip the compiled runs (the slowest to start)")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/gpu.json"))
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run this on a GPU machine (benchmarks/gpu.sh)")
    torch.backends.cudnn.benchmark = True
    report: dict[str, Any] = {
        "gpu": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"),
        "training": {},
    }
    for batch in args.batches:
        flops = useful_flops_per_image(batch)
        rows = {"pytorch/examples fp32": time_reference(batch, args.warmup, args.steps)}
        for amp in (False, True):
            for compile in (False,) if args.no_compile else (False, True):
                name = f"ganzoo {'bf16' if amp else 'fp32'}{' compiled' if compile else ''}"
                rows[name] = time_ganzoo(batch, args.warmup, args.steps, amp, compile)
        base = statistics.median(rows["pytorch/examples fp32"])
        report["training"][str(batch)] = {
            name: {
                "images_per_second": batch / statistics.median(times),
                "tflops": flops * batch / statistics.median(times) / 1e12,
                "vs_pytorch_examples": base / statistics.median(times),
            }
            for name, times in rows.items()
        }
        print(json.dumps({batch: report["training"][str(batch)]}, indent=1), flush=True)
    report["sampling_images_per_second"] = sampling([64, 1024])
    print(json.dumps(report["sampling_images_per_second"], indent=1))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
