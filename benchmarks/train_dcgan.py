"""DCGAN-64 training throughput on CPU: ganzoo's training core against the matmul peak and pytorch/examples.

What one run measures, all on the same machine state:

1. the machine's fp32 matmul peak: ``torch.mm`` of two square float32 matrices, best of several, probed before,
   between and after the training runs (the best probe is the peak);
2. the useful work per training image: ``FlopCounterMode`` over one real training step of the pytorch/examples
   DCGAN (G forward, D forward on real and fake, D backward, then D forward + backward through D and G for the
   G step, with every weight gradient), divided by the batch size;
3. ganzoo's training step: ``ganzoo.train("dcgan", ..., progress=False)`` with a callback that times every
   step (so it is exactly the loop users run: data sampling, D step, G step, EMA update, metrics);
4. the baseline: a faithful re-implementation of the pytorch/examples ``dcgan/main.py`` training step
   (``nn.Sequential`` G and D, Sigmoid + BCELoss, separate D passes on real and fake) with the images already in
   memory as float tensors.

The share of peak is ``useful FLOPs per image * images per second / matmul peak``: work that a step skips (e.g.
D's weight gradients in the G step) counts as a speed-up, not as lost FLOPs.

Run from the repository root::

    python benchmarks/train_dcgan.py                   # ganzoo (channels_last) + baseline
    python benchmarks/train_dcgan.py --sweep --json out.json   # every setting in one run
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ctypes.util
import datetime
import functools
import json
import os
import platform
import statistics
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import ganzoo
from ganzoo.data import InMemoryData, resolve_data

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT / ".." / "shared" / "datasets" / "celeba64" / "celeba64_uint8.npz"

# The issue's DCGAN-64: pytorch/examples' sizes (nz=100, ngf=ndf=64, 64x64 RGB) and optimiser settings.
Z_DIM, WIDTH, IMAGE_SIZE, CHANNELS = 100, 64, 64, 3
LR, BETAS = 2e-4, (0.5, 0.999)


# glibc mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


def tune_malloc(threshold: int = 1 << 30) -> bool:
    """Keep freed memory in the heap for reuse instead of returning it to the OS (glibc only).

    By default glibc serves big blocks (activations, gradients: megabytes each) with fresh ``mmap`` pages and
    unmaps them on free, so every training step page-faults (and zero-fills) tens of megabytes again. Raising the
    mmap and trim thresholds makes the allocator reuse them. Same as ``MALLOC_MMAP_THRESHOLD_`` and
    ``MALLOC_TRIM_THRESHOLD_`` in the environment; it lasts for the rest of the process.
    """
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is None or not hasattr(libc, "mallopt"):
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, threshold)) and bool(libc.mallopt(M_TRIM_THRESHOLD, threshold))


# -- the machine's matmul peak ---------------------------------------------------------------------------------


from peak import fma_peak  # noqa: E402 - benchmarks/ is on sys.path when these scripts run


def matmul_peak(n: int = 2048, repeats: int = 10) -> float:
    """The measured fp32 peak in GFLOP/s: the best of ``torch.mm`` (MKL), a oneDNN 1x1 convolution and ONNX
    Runtime's ``MatMul`` (``peak.measured_peak``; one engine alone can read low, e.g. MKL on AMD), each best of
    ``repeats``; ``n`` is the matrix size of the two matmul probes."""
    from peak import onednn_conv, onnxruntime_matmul, torch_mm

    engines = [torch_mm(n, repeats), onednn_conv(repeats=repeats), onnxruntime_matmul(n, repeats) or 0.0]
    return max(engines)


# -- the pytorch/examples reference (dcgan/main.py) ------------------------------------------------------------


def weights_init(m: nn.Module) -> None:
    """pytorch/examples' custom initialisation: conv weights N(0, 0.02), batch-norm scales N(1, 0.02)."""
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


class ReferenceGenerator(nn.Module):
    """pytorch/examples' ``Generator``: z (N, nz, 1, 1) -> images (N, nc, 64, 64)."""

    def __init__(self, nz: int = Z_DIM, ngf: int = WIDTH, nc: int = CHANNELS) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z)


class ReferenceDiscriminator(nn.Module):
    """pytorch/examples' ``Discriminator``: images -> probabilities (N, 1, 1, 1) through a Sigmoid."""

    def __init__(self, ndf: int = WIDTH, nc: int = CHANNELS) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.main(images)


