"""Core v2's DCGAN step against the v1 step it replaced, side by side in one process.

Core v2 moved the update into ``AdversarialMethod`` (named-field batches, ``d_step``/``g_step`` hooks, metrics
computed inside the method). This benchmark checks that the move costs nothing:

1. ``V1Step`` below is ganzoo 0.1's ``AdversarialStep`` (``ganzoo/training.py`` at commit 99afe8e), frozen
   here for the comparison, working on the same networks, optimisers and batches as the v2 method;
2. both train copies of one DCGAN-64 (pytorch/examples sizes, non-saturating loss, Adam 2e-4 / 0.5, batch 64,
   channels_last, joint D pass) on CelebA-64 batches, in interleaved rounds (v1 block, v2 block, ...), so
   machine noise hits both alike; the median step time of each and their ratio are reported;
3. equivalence: from the same seed, both end with bit-identical weights after the timed steps (the v2 step
   draws its batches and latents in the same order), so the two measure the same arithmetic.

The machine's fp32 matmul peak is probed in the same run (``train_dcgan.matmul_peak``).

    python benchmarks/step_overhead.py --json benchmarks/results/step_overhead.json
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import datetime
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

import ganzoo
from ganzoo.data import BatchSampler, resolve_data
from ganzoo.host.manager import get_registry
from ganzoo.training.adversarial import AdversarialMethod, batch_norm_per_half
from ganzoo.training.config import TrainConfig
from ganzoo.training.method import MethodContext

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_dcgan import DEFAULT_DATA, cpu_name, matmul_peak, tune_malloc

CONFIG = {"z_dim": 100, "image_size": 64, "channels": 3, "g_width": 64, "d_width": 64}


class V1Step:
    """ganzoo 0.1's ``AdversarialStep.__call__`` (one D step for the non-saturating loss, then one G step)."""

    def __init__(self, g: nn.Module, d: nn.Module, loss: Any, opt_g: Any, opt_d: Any, batches: Any) -> None:
        self.G, self.D, self.loss, self.opt_g, self.opt_d, self.batches = g, d, loss, opt_g, opt_d, batches
        self.memory_format = torch.channels_last

    def __call__(self, n: int, z_dim: int) -> dict[str, torch.Tensor]:
        G, D, loss = self.G, self.D, self.loss
        for i in range(loss.d_steps):
            real = next(self.batches)["image"]  # v1 batches were plain tensors; the field lookup is free
            real = real.contiguous(memory_format=self.memory_format)
            z = torch.randn(n, z_dim)
            last = i == loss.d_steps - 1
            with contextlib.nullcontext() if last else torch.no_grad():
                fake = G(z)
            with batch_norm_per_half(D):
                logits = D(torch.cat([real, fake.detach()]))
            real_logits, fake_logits = logits.chunk(2)
            d_loss = loss.discriminator_loss(real_logits.float(), fake_logits.float())
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            d_grad_norm = _grad_norm(D)
            self.opt_d.step()
        D.requires_grad_(False)
        try:
            g_loss = loss.generator_loss(D(fake).float())
            self.opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            g_grad_norm = _grad_norm(G)
            self.opt_g.step()
        finally:
            D.requires_grad_(True)
        real_logits, fake_logits = real_logits.detach().float(), fake_logits.detach().float()
        with torch.no_grad():
            spread = fake.detach().float().flatten(1).std(0).mean() / real.float().flatten(1).std(0).mean()
        return {
            "d_loss": d_loss.detach(),
            "g_loss": g_loss.detach(),
            "d_real": real_logits,
            "d_fake": fake_logits,
            "d_acc_real": (real_logits > 0).float().mean(),
            "d_acc_fake": (fake_logits < 0).float().mean(),
            "d_grad_norm": d_grad_norm,
            "g_grad_norm": g_grad_norm,
            "fake_spread": spread,
        }


def _grad_norm(module: nn.Module) -> torch.Tensor:
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


