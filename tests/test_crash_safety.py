"""SIGKILL at random moments: a training run killed anywhere (mid-step, mid-checkpoint-write, during the final save,
during a resume) never leaves a corrupt checkpoint, and resuming until it finishes gives a model and a checkpoint
bit-identical to a run that was never interrupted."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import safetensors.torch
import torch

from ganzoo.training.checkpoint import read_checkpoint

STEPS = 60
# A checkpoint at every step of a network big enough (about 1 MB per checkpoint) that a good share of the run is
# spent writing checkpoints: random kills land inside writes too.
ARGS = [
    "train", "mlp", "--data", "ring-8", "--steps", str(STEPS), "--batch-size", "16",
    "--checkpoint-every", "1", "--log-every", "1", "--sample-every", "1000",
    "--set", "hidden=160", "--set", "layers=3", "-q",
]  # fmt: skip


def _ganzoo(out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "ganzoo", *ARGS, "-o", str(out), *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _tensors(path: Path) -> dict[str, torch.Tensor]:
    return safetensors.torch.load_file(str(path))


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _logged_steps(out: Path) -> int:
    """Rows in the run's losses.csv (one per step: --log-every 1), read while it trains."""
    try:
        return max(0, len((out / "losses.csv").read_text().splitlines()) - 1)
    except OSError:
        return 0


def _kill_at(process: subprocess.Popen, out: Path, step: int | None, delay: float) -> bool:
    """SIGKILL ``process`` ``delay`` s after its log reaches ``step`` (``None``: ``delay`` s after start, i.e.
    during start-up or the resume itself). Returns whether it was still running when killed."""
    if step is not None:
        deadline = time.monotonic() + 120
        while _logged_steps(out) < step and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
    time.sleep(delay)
    if process.poll() is not None:
        return False
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    return True


def test_sigkill_at_random_moments_never_corrupts_and_resumes_bit_identically(tmp_path):
    reference = tmp_path / "reference"
    done = _ganzoo(reference)
    output = done.communicate(timeout=300)[0].decode()
    assert done.returncode == 0, output

    out = tmp_path / "killed"
    rng = random.Random(0)
    # where to kill: at rising steps (a few ms after a step's log row: inside that step's checkpoint write or the
    # next step), during a resume's start-up, and after the last step (the final checkpoint and model save)
    plan = [(s, rng.uniform(0, 0.03)) for s in sorted(rng.sample(range(2, STEPS - 5), 5))]
    plan.insert(2, (None, rng.uniform(1.0, 3.0)))
    plan.append((STEPS, rng.uniform(0, 0.05)))
    kills, in_writes = 0, 0
    for step, delay in plan:
        resume = ["--resume"] if (out / "checkpoint.safetensors").exists() else []
        process = _ganzoo(out, *resume)
        killed = _kill_at(process, out, step, delay)
        kills += killed
        in_writes += killed and any(out.glob(".*.tmp"))
        if (out / "checkpoint.safetensors").exists():  # never a corrupt checkpoint, whenever the kill came
            _, metadata = read_checkpoint(out / "checkpoint.safetensors")
            assert 0 < int(metadata["step"]) <= STEPS
    if not (out / "model.safetensors").exists() or any(out.glob(".*.tmp")):
        resume = ["--resume"] if (out / "checkpoint.safetensors").exists() else []
        process = _ganzoo(out, *resume)
        output = process.communicate(timeout=300)[0].decode()
        assert process.returncode == 0, output

    assert kills >= 5, f"only {kills} of {len(plan)} runs were still running when their kill came"
    assert _same(_tensors(reference / "model.safetensors"), _tensors(out / "model.safetensors"))
    assert _same(_tensors(reference / "checkpoint.safetensors"), _tensors(out / "checkpoint.safetensors"))
    assert not list(out.glob(".*.tmp")), "a resumed run must clean the temporary files a kill left behind"
    rows = (out / "losses.csv").read_text().splitlines()
    assert rows[0] == (reference / "losses.csv").read_text().splitlines()[0]
    assert [r.split(",")[0] for r in rows[1:]] == [str(s) for s in range(1, STEPS + 1)]
    print(f"{kills} kills, {in_writes} of them left a temporary file (killed during a write)")