class ReferenceTrainer:
    """One training iteration of pytorch/examples ``dcgan/main.py``, line for line (minus the data loader)."""

    def __init__(self, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.net_g = ReferenceGenerator()
        self.net_g.apply(weights_init)
        self.net_d = ReferenceDiscriminator()
        self.net_d.apply(weights_init)
        self.criterion = nn.BCELoss()
        self.optimizer_d = torch.optim.Adam(self.net_d.parameters(), lr=LR, betas=BETAS)
        self.optimizer_g = torch.optim.Adam(self.net_g.parameters(), lr=LR, betas=BETAS)
        self.real_label, self.fake_label = 1.0, 0.0

    def step(self, real: torch.Tensor) -> dict[str, float]:
        """(1) Update D: maximise log(D(x)) + log(1 - D(G(z))); (2) update G: maximise log(D(G(z)))."""
        net_g, net_d, criterion = self.net_g, self.net_d, self.criterion
        # train with real
        net_d.zero_grad()
        batch_size = real.size(0)
        label = torch.full((batch_size,), self.real_label, dtype=real.dtype)
        output = net_d(real).view(-1, 1).squeeze(1)
        err_d_real = criterion(output, label)
        err_d_real.backward()
        d_x = output.mean().item()
        # train with fake
        noise = torch.randn(batch_size, Z_DIM, 1, 1)
        fake = net_g(noise)
        label.fill_(self.fake_label)
        output = net_d(fake.detach()).view(-1, 1).squeeze(1)
        err_d_fake = criterion(output, label)
        err_d_fake.backward()
        d_g_z1 = output.mean().item()
        err_d = err_d_real + err_d_fake
        self.optimizer_d.step()
        # (2) update G
        net_g.zero_grad()
        label.fill_(self.real_label)  # fake labels are real for generator cost
        output = net_d(fake).view(-1, 1).squeeze(1)
        err_g = criterion(output, label)
        err_g.backward()
        d_g_z2 = output.mean().item()
        self.optimizer_g.step()
        return {"d_loss": err_d.item(), "g_loss": err_g.item(), "d_real": d_x, "d_fake": d_g_z1, "d_g_z2": d_g_z2}


def useful_flops_per_image(batch_size: int) -> float:
    """FLOPs of one pytorch/examples training step (every weight gradient included), per training image."""
    trainer = ReferenceTrainer()
    real = torch.rand(batch_size, CHANNELS, IMAGE_SIZE, IMAGE_SIZE) * 2 - 1
    with FlopCounterMode(display=False) as counter:
        trainer.step(real)
    return counter.get_total_flops() / batch_size


# -- timed runs ------------------------------------------------------------------------------------------------


@dataclass
class Setting:
    """One configuration of ganzoo's training loop (or the baseline) to time."""

    name: str
    baseline: bool = False  # the pytorch/examples re-implementation instead of ganzoo.train
    channels_last: bool = True
    # False: train()'s default joint D pass (batch norm per half); True: pytorch/examples-style two passes
    separate_d_batches: bool = False
    threads: int | None = None  # torch.set_num_threads for this run; None: leave as it is
    adam: str = "fused"  # train(adam=...): fused (the default), foreach or loop (torch's CPU default)
    compile: bool = False  # train(compile=True): torch.compile the networks (compiled in the warm-up steps)
    amp: bool = False  # train(amp=True): bfloat16 autocast (fast on CPUs with AMX / AVX-512 BF16)


@dataclass
class Result:
    """Timings of one setting, and what they mean against the peak."""

    setting: Setting
    threads: int
    step_seconds: list[float]
    executed_flops_per_image: float | None = None  # what the step really ran (FlopCounterMode), for reference
    last_metrics: dict[str, float] = field(default_factory=dict)

    @property
    def median(self) -> float:
        """Median seconds per step."""
        return statistics.median(self.step_seconds)

    @property
    def best(self) -> float:
        """Fastest step, in seconds."""
        return min(self.step_seconds)


@contextlib.contextmanager
def num_threads(n: int | None) -> Iterator[int]:
    """Run the block with ``torch.set_num_threads(n)`` (``None``: unchanged); yields the thread count in use."""
    previous = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(previous)


class StepTimer:
    """A ``train()`` callback (called after every step with ``log_every=1``) that times steps.

    Steps ``warmup + 1`` to ``warmup + steps`` are timed from one callback to the next; with ``count_flops`` one
    more step runs under ``FlopCounterMode`` after them (untimed) to count what ganzoo's step executes.
    """

    def __init__(self, warmup: int, steps: int, count_flops: bool) -> None:
        self.warmup, self.steps, self.count_flops = warmup, steps, count_flops
        self.times: list[float] = []
        self.last: float | None = None
        self.counter: FlopCounterMode | None = None
        self.counted_flops: int | None = None
        self.metrics: dict[str, float] = {}

    @property
    def total_steps(self) -> int:
        """How many steps ``train()`` must run."""
        return self.warmup + self.steps + (1 if self.count_flops else 0)

    def __call__(self, step: int, metrics: dict[str, float], state: Any) -> None:
        now = time.perf_counter()
        if self.counter is not None:
            self.counter.__exit__(None, None, None)
            self.counted_flops = self.counter.get_total_flops()
            self.counter = None
        if self.last is not None and self.warmup < step <= self.warmup + self.steps:
            self.times.append(now - self.last)
        self.metrics = {k: float(v) for k, v in metrics.items() if k != "seconds"}
        if self.count_flops and step == self.warmup + self.steps:
            self.counter = FlopCounterMode(display=False)
            self.counter.__enter__()
        self.last = time.perf_counter()


def run_ganzoo(dataset: InMemoryData, setting: Setting, args: argparse.Namespace) -> Result:
    """Time ``ganzoo.train`` (DCGAN-64, non-saturating loss, Adam 2e-4 / 0.5) with ``setting``."""
    timer = StepTimer(args.warmup, args.steps, count_flops=not args.no_flop_count)
    with num_threads(setting.threads) as threads:
        ganzoo.train(
            "dcgan",
            dataset,
            loss="non-saturating",
            steps=timer.total_steps,
            batch_size=args.batch_size,
            lr=LR,
            betas=BETAS,
            seed=args.seed,
            device="cpu",
            log_every=1,  # the timer sees every step; the extra cost is a few scalar reads
            channels_last=setting.channels_last,
            separate_d_batches=setting.separate_d_batches,
            adam=setting.adam,
            compile=setting.compile,
            amp=setting.amp,
            progress=False,
            callbacks=[timer],
            image_size=IMAGE_SIZE,
            channels=CHANNELS,
            z_dim=Z_DIM,
            g_width=WIDTH,
            d_width=WIDTH,
        )
    executed = None if timer.counted_flops is None else timer.counted_flops / args.batch_size
    return Result(setting, threads, timer.times, executed, timer.metrics)


def run_baseline(dataset: InMemoryData, setting: Setting, args: argparse.Namespace) -> Result:
    """Time the pytorch/examples training step, batches already in memory as float tensors in [-1, 1]."""
    total = args.warmup + args.steps
    generator = torch.Generator().manual_seed(args.seed)
    index = torch.randperm(len(dataset), generator=generator)
    index = index.repeat(-(-total * args.batch_size // len(index)))[: total * args.batch_size]
    batches = dataset.convert(dataset.data[index]).split(args.batch_size)  # float32, NCHW, contiguous
    trainer = ReferenceTrainer(seed=args.seed)
    times, metrics = [], {}
    with num_threads(setting.threads) as threads:
        for i, real in enumerate(batches):
            start = time.perf_counter()
            metrics = trainer.step(real)
            if i >= args.warmup:
                times.append(time.perf_counter() - start)
    return Result(setting, threads, times, None, metrics)  # executes the reference work by definition


# -- reporting -------------------------------------------------------------------------------------------------


def summarise(result: Result, batch_size: int, flops_per_image: float, peak: float) -> dict[str, Any]:
    """The numbers a result stands for: time per step, images/s, useful GFLOP/s and share of the peak."""
    out: dict[str, Any] = {"setting": asdict(result.setting), "threads": result.threads}
    for kind, seconds in (("median", result.median), ("best", result.best)):
        images = batch_size / seconds
        gflops = flops_per_image * images / 1e9
        out[kind] = {
            "seconds_per_step": seconds,
            "images_per_second": images,
            "useful_gflops_per_second": gflops,
            "share_of_peak": gflops / peak,
        }
    out["step_seconds"] = result.step_seconds
    out["executed_flops_per_image"] = result.executed_flops_per_image
    out["last_metrics"] = result.last_metrics
    return out


def training_peak_rss_mb(data: Path, batch_size: int, steps: int = 5) -> float:
    """Peak resident memory of a fresh process that runs ``ganzoo.train`` (DCGAN-64, the defaults, ``steps`` steps
    with an out_dir, so checkpoint and previews are written too) on ``data``: what a user's training process takes."""
    import resource
    import subprocess
    import sys
    import tempfile

    code = (
        "import ganzoo, sys\n"
        f"ganzoo.train('dcgan', {str(data)!r}, steps={steps}, batch_size={batch_size}, progress=False, "
        f"out_dir=sys.argv[1], checkpoint_every={steps}, sample_every={steps})"
    )
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, "-c", code, f"{out}/run"], check=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else platform.processor()."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def logical_cpus() -> int:
    """CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def print_report(report: dict[str, Any]) -> None:
    """The human-readable table."""
    peak = report["peak_gflops"]
    print(
        f"\n{report['date']}  machine: {report['cpu']} ({report['cpu_count']} logical CPUs, "
        f"{report['default_threads']} torch threads), torch {report['torch']}, ganzoo {report['ganzoo']}"
    )
    print(
        f"fp32 GEMM peak: {peak:.1f} GFLOP/s (best of torch.mm, oneDNN conv and ORT MatMul, each best of "
        f"{report['peak_repeats']}; probes: {', '.join(f'{p:.0f}' for p in report['peak_probes'])}); "
        f"theoretical FMA peak {report['fma_peak']['gflops'] or float('nan'):.0f} GFLOP/s"
    )
    print(
        f"useful work: {report['flops_per_image'] / 1e9:.3f} GFLOP per training image (FlopCounterMode over one "
        f"pytorch/examples step, batch {report['batch_size']})"
    )
    print(
        f"timed steps: {report['steps']} x {report['repeats']} after {report['warmup']} warm-up steps, batch "
        f"{report['batch_size']}; malloc tuning {'on' if report['malloc_tuning'] else 'off'}\n"
    )
    width = max(len(run["setting"]["name"]) for run in report["runs"])
    header = (
        f"{'run':<{width}} {'thr':>3} {'s/step med':>10} {'best':>6} {'img/s':>6} {'GFLOP/s':>8} "
        f"{'% peak med':>10} {'best':>5} {'exec GFLOP/img':>14}"
    )
    print(header)
    print("-" * len(header))
    for run in report["runs"]:
        med, best = run["median"], run["best"]
        executed = run["executed_flops_per_image"]
        if run["setting"]["baseline"]:
            executed = report["flops_per_image"]
        print(
            f"{run['setting']['name']:<{width}} {run['threads']:>3} {med['seconds_per_step']:>10.3f} "
            f"{best['seconds_per_step']:>6.3f} {med['images_per_second']:>6.1f} "
            f"{med['useful_gflops_per_second']:>8.1f} {100 * med['share_of_peak']:>9.1f}% "
            f"{100 * best['share_of_peak']:>4.1f}% {'' if executed is None else f'{executed / 1e9:.3f}':>14}"
        )
    baseline = next((r for r in report["runs"] if r["setting"]["baseline"]), None)
    if baseline is not None:
        print()
        for run in report["runs"]:
            if run is not baseline:
                speedup = baseline["median"]["seconds_per_step"] / run["median"]["seconds_per_step"]
                print(f"{run['setting']['name']}: {speedup:.2f}x the baseline's images/s")


# -- main ------------------------------------------------------------------------------------------------------


def sweep_settings(threads: int | None) -> list[Setting]:
    """The settings compared by ``--sweep``: memory format, joint/separate D pass, threads, Adam implementation."""
    return [
        Setting("pytorch/examples baseline", baseline=True, channels_last=False, threads=threads),
        Setting("ganzoo train() defaults (channels_last, joint D, BN per half)", threads=threads),
        Setting("ganzoo channels_last, separate D passes", separate_d_batches=True, threads=threads),
        Setting("ganzoo NCHW, joint D", channels_last=False, threads=threads),
        Setting("ganzoo defaults but foreach Adam", adam="foreach", threads=threads),
        Setting("ganzoo defaults but per-parameter Adam (torch's CPU default)", adam="loop", threads=threads),
        Setting("ganzoo train() defaults, 1 thread", threads=1),
        Setting("ganzoo defaults + torch.compile", compile=True, threads=threads),
        Setting("ganzoo defaults + bf16 autocast (amp)", amp=True, threads=threads),
    ]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="uint8 64x64x3 images (.npz)")
    parser.add_argument("--steps", type=int, default=10, help="timed training steps per run (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (at least 1; default 3)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="ganzoo's channels_last option (default: on, as in train())",
    )
    parser.add_argument(
        "--separate-d-batches",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="D sees real and fake in two passes (default: off, one joint pass with per-half batch norm, as train())",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: unchanged)")
    parser.add_argument("--adam", choices=("fused", "foreach", "loop"), default="fused", help="train(adam=...)")
    parser.add_argument("--compile", action="store_true", help="train(compile=True)")
    parser.add_argument("--amp", action="store_true", help="train(amp=True): bfloat16 autocast")
    parser.add_argument(
        "--baseline",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time the pytorch/examples step (default: on)",
    )
    parser.add_argument("--sweep", action="store_true", help="time every setting of sweep_settings() in one run")
    parser.add_argument("--repeats", type=int, default=1, help="run the list of settings this many times")
    parser.add_argument("--peak-size", type=int, default=2048, help="matrix size of the matmul peak probe")
    parser.add_argument("--peak-repeats", type=int, default=10, help="torch.mm calls per peak probe")
    parser.add_argument("--no-flop-count", action="store_true", help="skip counting each run's executed FLOPs")
    parser.add_argument(
        "--malloc-tuning",
        action="store_true",
        help="prototype: raise glibc's mmap/trim thresholds for the whole run (see tune_malloc)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the results here")
    args = parser.parse_args(argv)
    if args.warmup < 1:
        parser.error("--warmup must be at least 1 (the first step's time includes train()'s setup)")
    if args.steps < 1 or args.batch_size < 1 or args.repeats < 1:
        parser.error("--steps, --batch-size and --repeats must be positive")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print the table, write JSON if asked; returns the report."""
    args = parse_args(argv)
    malloc_tuned = tune_malloc() if args.malloc_tuning else False
    if args.malloc_tuning and not malloc_tuned:
        print("--malloc-tuning: mallopt is not available here (not glibc); running without it")
    if args.sweep:
        settings = sweep_settings(args.threads)
        if not args.baseline:
            settings = [s for s in settings if not s.baseline]
    else:
        label = "channels_last" if args.channels_last else "NCHW"
        label += ", separate D" if args.separate_d_batches else ", joint D"
        label += f", {args.adam} Adam" + (", compiled" if args.compile else "") + (", bf16 amp" if args.amp else "")
        settings = [
            Setting(
                f"ganzoo {label}",
                channels_last=args.channels_last,
                separate_d_batches=args.separate_d_batches,
                threads=args.threads,
                adam=args.adam,
                compile=args.compile,
                amp=args.amp,
            )
        ]
        if args.baseline:
            baseline = Setting("pytorch/examples baseline", baseline=True, channels_last=False, threads=args.threads)
            settings.insert(0, baseline)

    data_path = args.data.resolve()
    print(f"loading {data_path} ...", flush=True)
    dataset = resolve_data(data_path, image_size=IMAGE_SIZE, channels=CHANNELS, resize=False)  # as train() does
    flops_per_image = useful_flops_per_image(args.batch_size)

    probe = functools.partial(matmul_peak, args.peak_size, args.peak_repeats)
    peaks = [probe()]
    results: list[Result] = []
    for _ in range(args.repeats):
        for setting in settings:
            print(f"timing {setting.name} ...", flush=True)
            runner = run_baseline if setting.baseline else run_ganzoo
            results.append(runner(dataset, setting, args))
            peaks.append(probe())
    if args.repeats > 1:  # pool each setting's steps over the repeats
        pooled: dict[str, Result] = {}
        for result in results:
            if result.setting.name in pooled:
                pooled[result.setting.name].step_seconds.extend(result.step_seconds)
            else:
                pooled[result.setting.name] = result
        results = list(pooled.values())

    peak = max(peaks)
    report = {
        "date": datetime.date.today().isoformat(),
        "cpu": cpu_name(),
        "cpu_count": logical_cpus(),
        "torch": torch.__version__,
        "ganzoo": ganzoo.__version__,
        "data": str(data_path),
        "batch_size": args.batch_size,
        "steps": args.steps,
        "warmup": args.warmup,
        "repeats": args.repeats,
        "malloc_tuning": malloc_tuned,
        "default_threads": torch.get_num_threads(),
        "peak_size": args.peak_size,
        "peak_repeats": args.peak_repeats,
        "peak_probes": peaks,
        "peak_gflops": peak,
        "fma_peak": fma_peak(),
        "flops_per_image": flops_per_image,
        "runs": [summarise(r, args.batch_size, flops_per_image, peak) for r in results],
        "training_peak_rss_mb": training_peak_rss_mb(data_path, args.batch_size),
    }
    print_report(report)
    print(f"peak memory of a training process (batch {args.batch_size}): {report['training_peak_rss_mb']:.0f} MB")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return report


if __name__ == "__main__":
    main()