def build(dataset: Any, batch_size: int, seed: int) -> tuple[AdversarialMethod, BatchSampler]:
    """A v2 ``AdversarialMethod`` with its networks, optimisers and batches, built the way ``train()`` does."""
    registry = get_registry()
    arch = registry.get("architecture", "dcgan")
    cfg = arch.make_config(**CONFIG)
    loss = registry.get("loss", "non-saturating").create()
    settings = TrainConfig(
        architecture="dcgan", model=cfg.to_dict(), batch_size=batch_size, lr=2e-4, betas=(0.5, 0.999)
    )
    method = AdversarialMethod(MethodContext(arch, cfg, loss, settings, torch.device("cpu"), {}, "adversarial"))
    torch.manual_seed(seed)
    method.modules = {r: m.to(memory_format=torch.channels_last).train() for r, m in method.build().items()}
    method.optimizers = method.make_optimizers()
    batches = BatchSampler(dataset, batch_size, seed=seed, device=torch.device("cpu"))
    method.batches = batches
    method.setup()
    return method, batches


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds (v1 block, then v2 block)")
    parser.add_argument("--block", type=int, default=5, help="timed steps per block")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    tune_malloc()

    dataset = resolve_data(args.data)
    v2, v2_batches = build(dataset, args.batch_size, args.seed)
    # v1 trains deep copies of the same initial networks, with its own optimisers and an identical sampler
    v1_modules = {role: copy.deepcopy(m) for role, m in v2.modules.items()}
    v1_opts = {
        role: torch.optim.Adam(v1_modules[role].parameters(), lr=2e-4, betas=(0.5, 0.999)) for role in v1_modules
    }
    v1_batches = BatchSampler(dataset, args.batch_size, seed=args.seed, device=torch.device("cpu"))
    v1 = V1Step(
        v1_modules["generator"],
        v1_modules["discriminator"],
        v2.loss,
        v1_opts["generator"],
        v1_opts["discriminator"],
        v1_batches,
    )
    rng = {"v1": torch.get_rng_state(), "v2": torch.get_rng_state()}  # each side keeps its own RNG stream

    def run(side: str, steps: int) -> list[float]:
        torch.set_rng_state(rng[side])
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            if side == "v1":
                v1(args.batch_size, CONFIG["z_dim"])
            else:
                v2.step(next(v2_batches), 0)
            times.append(time.perf_counter() - start)
        rng[side] = torch.get_rng_state()
        return times

    peaks = [matmul_peak()]
    run("v1", args.warmup)
    run("v2", args.warmup)
    times: dict[str, list[float]] = {"v1": [], "v2": []}
    for i in range(args.rounds):
        order = ("v1", "v2") if i % 2 == 0 else ("v2", "v1")  # alternate who goes first
        for side in order:
            times[side] += run(side, args.block)
            print(f"round {i + 1}/{args.rounds} {side}: median {statistics.median(times[side]):.3f} s/step", flush=True)
    peaks.append(matmul_peak())
    identical = all(
        torch.equal(a, b)
        for role in v1_modules
        for a, b in zip(v1_modules[role].state_dict().values(), v2.modules[role].state_dict().values(), strict=True)
    )
    v1_median, v2_median = statistics.median(times["v1"]), statistics.median(times["v2"])
    report = {
        "benchmark": "step_overhead",
        "date": datetime.date.today().isoformat(),
        "cpu": cpu_name(),
        "torch": torch.__version__,
        "ganzoo": ganzoo.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "matmul_peak_gflops": round(max(peaks), 1),
        "matmul_probes_gflops": [round(p, 1) for p in peaks],
        "batch_size": args.batch_size,
        "steps_each": len(times["v1"]),
        "v1_median_s": round(v1_median, 4),
        "v2_median_s": round(v2_median, 4),
        "v1_best_s": round(min(times["v1"]), 4),
        "v2_best_s": round(min(times["v2"]), 4),
        "v2_over_v1": round(v2_median / v1_median, 4),
        "identical_weights_after": identical,
        "times_s": {k: [round(t, 4) for t in v] for k, v in times.items()},
    }
    print(
        f"v1 {v1_median:.3f} s/step, v2 {v2_median:.3f} s/step (v2/v1 = {v2_median / v1_median:.3f}); "
        f"weights identical after {len(times['v1']) + args.warmup} steps: {identical}; "
        f"matmul peak {max(peaks):.1f} GFLOP/s"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
