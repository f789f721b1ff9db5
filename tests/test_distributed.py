"""Data-parallel training under torchrun, on CPU with 2 processes (gloo): 2 ranks x batch b train as 1 process x
batch 2b (R1's double backward included), the ranks' weights agree at every checkpoint, a killed 2-rank run resumes
exactly, only the main rank writes, and a checkpoint refuses another world size."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import safetensors.torch
import torch

import ganzoo
from ganzoo.data import BatchSampler, InMemoryData
from ganzoo.errors import ModelFileError
from ganzoo.training.checkpoint import read_checkpoint
from ganzoo.training.distributed import DistributedError

TINY = ["--set", "hidden=16", "--set", "layers=2", "--set", "z_dim=4"]
STEPS = 20


def _args(out: Path, batch: int, *extra: str, steps: int = STEPS) -> list[str]:
    return [
        "train", "mlp", "--data", "ring-8", "--steps", str(steps), "--batch-size", str(batch), "--log-every", "1",
        "--checkpoint-every", "5", "--sample-every", "1000", *TINY, "-q", "-o", str(out), *extra,
    ]  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _torchrun(*args: str, background: bool = False):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "ganzoo"]
    if background:
        return subprocess.Popen([*command, *args], env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                )  # fmt: skip
    result = subprocess.run([*command, *args], env=_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _single(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "ganzoo", *args], env=_env(), capture_output=True, text=True,
                            timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _tensors(path: Path) -> dict[str, torch.Tensor]:
    return safetensors.torch.load_file(str(path))


def _close(a: dict, b: dict, atol: float = 1e-5) -> bool:
    return a.keys() == b.keys() and all(torch.allclose(a[k].double(), b[k].double(), atol=atol) for k in a)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """2 ranks x batch 8 and 1 process x batch 16, plain and with R1, all 20 steps."""
    root = tmp_path_factory.mktemp("ddp")
    out = {}
    for name, extra in (("plain", []), ("r1", ["--loss-option", "r1_gamma=1.0"])):
        out[f"ddp-{name}"], out[f"single-{name}"] = root / f"ddp-{name}", root / f"single-{name}"
        result = _torchrun(*_args(out[f"ddp-{name}"], 8, *extra))
        out[f"ddp-{name}-stdout"] = result.stdout
        _single(*_args(out[f"single-{name}"], 16, *extra))
    return out


@pytest.mark.parametrize("loss", ["plain", "r1"])
def test_two_ranks_of_b_train_as_one_process_of_2b(runs, loss):
    """Same weights (float tolerance) after 20 steps; with R1 the penalty's autograd.grad stays on each rank and
    the backward after it averages like any gradient, so the double backward is right under DDP too."""
    ddp, single = runs[f"ddp-{loss}"], runs[f"single-{loss}"]
    assert _close(_tensors(ddp / "model.safetensors"), _tensors(single / "model.safetensors"))
    a, b = _tensors(ddp / "checkpoint.safetensors"), _tensors(single / "checkpoint.safetensors")
    weights = [k for k in b if k.startswith(("modules.", "ema."))]
    assert _close({k: a[k] for k in weights}, {k: b[k] for k in weights})
    # and the logged losses are the global batch's (averaged over the ranks)
    rows_a = (ddp / "losses.csv").read_text().splitlines()
    rows_b = (single / "losses.csv").read_text().splitlines()
    assert rows_a[0] == rows_b[0] and len(rows_a) == len(rows_b) == STEPS + 1
    g_loss = rows_a[0].split(",").index("g_loss")
    assert abs(float(rows_a[-1].split(",")[g_loss]) - float(rows_b[-1].split(",")[g_loss])) < 1e-4


def test_ranks_agree_at_every_checkpoint_and_only_the_main_rank_writes(runs):
    tensors, metadata = read_checkpoint(runs["ddp-plain"] / "checkpoint.safetensors")
    assert metadata["world_size"] == "2"
    import json

    fingerprints = json.loads(metadata["rank_fingerprints"])
    assert len(fingerprints) == 2 and fingerprints[0] == fingerprints[1]
    assert {"rng.rank.0", "rng.rank.1"} <= set(tensors)
    # one writer: one CSV row per step, the message printed once, no stray files
    steps = [row.split(",")[0] for row in (runs["ddp-plain"] / "losses.csv").read_text().splitlines()[1:]]
    assert steps == [str(s) for s in range(1, STEPS + 1)]
    assert runs["ddp-plain-stdout"].count("trained mlp") == 1
    assert not list(runs["ddp-plain"].glob(".*.tmp"))


def test_a_killed_two_rank_run_resumes_exactly(tmp_path):
    steps = 400  # long enough to be killed mid-run (the steps of this tiny model take about a millisecond)
    reference = tmp_path / "reference"
    _torchrun(*_args(reference, 8, steps=steps))
    out = tmp_path / "killed"
    process = _torchrun(*_args(out, 8, steps=steps), background=True)
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        try:
            if len((out / "losses.csv").read_text().splitlines()) > 30:
                break
        except OSError:
            pass
        time.sleep(0.002)
    assert process.poll() is None, "the run ended before it could be killed"
    for pid in [*_children(process.pid), process.pid]:  # both ranks (torchrun starts them in sessions of their
        os.kill(pid, signal.SIGKILL)  # own, so a process-group kill would miss them), then torchrun
    process.communicate(timeout=60)
    killed_at = int(read_checkpoint(out / "checkpoint.safetensors")[1]["step"])
    assert 0 < killed_at < steps
    _torchrun(*_args(out, 8, "--resume", steps=steps))
    for name in ("checkpoint.safetensors", "model.safetensors"):
        a, b = _tensors(reference / name), _tensors(out / name)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name


def test_a_two_rank_checkpoint_refuses_another_world_size(runs, tmp_path):
    import shutil

    out = tmp_path / "run"
    shutil.copytree(runs["ddp-plain"], out)
    with pytest.raises(ModelFileError, match="written by a run of 2 process"):
        ganzoo.train("mlp", "ring-8", steps=STEPS + 5, batch_size=8, log_every=1, checkpoint_every=5,
                     sample_every=1000, hidden=16, layers=2, z_dim=4, out_dir=out, resume=True,
                     progress=False)  # fmt: skip


def test_the_sampler_shards_one_global_batch_by_rank():
    data = InMemoryData(torch.arange(40, dtype=torch.float32)[:, None])
    whole = BatchSampler(data, 8, seed=3, device=torch.device("cpu"))
    ranks = [BatchSampler(data, 4, seed=3, device=torch.device("cpu"), rank=r, world_size=2) for r in (0, 1)]
    for _ in range(12):  # across epochs too
        expected = next(whole)["image"]
        assert torch.equal(torch.cat([next(r)["image"] for r in ranks]), expected)


def test_sync_bn_on_cpu_says_it_needs_cuda():
    with pytest.raises(DistributedError, match="SyncBatchNorm has no CPU implementation"):
        ganzoo.train("mlp", "ring-8", steps=1, sync_bn=True, progress=False)


def test_eval_under_torchrun_shards_and_gives_the_single_process_result(tmp_path):
    """2 ranks share the generation and feature extraction of an image model's evaluation; the metrics equal one
    process's, and only rank 0 writes."""
    import json

    import numpy as np

    model, data = tmp_path / "model", tmp_path / "faces.npz"
    torch.manual_seed(0)
    ganzoo.create("dcgan", image_size=16, g_width=4, d_width=4, z_dim=8).save(model)
    np.savez(data, images=np.random.default_rng(0).integers(0, 256, (101, 16, 16, 3), dtype=np.uint8))
    args = ["eval", str(model), "--data", str(data), "-n", "101", "--extractor", "pixels", "--no-cache",
            "--metrics", "fid,kid,precision-recall", "--metric-option", "fid.min_samples=10"]  # fmt: skip
    _single(*args, "-o", str(tmp_path / "one.json"))
    result = _torchrun(*args, "-o", str(tmp_path / "two.json"))
    one, two = (json.loads((tmp_path / f"{name}.json").read_text()) for name in ("one", "two"))
    assert one["metrics"] == two["metrics"] and two["protocol"]["processes"] == 2
    assert result.stdout.count("wrote") == 1
