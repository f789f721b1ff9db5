"""The training core: every loss trains, seeding, exact resume, divergence handling, outputs, real faces."""

from __future__ import annotations

import csv
import json
import math
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

import ganzoo
from ganzoo.training.checkpoint import read_checkpoint

MLP_TINY = {"z_dim": 4, "hidden": 16, "layers": 2}
DCGAN_TINY = {"z_dim": 8, "image_size": 16, "g_width": 4, "d_width": 4}


def _state(generator):
    return {k: v.clone() for k, v in generator.module.state_dict().items()}


def _equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("loss", ganzoo.list_losses())
def test_every_loss_trains_and_changes_weights(loss):
    """Two steps of the MLP GAN with each loss: finite losses, weights moved away from the initialisation."""
    seen = []
    g = ganzoo.train(
        "mlp",
        "ring-8",
        loss=loss,
        steps=2,
        batch_size=8,
        progress=False,
        log_every=1,
        callbacks=[lambda step, m, s: seen.append(m)],
        **MLP_TINY,
    )
    initial = ganzoo.create("mlp", seed=0, **MLP_TINY)
    assert len(seen) == 2 and all(np.isfinite([m["d_loss"], m["g_loss"]]).all() for m in seen)
    assert not _equal(_state(g), _state(initial))
    assert g.training["loss"] == loss and g.training["steps"] == 2


def test_loss_settings_reach_the_optimiser():
    """The training core asks the loss for its critic steps and optimiser, and clips weights for WGAN."""
    calls = []
    ganzoo.train(
        "mlp",
        "ring-8",
        loss="wasserstein",
        steps=3,
        batch_size=8,
        progress=False,
        log_every=1,
        callbacks=[lambda step, m, s: calls.append(s)],
        **MLP_TINY,
    )
    state = calls[-1]
    assert (
        isinstance(state.optimizers["discriminator"], torch.optim.RMSprop)
        and state.optimizers["discriminator"].param_groups[0]["lr"] == 5e-5
    )
    assert state.batches.position == 3 * 5 * 8  # 5 critic batches per generator step
    assert max(p.abs().max().item() for p in state.modules["discriminator"].parameters()) <= 0.01
    state = []
    ganzoo.train(
        "mlp",
        "ring-8",
        loss="wgan-gp",
        steps=1,
        batch_size=8,
        progress=False,
        callbacks=[lambda step, m, s: state.append(s)],
        log_every=1,
        **MLP_TINY,
    )
    assert state[0].optimizers["generator"].param_groups[0]["betas"] == (0.0, 0.9)


def test_same_seed_same_run_other_seed_other_run():
    """Training is deterministic on CPU for a seed."""
    a = ganzoo.train("dcgan", _faces(), steps=2, batch_size=4, progress=False, **DCGAN_TINY)
    b = ganzoo.train("dcgan", _faces(), steps=2, batch_size=4, progress=False, **DCGAN_TINY)
    c = ganzoo.train("dcgan", _faces(), steps=2, batch_size=4, progress=False, seed=1, **DCGAN_TINY)
    assert _equal(_state(a), _state(b)) and not _equal(_state(a), _state(c))


def _faces(n=32, size=16, seed=0):
    rng = np.random.default_rng(seed)
    return ganzoo.InMemoryData(torch.from_numpy(rng.integers(0, 256, (n, 3, size, size), dtype=np.uint8)))


@pytest.mark.parametrize(
    ("arch", "loss", "tiny"), [("dcgan", "non-saturating", DCGAN_TINY), ("mlp", "wgan-gp", MLP_TINY)]
)
def test_resume_is_bit_identical(tmp_path, arch, loss, tiny):
    """N steps, then resume to 2N, equals 2N uninterrupted steps: G, D, EMA, optimisers, RNG and data order."""
    data = _faces() if arch == "dcgan" else "ring-8"
    kw = dict(loss=loss, batch_size=4, progress=False, checkpoint_every=3, log_every=1, **tiny)
    straight = ganzoo.train(arch, data, steps=6, out_dir=tmp_path / "straight", **kw)
    ganzoo.train(arch, data, steps=3, out_dir=tmp_path / "resumed", **kw)
    resumed = ganzoo.train(arch, data, steps=6, out_dir=tmp_path / "resumed", resume=True, **kw)
    assert _equal(_state(straight), _state(resumed))
    a, _ = read_checkpoint(tmp_path / "straight" / "checkpoint.safetensors")
    b, meta = read_checkpoint(tmp_path / "resumed" / "checkpoint.safetensors")
    assert meta["step"] == "6" and _equal(a, b)
    with open(tmp_path / "resumed" / "losses.csv") as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == [1, 2, 3, 4, 5, 6]


