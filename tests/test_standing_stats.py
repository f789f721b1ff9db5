"""Standing statistics: batch-norm statistics re-measured on the final generator."""

from __future__ import annotations

import pytest
import torch

import ganzoo
from ganzoo.training.standing_stats import has_batchnorm, recompute_batchnorm_stats

DCGAN_TINY = {"z_dim": 8, "image_size": 16, "g_width": 4, "d_width": 4}


def _bn_layers(generator):
    return [m for m in generator.module.modules() if isinstance(m, torch.nn.BatchNorm2d)]


def test_stale_statistics_are_replaced_by_measured_ones():
    """Garbage running statistics make inference-mode samples differ from batch-statistics samples; afterwards
    inference mode matches what the network computes with the statistics of a large batch."""
    g = ganzoo.create("dcgan", seed=0, **DCGAN_TINY)
    for bn in _bn_layers(g):
        bn.running_mean.fill_(3.0)
        bn.running_var.fill_(9.0)
    z = torch.randn(512, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        g.module.train()
        batch_stats = g.module(z)
    stale = g.sample(z=z, output="raw")
    scale = batch_stats.abs().mean()
    assert (stale - batch_stats).abs().mean() > 0.5 * scale

    returned = recompute_batchnorm_stats(g, batches=16, batch_size=512, seed=2)
    assert returned is g and not g.module.training
    measured = g.sample(z=z, output="raw")
    assert (measured - batch_stats).abs().mean() < 0.2 * (stale - batch_stats).abs().mean()
    # momentum is back to what the layers had (update_bn switches it to a cumulative average while measuring)
    assert all(bn.momentum == 0.1 for bn in _bn_layers(g))


def test_statistics_are_the_average_over_batches():
    """The first layer's running mean is the mean of its per-batch means over the latent batches (same seed)."""
    g = ganzoo.create("dcgan", seed=0, **DCGAN_TINY)
    recompute_batchnorm_stats(g, batches=3, batch_size=8, seed=5)
    rng = torch.Generator().manual_seed(5)
    first_conv, first_bn = g.module.net[0], g.module.net[1]
    with torch.no_grad():
        means = [first_conv(torch.randn(8, 8, generator=rng).view(8, 8, 1, 1)).mean((0, 2, 3)) for _ in range(3)]
    assert torch.allclose(first_bn.running_mean, torch.stack(means).mean(0), atol=1e-5)


def test_same_seed_same_statistics_and_no_batchnorm_is_a_no_op():
    a = recompute_batchnorm_stats(ganzoo.create("dcgan", seed=0, **DCGAN_TINY), batches=2, batch_size=4, seed=0)
    b = recompute_batchnorm_stats(ganzoo.create("dcgan", seed=0, **DCGAN_TINY), batches=2, batch_size=4, seed=0)
    sa, sb = a.module.state_dict(), b.module.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    mlp = ganzoo.create("mlp", seed=0)
    before = {k: v.clone() for k, v in mlp.module.state_dict().items()}
    assert not has_batchnorm(mlp.module)
    recompute_batchnorm_stats(mlp)
    assert all(torch.equal(before[k], v) for k, v in mlp.module.state_dict().items())


def test_bad_arguments():
    g = ganzoo.create("dcgan", seed=0, **DCGAN_TINY)
    with pytest.raises(ValueError, match="batch_size >= 2"):
        recompute_batchnorm_stats(g, batch_size=1)
    with pytest.raises(ValueError, match="standing_stats must be >= 0"):
        ganzoo.train("mlp", "ring-8", steps=1, standing_stats=-1, progress=False)


def test_train_measures_the_published_generator(tmp_path):
    """train(standing_stats=N) changes only the saved generator's batch-norm buffers, not the checkpoint."""
    images = torch.randint(0, 256, (16, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    kw = dict(steps=2, batch_size=8, progress=False, **DCGAN_TINY)
    plain = ganzoo.train("dcgan", ganzoo.InMemoryData(images), out_dir=tmp_path / "plain", **kw)
    measured = ganzoo.train("dcgan", ganzoo.InMemoryData(images), out_dir=tmp_path / "measured", standing_stats=4, **kw)
    assert measured.training["standing_stats"] == 4
    p, m = plain.module.state_dict(), measured.module.state_dict()
    changed = {k for k in p if not torch.equal(p[k], m[k])}
    assert changed and all(k.endswith(("running_mean", "running_var", "num_batches_tracked")) for k in changed)
    reloaded = ganzoo.load(tmp_path / "measured")
    assert torch.equal(reloaded.module.state_dict()["net.1.running_var"], m["net.1.running_var"])
    from ganzoo.training.checkpoint import read_checkpoint

    ckpt_plain, _ = read_checkpoint(tmp_path / "plain" / "checkpoint.safetensors")
    ckpt_measured, _ = read_checkpoint(tmp_path / "measured" / "checkpoint.safetensors")
    assert all(torch.equal(ckpt_plain[k], ckpt_measured[k]) for k in ckpt_plain)
