"""Each loss against its formula on known logits, and the training core's view of it."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import ganzoo

REAL = torch.tensor([2.0, -1.0, 0.5])
FAKE = torch.tensor([-3.0, 0.0, 1.0])


def _loss(name, **options):
    return ganzoo.get_registry().get("loss", name).create(**options)


def _mean(values):
    return sum(values) / len(values)


def _sigmoid(x):
    return 1 / (1 + math.exp(-x))


def test_minimax():
    """D: -[log D(x) + log(1 - D(G(z)))]; G: log(1 - D(G(z)))."""
    loss = _loss("minimax")
    d = _mean([-math.log(_sigmoid(r)) for r in REAL.tolist()]) + _mean([-math.log(1 - _sigmoid(f)) for f in FAKE])
    g = _mean([math.log(1 - _sigmoid(f)) for f in FAKE.tolist()])
    assert loss.discriminator_loss(REAL, FAKE).item() == pytest.approx(d, rel=1e-6)
    assert loss.generator_loss(FAKE).item() == pytest.approx(g, rel=1e-6)


def test_non_saturating():
    """Same D loss as minimax; G: -log D(G(z))."""
    loss = _loss("non-saturating")
    g = _mean([-math.log(_sigmoid(f)) for f in FAKE.tolist()])
    assert loss.generator_loss(FAKE).item() == pytest.approx(g, rel=1e-6)
    assert loss.discriminator_loss(REAL, FAKE).item() == pytest.approx(
        _loss("minimax").discriminator_loss(REAL, FAKE).item()
    )


def test_non_saturating_gradient_does_not_vanish():
    """Where D confidently rejects a fake (logit -10), minimax G gradients vanish; the log D trick's do not."""
    logit = torch.tensor([-10.0], requires_grad=True)
    (minimax_grad,) = torch.autograd.grad(_loss("minimax").generator_loss(logit), logit)
    (ns_grad,) = torch.autograd.grad(_loss("non-saturating").generator_loss(logit), logit)
    assert abs(minimax_grad.item()) < 1e-4 and abs(ns_grad.item()) > 0.99


def test_losses_are_stable_on_extreme_logits():
    """Softplus forms stay finite where sigmoid + log would give inf."""
    huge = torch.tensor([1e4, -1e4])
    for name in ("minimax", "non-saturating"):
        loss = _loss(name)
        assert torch.isfinite(loss.discriminator_loss(huge, -huge)) and torch.isfinite(loss.generator_loss(huge))


def test_wasserstein():
    """Critic: E[f(G(z))] - E[f(x)]; G: -E[f(G(z))]; 5 critic steps, clip 0.01, RMSprop 5e-5."""
    loss = _loss("wasserstein")
    assert loss.discriminator_loss(REAL, FAKE).item() == pytest.approx(FAKE.mean() - REAL.mean())
    assert loss.generator_loss(FAKE).item() == pytest.approx(-FAKE.mean().item())
    assert (loss.d_steps, loss.clip) == (5, 0.01)
    assert loss.optimizer == {"name": "rmsprop", "lr": 5e-5}
    assert not loss.outputs_probability


def test_hinge():
    """D: E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]; G: -E[D(G(z))]."""
    loss = _loss("hinge")
    d = _mean([max(0, 1 - r) for r in REAL.tolist()]) + _mean([max(0, 1 + f) for f in FAKE.tolist()])
    assert loss.discriminator_loss(REAL, FAKE).item() == pytest.approx(d)
    assert loss.generator_loss(FAKE).item() == pytest.approx(-FAKE.mean().item())


def test_least_squares():
    """D: 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]; G: 1/2 E[(D(G(z)) - 1)^2]."""
    loss = _loss("least-squares")
    d = 0.5 * _mean([(r - 1) ** 2 for r in REAL.tolist()]) + 0.5 * _mean([f**2 for f in FAKE.tolist()])
    assert loss.discriminator_loss(REAL, FAKE).item() == pytest.approx(d)
    assert loss.generator_loss(FAKE).item() == pytest.approx(0.5 * _mean([(f - 1) ** 2 for f in FAKE.tolist()]))