def test_resume_refuses_other_settings_and_finished_runs(tmp_path):
    """Resuming with another loss, or to a step already reached, is a clear error."""
    kw = dict(batch_size=4, progress=False, out_dir=tmp_path, **MLP_TINY)
    ganzoo.train("mlp", "ring-8", steps=2, **kw)
    with pytest.raises(ganzoo.GanzooError, match="loss: checkpoint 'non-saturating', now 'hinge'"):
        ganzoo.train("mlp", "ring-8", loss="hinge", steps=4, resume=True, **kw)
    with pytest.raises(ganzoo.GanzooError, match="already at step 2"):
        ganzoo.train("mlp", "ring-8", steps=1, resume=True, **kw)
    with pytest.raises(ganzoo.ModelFileError, match="no checkpoint"):
        ganzoo.train("mlp", "ring-8", steps=2, resume=True, **{**kw, "out_dir": tmp_path / "empty"})


def test_max_seconds_stops_checkpoints_and_publishes_where_it_stopped(tmp_path):
    out = tmp_path / "run"
    model = ganzoo.train("mlp", "ring-8", steps=10**6, max_seconds=0.5, batch_size=8, progress=False, out_dir=out,
                         hidden=16, layers=2)  # fmt: skip
    stopped = model.training["steps"]
    assert 0 < stopped < 10**6 and model.training["max_seconds"] == 0.5
    _, metadata = read_checkpoint(out / "checkpoint.safetensors", with_tensors=False)
    assert int(metadata["step"]) == stopped  # the checkpoint is where it stopped, and a resume goes on from there
    assert json.loads((out / "config.json").read_text())["training"]["steps"] == stopped
    with pytest.raises(ValueError, match="max_seconds"):
        ganzoo.train("mlp", "ring-8", steps=1, max_seconds=-1, progress=False)


def test_published_model_records_the_options_it_was_given(tmp_path):
    out = tmp_path / "run"
    ganzoo.train("mlp", "ring-8", steps=2, batch_size=8, loss="wgan-gp", loss_options={"gp_weight": 0.1},
                 method="unrolled", method_options={"unroll_steps": 0}, progress=False, out_dir=out,
                 hidden=16, layers=2)  # fmt: skip
    training = ganzoo.load(out).training
    assert training["loss_options"] == {"gp_weight": 0.1}
    assert training["method_options"] == {"unroll_steps": 0}
    plain = ganzoo.train("mlp", "ring-8", steps=1, batch_size=8, progress=False, hidden=16, layers=2)
    assert "loss_options" not in plain.training and "method_options" not in plain.training  # defaults: not listed


