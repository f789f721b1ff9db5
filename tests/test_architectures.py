"""Every registered architecture keeps the contract (ganzoo.testing.check_architecture), plus DCGAN specifics."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import ganzoo
from ganzoo.host.manager import get_registry
from ganzoo.testing import check_architecture


@pytest.mark.parametrize("name", ganzoo.list_architectures())
def test_architecture_contract(name):
    """Shapes, range, gradients, save/load bit-exactness and seeding, on the tiny config."""
    check_architecture(name)


@pytest.mark.parametrize("image_size", [32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_sizes(image_size, channels):
    """DCGAN makes 32, 64 and 128 pixel images with 1 or 3 channels; D scores them with one logit each."""
    g = ganzoo.create("dcgan", image_size=image_size, channels=channels, g_width=8, d_width=8, z_dim=10)
    images = g.sample(2, seed=0, output="raw")
    assert images.shape == (2, channels, image_size, image_size)
    d = ganzoo.get_registry().architectures["dcgan"].discriminator(g.config)
    assert d(images).shape == (2,)


def test_dcgan_follows_the_paper_guidelines():
    """Strided convs (no pooling, no hidden Linear), BN in G and D (not on D's input layer), ReLU/Tanh, LeakyReLU."""
    g = ganzoo.create("dcgan", g_width=8, d_width=8)
    d = ganzoo.get_registry().architectures["dcgan"].discriminator(g.config)
    g_layers, d_layers = list(g.module.modules()), list(d.modules())
    for layers in (g_layers, d_layers):
        assert not any(isinstance(m, (nn.Linear, nn.MaxPool2d, nn.AvgPool2d)) for m in layers)
    assert isinstance(g_layers[-1], nn.Tanh)
    assert any(isinstance(m, nn.BatchNorm2d) for m in g_layers) and any(isinstance(m, nn.ReLU) for m in g_layers)
    convs = [m for m in d_layers if isinstance(m, nn.Conv2d)]
    assert all(c.stride == (2, 2) for c in convs[:-1])
    assert isinstance(d.net[1], nn.LeakyReLU) and d.net[1].negative_slope == 0.2  # no BN after the input conv
    assert any(isinstance(m, nn.BatchNorm2d) for m in d_layers)
    weights = torch.cat([c.weight.flatten() for c in convs])
    assert abs(weights.std().item() - 0.02) < 0.002  # N(0, 0.02) initialisation


def test_dcgan_rejects_bad_config():
    """Sizes that are not powers of two and odd channel counts are refused with what to change."""
    with pytest.raises(ganzoo.ConfigError, match="power of two"):
        ganzoo.create("dcgan", image_size=48)
    with pytest.raises(ganzoo.ConfigError, match="channels must be 1"):
        ganzoo.create("dcgan", channels=2)
    with pytest.raises(ganzoo.ConfigError, match=r"unknown config field.*widht"):
        ganzoo.create("dcgan", widht=3)


def test_dcgan_layer_norm_option_has_no_batchnorm():
    """d_norm='layer' gives a discriminator fit for gradient penalties (no batch statistics)."""
    cfg = ganzoo.get_registry().architectures["dcgan"].make_config(d_norm="layer", image_size=32, d_width=8)
    d = ganzoo.get_registry().architectures["dcgan"].discriminator(cfg)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules())
    assert any(isinstance(m, nn.GroupNorm) for m in d.modules())


def test_mlp_packing_discriminator_judges_groups_of_samples():
    """PacGAN: pack=4 gives one logit per 4 consecutive samples, from their concatenation."""
    arch = get_registry().get("architecture", "mlp")
    torch.manual_seed(0)
    D = arch.discriminator(arch.make_config(pack=4, hidden=8, layers=1))
    assert D(torch.randn(12, 2)).shape == (3,)
    x = torch.randn(8, 2)
    changed = x.clone()
    changed[5] += 1.0  # a sample of the second group: the first group's logit must not move
    a, b = D(x), D(changed)
    assert torch.equal(a[0], b[0]) and not torch.equal(a[1], b[1])
    with pytest.raises(ValueError, match="divisible by 4"):
        D(torch.randn(6, 2))
    with pytest.raises(ganzoo.ConfigError, match="pack"):
        arch.make_config(pack=0)