class _Linear(nn.Module):
    """f(x) = w . x: its gradient is w everywhere, so the penalty is known in closed form."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x):
        return x.flatten(1) @ self.w


def test_wgan_gp_penalty_matches_formula():
    """lambda * (||grad f|| - 1)^2 with ||grad f|| = ||w|| for a linear critic; it backpropagates into the critic."""
    w = torch.tensor([3.0, 4.0])  # norm 5
    critic = _Linear(w.clone())
    loss = _loss("wgan-gp")
    penalty = loss.regularizer(critic, torch.randn(6, 2), torch.randn(6, 2))
    assert penalty.item() == pytest.approx(10 * (5 - 1) ** 2, rel=1e-5)
    penalty.backward()
    assert critic.w.grad is not None and torch.all(critic.w.grad != 0)
    assert loss.clip is None and loss.d_steps == 5 and loss.optimizer["betas"] == (0.0, 0.9)
    assert _loss("wgan-gp", gp_weight=1.0).regularizer(critic, torch.randn(2, 2), torch.randn(2, 2)).item() == (
        pytest.approx(16, rel=1e-5)
    )


def test_wgan_gp_uses_one_coefficient_per_sample():
    """Each sample's interpolate lies on the segment between its own real and fake sample."""
    seen = {}

    class Spy(nn.Module):
        def forward(self, x):
            seen["x"] = x.detach().clone()
            return x.flatten(1).sum(1)

    real, fake = torch.zeros(4, 1, 2, 2), torch.ones(4, 1, 2, 2)
    _loss("wgan-gp").regularizer(Spy(), real, fake)
    mixed = seen["x"]
    per_sample = mixed.flatten(1)
    assert torch.allclose(per_sample, per_sample[:, :1].expand_as(per_sample))  # one alpha per sample
    assert len(set(per_sample[:, 0].tolist())) == 4  # different alphas across samples


def test_unknown_loss_option_is_a_clear_error():
    """A misspelt loss option names the loss."""
    with pytest.raises(TypeError, match="loss 'wgan-gp' does not take these options"):
        _loss("wgan-gp", gp_wieght=3)


def test_wgan_gp_penalises_one_gradient_norm_per_packed_group():
    """A packing critic (PacGAN) returns one value per group: the penalty takes the norm over the whole group."""

    class PackedSum(nn.Module):
        def forward(self, x):  # groups of 2 samples; d/dx of the group's sum is 1 in each of its 4 coordinates
            return x.reshape(-1, 4).sum(1)

    penalty = _loss("wgan-gp", gp_weight=1.0).regularizer(PackedSum(), torch.randn(6, 2), torch.randn(6, 2))
    # per group: ||(1, 1, 1, 1)|| = 2, so (2 - 1)^2 = 1 (per sample it would have been (sqrt(2) - 1)^2)
    assert penalty.item() == pytest.approx(1.0)


def test_r1_penalty_matches_formula():
    """gamma/2 * ||grad D||^2 on real samples: ||w||^2 = 25 for a linear D; off (None) by default."""
    d = _Linear(torch.tensor([3.0, 4.0]))
    for name in ("minimax", "non-saturating"):
        assert _loss(name).regularizer(d, torch.randn(5, 2), torch.randn(5, 2)) is None
        assert not _loss(name).has_regularizer
        loss = _loss(name, r1_gamma=2.0)
        assert loss.has_regularizer
        penalty = loss.regularizer(d, torch.randn(5, 2), torch.randn(5, 2))
        assert penalty.item() == pytest.approx(0.5 * 2.0 * 25, rel=1e-5)
        penalty.backward()  # it trains D: d/dw of ||w||^2 = 2w
        assert torch.allclose(d.w.grad, 2.0 * torch.tensor([3.0, 4.0]))
        d.w.grad = None


def test_r1_penalty_looks_at_real_samples_only():
    """R1 is measured where the data is: a D that is flat on real points and steep elsewhere is not penalised."""

    class SteepAwayFromZero(nn.Module):
        def forward(self, x):
            return (x**2).sum(1)  # gradient 2x: zero at the origin

    penalty = _loss("non-saturating", r1_gamma=10.0).regularizer(
        SteepAwayFromZero(), torch.zeros(4, 2), 5 * torch.ones(4, 2)
    )
    assert penalty.item() == 0.0


def test_r1_gamma_must_not_be_negative():
    with pytest.raises(ValueError, match="r1_gamma must be >= 0"):
        _loss("non-saturating", r1_gamma=-1.0)