def test_resume_of_a_finished_checkpoint_publishes_its_model(tmp_path):
    """Killed after the last checkpoint and before model.safetensors: a resume with the same steps publishes the
    model the checkpoint holds (it used to answer "already at step N" forever)."""
    kw = dict(batch_size=4, progress=False, out_dir=tmp_path, log_every=1, **MLP_TINY)
    first = ganzoo.train("mlp", "ring-8", steps=3, **kw)
    (tmp_path / "model.safetensors").unlink()
    (tmp_path / "config.json").unlink()
    (tmp_path / ".checkpoint.safetensors.abc123.tmp").write_bytes(b"half-written")  # a kill mid-write left it
    again = ganzoo.train("mlp", "ring-8", steps=3, resume=True, **kw)
    assert _equal(_state(first), _state(again))
    assert _equal(_state(first), _state(ganzoo.load(tmp_path)))
    assert not list(tmp_path.glob(".*.tmp"))
    with open(tmp_path / "losses.csv") as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == [1, 2, 3]


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tmp_path, register_plugin):
    """A loss that turns NaN stops training with a clear message; the checkpoint from before is untouched."""

    class NanAfterFour(ganzoo.Loss):
        calls = 0

        def discriminator_loss(self, real_logits, fake_logits):
            type(self).calls += 1
            value = torch.nn.functional.softplus(-real_logits).mean() + torch.nn.functional.softplus(fake_logits).mean()
            return value * (float("nan") if type(self).calls > 4 else 1.0)

        def generator_loss(self, fake_logits):
            return torch.nn.functional.softplus(-fake_logits).mean()

    class Plugin:
        @ganzoo.hookimpl
        def register_losses(self, register):
            register("nan-after-4", NanAfterFour)

    register_plugin(Plugin(), "nan")
    with pytest.raises(
        ganzoo.TrainingDivergedError, match=r"d_loss and g_loss became nan at step 5.*last good checkpoint"
    ):
        ganzoo.train(
            "mlp",
            "ring-8",
            loss="nan-after-4",
            steps=10,
            batch_size=4,
            progress=False,
            out_dir=tmp_path,
            checkpoint_every=2,
            log_every=1,
            **MLP_TINY,
        )
    tensors, meta = read_checkpoint(tmp_path / "checkpoint.safetensors")
    assert meta["step"] == "4"
    assert all(torch.isfinite(t).all() for k, t in tensors.items() if t.is_floating_point())
    assert not (tmp_path / "model.safetensors").exists()


