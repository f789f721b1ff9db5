"""Sampling throughput of a DCGAN-64 generator: PyTorch eager, ONNX Runtime in-process, and ``ganzoo serve``.

One run measures, on the same machine state:

1. the fp32 matmul peak (``torch.mm`` 2048^2, best probe before, between and after the timings);
2. the generator's forward FLOPs per image (``FlopCounterMode``);
3. images/second at batch 1, 16 and 64 for ``Generator.sample`` (PyTorch eager) and ``OnnxGenerator.run``
   (ONNX Runtime, CPU provider), with the share of the matmul peak;
4. ``ganzoo serve`` in its own process, driven by the stock ``tritonclient.http`` with 1 and 8 concurrent clients
   asking for 16 images each (binary tensors): images/second, p50/p99 latency, and the ratio to in-process ONNX
   Runtime at batch 64 (the server's batch size);
5. time to first image in a fresh process: ``OnnxGenerator(path).sample(16)`` and ``ganzoo.load(folder).sample(16)``
   (inside the process, and the whole process from the outside).

Run from the repository root (``--model`` takes a folder or zoo name; default: a fresh DCGAN-64, whose speed is
the same as a trained one's)::

    python benchmarks/sample_throughput.py --json benchmarks/results/sample_throughput.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import subpixel
from peak import fma_peak
from train_dcgan import cpu_name, logical_cpus, matmul_peak

import ganzoo
from ganzoo.exporters.onnx import export_onnx
from ganzoo.exporters.runtime import OnnxGenerator


def forward_flops_per_image(generator: ganzoo.Generator, batch: int = 64) -> float:
    """FLOPs of one generator forward pass per image."""
    z = generator.latents(batch, seed=0)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        generator.module.eval()(z)
    return counter.get_total_flops() / batch


def images_per_second(run: Any, z: np.ndarray, seconds: float) -> dict[str, float]:
    """Call ``run(z)`` repeatedly for about ``seconds``; median and best images/second over the calls."""
    run(z)  # warm-up
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < 3:
        start = time.perf_counter()
        run(z)
        times.append(time.perf_counter() - start)
    n = len(z)
    return {"median": n / statistics.median(times), "best": n / min(times), "calls": len(times)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(onnx_path: Path, max_batch_size: int, delay_ms: float) -> tuple[subprocess.Popen, str]:
    """``ganzoo serve`` in its own process (its event loop must not share our GIL); returns it and its address."""
    import httpx

    port = _free_port()
    cmd = [sys.executable, "-m", "ganzoo.cli", "serve", f"bench={onnx_path}", "--port", str(port)]
    cmd += ["--max-batch-size", str(max_batch_size), "--max-queue-delay-ms", str(delay_ms)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1).status_code == 200:
                return proc, f"127.0.0.1:{port}"
        except httpx.TransportError:
            time.sleep(0.1)
        if proc.poll() is not None:
            raise RuntimeError(f"ganzoo serve exited: {proc.stderr.read()}")
    proc.kill()
    raise RuntimeError("ganzoo serve did not become ready in 60 s")


def drive_server(url: str, clients: int, n: int, z_dim: int, seconds: float) -> dict[str, float]:
    """``clients`` threads, each sending 16-image requests back to back with tritonclient.http for ``seconds``."""
    import tritonclient.http as triton_http

    latencies: list[list[float]] = [[] for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)
    stop = threading.Event()

    def client(i: int) -> None:
        conn = triton_http.InferenceServerClient(url)
        z = np.random.default_rng(i).standard_normal((n, z_dim), dtype=np.float32)
        inp = triton_http.InferInput("z", [n, z_dim], "FP32")
        inp.set_data_from_numpy(z)
        out = triton_http.InferRequestedOutput("images")
        conn.infer("bench", [inp], outputs=[out])  # warm-up, connection set up
        barrier.wait()
        while not stop.is_set():
            start = time.perf_counter()
            result = conn.infer("bench", [inp], outputs=[out])
            result.as_numpy("images")
            latencies[i].append(time.perf_counter() - start)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    flat = sorted(x for per in latencies for x in per)
    done = len(flat)
    return {
        "clients": clients,
        "images_per_request": n,
        "requests": done,
        "images_per_second": done * n / elapsed,
        "p50_ms": 1000 * flat[len(flat) // 2],
        "p99_ms": 1000 * flat[min(len(flat) - 1, int(0.99 * len(flat)))],
    }


def cold_start(code: str) -> dict[str, float]:
    """Run ``code`` in a fresh interpreter; it prints its own in-process seconds. Also the whole process's wall time."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {"in_process_s": float(out.stdout.strip().splitlines()[-1]), "process_s": time.perf_counter() - start}