def test_run_folder_outputs(tmp_path):
    """A run writes a loadable generator, a CSV log, a loss plot, sample grids and a checkpoint."""
    g = ganzoo.train(
        "dcgan",
        _faces(),
        steps=4,
        batch_size=4,
        progress=False,
        out_dir=tmp_path,
        log_every=2,
        sample_every=2,
        checkpoint_every=2,
        **DCGAN_TINY,
    )
    names = {p.name for p in tmp_path.iterdir()}
    assert {
        "config.json",
        "model.safetensors",
        "checkpoint.safetensors",
        "losses.csv",
        "losses.png",
        "samples.png",
        "progress",
    } <= names
    assert sorted(p.name for p in (tmp_path / "progress").iterdir()) == ["step-0000002.png", "step-0000004.png"]
    with open(tmp_path / "losses.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["step"] for r in rows] == ["2", "4"] and set(rows[0]) >= {"d_loss", "g_loss", "d_real", "d_fake"}
    assert 0 <= float(rows[0]["d_real"]) <= 1  # D(x) shown as a probability for log-loss GANs
    grid = Image.open(tmp_path / "samples.png")
    assert grid.size == (8 * 18 + 2, 8 * 18 + 2)  # 64 fixed latents, 8 a row, 16 px + 2 px padding
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["architecture"] == "dcgan" and config["training"]["steps"] == 4
    assert torch.equal(g.sample(4, seed=3), ganzoo.load(tmp_path).sample(4, seed=3))
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary files left behind


def test_ema_follows_the_generator():
    """The returned generator is the EMA of G: close to G's weights but not equal after a few steps."""
    states = []
    g = ganzoo.train(
        "mlp",
        "ring-8",
        steps=5,
        batch_size=8,
        progress=False,
        log_every=5,
        callbacks=[lambda step, m, s: states.append(s)],
        **MLP_TINY,
    )
    live = states[-1].modules["generator"].state_dict()
    ema = g.module.state_dict()
    assert not _equal(live, ema)
    assert all(torch.allclose(live[k], ema[k], atol=0.05) for k in live)


def test_two_d_run_draws_a_scatter_plot(tmp_path):
    """For 2-D data the sample picture is a scatter plot over the data."""
    ganzoo.train("mlp", "ring-8", steps=2, batch_size=8, progress=False, out_dir=tmp_path, **MLP_TINY)
    picture = Image.open(tmp_path / "samples.png")
    assert picture.size == (500, 500)


def test_trains_on_real_celeba_faces(celeba_path, tmp_path):
    """DCGAN-64 (narrow) trains a few steps on the real CelebA 64x64 faces from ../shared/datasets."""
    g = ganzoo.train(
        "dcgan",
        celeba_path,
        steps=3,
        batch_size=8,
        progress=False,
        out_dir=tmp_path,
        g_width=8,
        d_width=8,
        z_dim=16,
        channels_last=True,
    )
    assert g.training["data"] == str(celeba_path)
    assert g.sample(2, seed=0, output="numpy").shape == (2, 64, 64, 3)
    with open(tmp_path / "losses.csv") as f:
        assert np.isfinite([float(r["d_loss"]) for r in csv.DictReader(f)]).all()


def test_wrong_image_size_is_a_clear_error_unless_resized(celeba_path):
    """64 px faces for a 32 px model: an error saying how to fix it; with resize=True it trains."""
    with pytest.raises(ganzoo.DataError, match=r"64x64 images with 3 channel\(s\).*32x32.*resize=True"):
        ganzoo.train("dcgan", celeba_path, steps=1, image_size=32, progress=False)
    with pytest.raises(ganzoo.DataError, match=r"shape \(3, 16, 16\) but 'dcgan'.*makes \(1, 16, 16\)"):
        ganzoo.train("dcgan", _faces(), steps=1, progress=False, **{**DCGAN_TINY, "channels": 1})


def test_bad_arguments():
    """Non-positive steps or batch sizes and resume without a folder are refused."""
    with pytest.raises(ValueError, match="steps must be positive"):
        ganzoo.train("mlp", "ring-8", steps=0)
    with pytest.raises(ValueError, match="resume=True needs out_dir"):
        ganzoo.train("mlp", "ring-8", resume=True)
    with pytest.raises(ganzoo.DataError, match="fewer than batch_size"):
        ganzoo.train("dcgan", _faces(n=4), batch_size=8, steps=1, progress=False, **DCGAN_TINY)


@pytest.mark.parametrize(("loss", "options"), [("wgan-gp", {}), ("non-saturating", {"r1_gamma": 1.0})])
def test_gradient_penalty_with_batchnorm_warns(loss, options):
    """A gradient penalty (WGAN-GP, R1) on a batch-norm discriminator warns and suggests d_norm='layer'."""
    with pytest.warns(UserWarning, match="d_norm='layer'"):
        ganzoo.train(
            "dcgan", _faces(), loss=loss, loss_options=options, steps=1, batch_size=4, progress=False, **DCGAN_TINY
        )


def test_no_penalty_warning_when_r1_is_off():
    """The same loss without its optional R1 penalty adds nothing, so there is nothing to warn about."""
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*gradient penalty.*")
        ganzoo.train("dcgan", _faces(), loss="non-saturating", steps=1, batch_size=4, progress=False, **DCGAN_TINY)


def test_r1_penalty_trains_and_resumes_only_with_the_same_gamma(tmp_path):
    """R1 reaches D's loss (a different run from gamma 0) and is part of what a resume must match."""
    seen = {}
    for gamma in (0.0, 10.0):
        runs = []
        ganzoo.train(
            "mlp",
            "ring-8",
            loss_options={"r1_gamma": gamma},
            steps=2,
            batch_size=8,
            progress=False,
            log_every=1,
            callbacks=[lambda step, metrics, state, runs=runs: runs.append(metrics["d_loss"])],
            out_dir=tmp_path / str(gamma),
            **MLP_TINY,
        )
        seen[gamma] = runs
    assert seen[0.0] != seen[10.0]  # same seed and data: only the penalty differs
    with pytest.raises(ganzoo.GanzooError, match="loss_options"):
        ganzoo.train(
            "mlp",
            "ring-8",
            loss_options={"r1_gamma": 1.0},
            steps=4,
            batch_size=8,
            progress=False,
            resume=True,
            out_dir=tmp_path / "10.0",
            **MLP_TINY,
        )


def test_joint_d_pass_with_per_half_batch_norm_equals_separate_passes():
    """The fast joint D pass gives the same training as pytorch/examples' two passes, batch norm included.

    Mixing real and fake batch statistics in one pass made D win at once on CelebA (D(G(z)) -> 0 within 50
    steps); batch_norm_per_half normalises each half on its own, so only the kernel sizes differ.
    """
    kw = {"steps": 3, "batch_size": 4, "progress": False, **DCGAN_TINY}
    joint = ganzoo.train("dcgan", _faces(), **kw)
    separate = ganzoo.train("dcgan", _faces(), separate_d_batches=True, **kw)
    for (name, a), b in zip(_state(joint).items(), _state(separate).values(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4, msg=name)


def test_batch_norm_per_half_normalises_each_half():
    from ganzoo.training import batch_norm_per_half

    bn = torch.nn.BatchNorm2d(3)
    real, fake = torch.randn(4, 3, 5, 5) + 3, torch.randn(4, 3, 5, 5) - 3
    with batch_norm_per_half(bn):
        joint = bn(torch.cat([real, fake]))
    assert "forward" not in vars(bn)  # restored
    torch.testing.assert_close(joint, torch.cat([torch.nn.BatchNorm2d(3)(real), torch.nn.BatchNorm2d(3)(fake)]))
    assert not torch.allclose(bn(torch.cat([real, fake]))[:4], joint[:4], atol=0.1)  # mixing would differ


def test_training_log_has_diagnostics(tmp_path):
    """D accuracy on real and fake, gradient norms of G and D, and the fakes' spread are logged."""
    import csv

    ganzoo.train("mlp", "ring-8", steps=4, batch_size=64, log_every=2, progress=False, out_dir=tmp_path)
    with open(tmp_path / "losses.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [2, 4]
    for row in rows:
        assert 0 <= float(row["d_acc_real"]) <= 1 and 0 <= float(row["d_acc_fake"]) <= 1
        assert float(row["g_grad_norm"]) > 0 and float(row["d_grad_norm"]) > 0
        assert float(row["fake_spread"]) > 0


def test_monitor_warns_once_for_vanishing_gradients_and_collapse():
    from ganzoo.training import TrainingMonitor

    monitor = TrainingMonitor()
    assert monitor.check(5, {"g_grad_norm": 1.0, "fake_spread": 0.02}) == []  # untrained, bunched: not collapse
    assert monitor.check(10, {"g_grad_norm": 1.0, "fake_spread": 0.9}) == []
    with pytest.warns(ganzoo.TrainingWarning, match="vanished"):
        assert len(monitor.check(20, {"g_grad_norm": 1e-5, "fake_spread": 0.9})) == 1
    with pytest.warns(ganzoo.TrainingWarning, match="mode collapse"):
        assert len(monitor.check(30, {"g_grad_norm": 1e-5, "fake_spread": 0.01})) == 1
    assert monitor.check(40, {"g_grad_norm": 1e-6, "fake_spread": 0.01}) == []  # each warning once


def test_collapsed_generator_triggers_the_warning_in_train():
    """A generator that ignores z (every fake the same point) is flagged as mode collapse during training."""
    from ganzoo.plugins.mlp import MLPGenerator

    class Constant(MLPGenerator):
        def forward(self, z):
            return super().forward(torch.zeros_like(z))

    class Plugin:
        @ganzoo.hookimpl
        def register_architectures(self, register):
            from ganzoo.plugins.mlp import MLPConfig, MLPDiscriminator

            register("constant-mlp", Constant, MLPDiscriminator, config=MLPConfig)

    host = ganzoo.PluginHost()
    host.register(Plugin(), "constant")
    previous = ganzoo.use_host(host)
    try:
        with pytest.warns(ganzoo.TrainingWarning, match="mode collapse"):
            ganzoo.train("constant-mlp", "ring-8", steps=2, batch_size=32, log_every=1, progress=False)
    finally:
        ganzoo.use_host(previous)


@pytest.mark.parametrize("loss", ["non-saturating", "wgan-gp"])
def test_training_with_a_packing_discriminator(loss):
    """PacGAN packing lives in the discriminator: the core splits its logits into real and fake halves."""
    seen = []
    G = ganzoo.train(
        "mlp",
        "ring-8",
        loss=loss,
        steps=3,
        batch_size=16,
        pack=4,
        hidden=16,
        layers=2,
        progress=False,
        log_every=1,
        callbacks=[lambda step, metrics, state: seen.append(metrics)],
    )
    assert G.config.pack == 4 and len(seen) == 3
    assert all(math.isfinite(m["d_loss"]) and math.isfinite(m["g_loss"]) for m in seen)


def test_linear_lr_decay_follows_the_step_and_resumes_exactly(tmp_path):
    """lr_decay='linear': step k (1-based) runs at lr * (1 - (k - 1) / steps), through a resume as in one go."""
    seen = []
    kw = dict(lr=1e-3, lr_decay="linear", batch_size=16, hidden=16, layers=2, progress=False, log_every=1)
    grab = [lambda step, metrics, state: seen.append((step, state.optimizers["generator"].param_groups[0]["lr"]))]
    whole = ganzoo.train("mlp", "ring-8", steps=4, callbacks=grab, **kw)
    assert [lr for _, lr in seen] == pytest.approx([1e-3, 7.5e-4, 5e-4, 2.5e-4])
    assert whole.training["lr"] == 1e-3 and whole.training["lr_decay"] == "linear"

    def crash(step, metrics, state):  # an interrupted 4-step run: the checkpoint of step 2 survives
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ganzoo.train("mlp", "ring-8", steps=4, out_dir=tmp_path, checkpoint_every=1, callbacks=[crash], **kw)
    resumed = ganzoo.train("mlp", "ring-8", steps=4, out_dir=tmp_path, resume=True, **kw)
    for a, b in zip(whole.module.state_dict().values(), resumed.module.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ganzoo.GanzooError, match="lr_decay"):
        ganzoo.train("mlp", "ring-8", steps=6, out_dir=tmp_path, resume=True, **{**kw, "lr_decay": "none"})
    with pytest.raises(ValueError, match="lr_decay must be one of"):
        ganzoo.train("mlp", "ring-8", steps=2, lr_decay="cosine", progress=False)


def test_lr_decay_start_holds_the_rate_then_falls_linearly(tmp_path):
    """lr_decay_start=2 of 6 steps: 1e-3 for steps 1-2, then 1e-3 * (1 - k / 4) for k = 0..3; a resume with
    another start is refused, and a start without linear decay or outside [0, steps) is an error."""
    seen = []
    kw = dict(lr=1e-3, lr_decay="linear", batch_size=16, hidden=16, layers=2, progress=False, log_every=1)
    grab = [lambda step, metrics, state: seen.append(state.optimizers["discriminator"].param_groups[0]["lr"])]
    g = ganzoo.train("mlp", "ring-8", steps=6, lr_decay_start=2, callbacks=grab, out_dir=tmp_path, **kw)
    assert seen == pytest.approx([1e-3, 1e-3, 1e-3, 7.5e-4, 5e-4, 2.5e-4])
    assert g.training["lr_decay_start"] == 2
    with pytest.raises(ganzoo.GanzooError, match="lr_decay_start"):
        ganzoo.train("mlp", "ring-8", steps=8, out_dir=tmp_path, resume=True, lr_decay_start=3, **kw)
    with pytest.raises(ValueError, match="pass lr_decay='linear'"):
        ganzoo.train("mlp", "ring-8", steps=6, lr_decay_start=2, progress=False)
    for start in (-1, 6):
        with pytest.raises(ValueError, match=r"lr_decay_start must be a step in \[0, steps=6\)"):
            ganzoo.train("mlp", "ring-8", steps=6, lr_decay="linear", lr_decay_start=start, progress=False)


def test_amp_on_cpu_runs_bfloat16_autocast_and_resumes_exactly(tmp_path):
    """amp=True is honoured on the CPU (bfloat16 autocast; fast on CPUs with AMX / AVX-512 BF16): the weights
    differ from a float32 run's, and a resume is still bit-identical."""
    import warnings

    faces = _faces()
    kw = dict(image_size=16, g_width=4, d_width=4, z_dim=8, batch_size=4, progress=False, checkpoint_every=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ganzoo.TrainingWarning)  # a CPU without bf16 units says it will be slow
        fp32 = ganzoo.train("dcgan", faces, steps=6, **kw)
        amp = ganzoo.train("dcgan", faces, steps=6, amp=True, out_dir=tmp_path / "a", **kw)
        ganzoo.train("dcgan", faces, steps=3, amp=True, out_dir=tmp_path / "b", **kw)
        resumed = ganzoo.train("dcgan", faces, steps=6, amp=True, out_dir=tmp_path / "b", resume=True, **kw)
    assert not _equal(_state(fp32), _state(amp))
    assert _equal(_state(amp), _state(resumed))


def test_published_model_records_the_cpu_threads_it_trained_on(tmp_path):
    """A wall-clock budget is only comparable with the cores behind it: the model says how many threads it had."""
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        g = ganzoo.train("mlp", "ring-8", steps=1, batch_size=8, hidden=8, layers=2, progress=False)
    finally:
        torch.set_num_threads(before)
    assert g.training["cpu_threads"] == 1


def test_lr_d_sets_the_critic_rate_and_leaves_g_at_lr(tmp_path):
    """The two time-scale update rule: lr_d is D's learning rate, lr stays G's; recorded, matched on resume, and a
    rate that is not positive is refused."""
    captured = []
    kw = dict(batch_size=16, hidden=16, layers=2, progress=False, log_every=1, out_dir=tmp_path, checkpoint_every=1)
    grab = [lambda step, metrics, state: captured.append(state.optimizers)]
    g = ganzoo.train("mlp", "ring-8", steps=2, lr=1e-3, lr_d=1e-4, callbacks=grab, **kw)
    assert captured[-1]["generator"].param_groups[0]["lr"] == 1e-3
    assert captured[-1]["discriminator"].param_groups[0]["lr"] == 1e-4
    assert g.training["learning_rates"] == {"generator": 1e-3, "discriminator": 1e-4}
    with pytest.raises(ganzoo.GanzooError, match="lr_d"):
        ganzoo.train("mlp", "ring-8", steps=3, lr=1e-3, lr_d=2e-4, resume=True, **kw)
    for bad in (0.0, -1e-4):
        with pytest.raises(ValueError, match="lr_d must be a positive learning rate"):
            ganzoo.train("mlp", "ring-8", steps=1, lr_d=bad, progress=False)


@pytest.mark.parametrize(
    ("architecture", "method", "extra"),
    [
        ("progan", "progressive", {"image_size": 16, "fmap_base": 16, "fmap_max": 8, "z_dim": 8}),
        ("fsr", "fsr", {"image_size": 16, "g_width": 4, "d_width": 4, "g_max": 8, "d_max": 8, "z_dim": 8}),
        ("dcgan", "xicfg", {"image_size": 16, "g_width": 4, "d_width": 4, "z_dim": 8}),
    ],
)
def test_methods_with_their_own_optimisers_give_lr_d_to_every_critic(architecture, method, extra):
    """Families that build their own optimisers (per-level, RMSprop) honour lr_d on D's and lr on G's."""
    captured = []
    ganzoo.train(
        architecture,
        _faces(),
        method=method,
        steps=1,
        batch_size=4,
        lr=3e-4,
        lr_d=7e-5,
        progress=False,
        log_every=1,
        callbacks=[lambda step, metrics, state: captured.append(state.optimizers)],
        **extra,
    )
    rates = {name: opt.param_groups[0]["lr"] for name, opt in captured[-1].items()}
    critics = {name for name in rates if name.startswith("discriminator")}
    assert critics and all(rates[name] == 7e-5 for name in critics), rates
    assert all(rate == 3e-4 for name, rate in rates.items() if name not in critics), rates