def peak_rss_mb(pid: int) -> float | None:
    """A process's peak resident memory (VmHWM from /proc; None where there is no /proc)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def median_of(measure: Any, runs: int) -> dict[str, float]:
    """The median of each number ``measure()`` returns over ``runs`` calls (and the runs themselves)."""
    results = [measure() for _ in range(runs)]
    out = {key: statistics.median(r[key] for r in results) for key in results[0]}
    out["runs"] = runs
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run everything, print the table, optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="generator folder or zoo name (default: fresh DCGAN-64)")
    parser.add_argument("--seconds", type=float, default=4.0, help="timing window per measurement")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--server-batch", type=int, default=64, help="ganzoo serve --max-batch-size")
    parser.add_argument("--server-delay-ms", type=float, default=2.0, help="ganzoo serve --max-queue-delay-ms")
    parser.add_argument("--cold-runs", type=int, default=5, help="fresh processes per cold-start measurement")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    generator = ganzoo.load(args.model) if args.model else ganzoo.create("dcgan", seed=0)
    generator.eval()
    work = Path(tempfile.mkdtemp(prefix="ganzoo-bench-"))
    folder = work / "model"
    ganzoo.save(generator, folder)
    onnx_path = export_onnx(generator, work / "model.onnx").path
    og = OnnxGenerator(onnx_path, providers=["cpu"])
    z_example = torch.randn(2, generator.z_dim)
    subpixel_error = subpixel.check(generator.module, z_example)
    subpixel_path = work / "subpixel.onnx"
    torch.onnx.export(
        subpixel.rewrite(generator.module).eval(),
        (z_example,),
        str(subpixel_path),
        input_names=["z"],
        output_names=["images"],
        dynamic_shapes=({0: torch.export.Dim("batch")},),
        dynamo=True,
        verbose=False,
    )
    import onnxruntime

    subpixel_session = onnxruntime.InferenceSession(str(subpixel_path), providers=["CPUExecutionProvider"])
    flops = forward_flops_per_image(generator)
    peaks = [matmul_peak()]

    rows = []
    for batch in args.batches:
        z = np.random.default_rng(batch).standard_normal((batch, generator.z_dim), dtype=np.float32)
        zt = torch.from_numpy(z)
        eager = images_per_second(lambda _z, zt=zt: generator.sample(z=zt, output="raw"), z, args.seconds)
        ort = images_per_second(og.run, z, args.seconds)
        row = {"batch": batch, "pytorch_eager": eager, "onnxruntime": ort}
        # not float32, so not in the % of peak: bfloat16 autocast in eager (AMX / AVX-512 BF16 CPUs)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            row["pytorch_eager_bf16"] = images_per_second(
                lambda _z, zt=zt: generator.sample(z=zt, output="raw"), z, args.seconds
            )
        row["onnxruntime_subpixel"] = images_per_second(
            lambda zz: subpixel_session.run(None, {"z": zz})[0], z, args.seconds
        )
        rows.append(row)
    peaks.append(matmul_peak())

    proc, url = start_server(onnx_path, args.server_batch, args.server_delay_ms)
    try:
        served = [drive_server(url, c, 16, generator.z_dim, 2 * args.seconds) for c in (1, 8)]
        served[-1]["server_peak_rss_mb"] = peak_rss_mb(proc.pid)  # after 1 and then 8 clients
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    peaks.append(matmul_peak())

    onnx_code = (
        "import time; t = time.perf_counter()\n"
        "from ganzoo.exporters.runtime import OnnxGenerator\n"
        f"OnnxGenerator({str(onnx_path)!r}).sample(16, seed=0)\n"
        "print(time.perf_counter() - t)"
    )
    load_code = (
        "import time; t = time.perf_counter()\n"
        "import ganzoo\n"
        f"ganzoo.load({str(folder)!r}).sample(16, seed=0)\n"
        "print(time.perf_counter() - t)"
    )
    zoo_code = (
        "import time; t = time.perf_counter()\n"
        "import ganzoo\n"
        "ganzoo.load('dcgan-celeba').sample(16, seed=0)\n"
        "print(time.perf_counter() - t)"
    )
    cold = {
        name: median_of(lambda code=code: cold_start(code), args.cold_runs)
        for name, code in (("onnx_generator", onnx_code), ("ganzoo_load", load_code), ("zoo_dcgan_celeba", zoo_code))
    }

    peak = max(peaks)
    for row in rows:
        for key in ("pytorch_eager", "onnxruntime", "onnxruntime_subpixel"):
            row[key]["share_of_peak"] = row[key]["median"] * flops / 1e9 / peak
    in_process_64 = next((r["onnxruntime"]["median"] for r in rows if r["batch"] == args.server_batch), None)
    for s in served:
        s["vs_in_process_batch_64"] = s["images_per_second"] / in_process_64 if in_process_64 else None
    report = {
        "date": datetime.date.today().isoformat(),
        "cpu": cpu_name(),
        "cpu_count": logical_cpus(),
        "torch": torch.__version__,
        "onnxruntime": __import__("onnxruntime").__version__,
        "model": args.model or "fresh dcgan (64x64, widths 64, z_dim 100)",
        "peak_gflops": peak,
        "peak_probes": peaks,
        "fma_peak": fma_peak(),
        "subpixel_max_abs_error": subpixel_error,
        "gflop_per_image": flops / 1e9,
        "in_process": rows,
        "server": served,
        "cold_start": cold,
    }
    print_report(report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")
    return report


def print_report(r: dict[str, Any]) -> None:
    """The human-readable tables."""
    print(f"\n{r['date']}  {r['cpu']} ({r['cpu_count']} CPUs), torch {r['torch']}, onnxruntime {r['onnxruntime']}")
    probes = ", ".join(f"{p:.0f}" for p in r["peak_probes"])
    print(f"model: {r['model']}; {r['gflop_per_image']:.3f} GFLOP per image")
    print(f"fp32 matmul peak: {r['peak_gflops']:.1f} GFLOP/s (probes {probes})\n")
    print(
        f"{'batch':>5}  {'eager img/s':>11} {'% peak':>7}  {'onnxruntime img/s':>17} {'% peak':>7}  {'ort/eager':>9}"
        f"  {'ort sub-pixel':>13}  {'eager bf16':>10}"
    )
    for row in r["in_process"]:
        e, o, sp, bf = row["pytorch_eager"], row["onnxruntime"], row["onnxruntime_subpixel"], row["pytorch_eager_bf16"]
        print(
            f"{row['batch']:>5}  {e['median']:>11.1f} {100 * e['share_of_peak']:>6.1f}%  "
            f"{o['median']:>17.1f} {100 * o['share_of_peak']:>6.1f}%  {o['median'] / e['median']:>8.2f}x"
            f"  {sp['median']:>13.1f}  {bf['median']:>10.1f}"
        )
    print(f"\n{'ganzoo serve':<14} {'img/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'vs in-process b64':>18}")
    for s in r["server"]:
        ratio = s["vs_in_process_batch_64"]
        label = f"{s['clients']} x 16 img"
        print(
            f"{label:<14} {s['images_per_second']:>7.1f} {s['p50_ms']:>7.1f} {s['p99_ms']:>7.1f} "
            f"{'' if ratio is None else f'{100 * ratio:.1f}%':>18}"
        )
    print("\ntime to first image (16 images, fresh process):")
    for name, c in r["cold_start"].items():
        print(f"  {name:<15} {c['in_process_s']:.2f} s in the process, {c['process_s']:.2f} s whole process")


if __name__ == "__main__":
    main()
