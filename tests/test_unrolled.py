"""Unrolled GAN (Metz et al. 2017): G's gradient has the second-order term through the unrolled D updates."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import ganzoo
from ganzoo.plugins.unrolled import unrolled_generator_loss


def _nets() -> tuple[nn.Module, nn.Module, object]:
    torch.manual_seed(0)
    generator = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 2)).double()
    discriminator = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1), nn.Flatten(0)).double()
    loss = ganzoo.get_registry().get("loss", "non-saturating").create()
    return generator, discriminator, loss


def _loss_of_g(generator, discriminator, loss, z, reals, steps, lr=0.5):
    return unrolled_generator_loss(discriminator, loss, generator(z), reals, steps, lr)


def test_the_gradient_through_five_unrolled_steps_differs_from_none_and_matches_finite_differences():
    generator, discriminator, loss = _nets()
    z = torch.randn(32, 3, dtype=torch.float64)
    reals = [torch.randn(32, 2, dtype=torch.float64) for _ in range(5)]
    params = list(generator.parameters())

    def gradient(steps):
        value = _loss_of_g(generator, discriminator, loss, z, reals, steps)
        return torch.autograd.grad(value, params)

    g0, g5 = gradient(0), gradient(5)
    assert max(float((a - b).abs().max()) for a, b in zip(g0, g5, strict=True)) > 1e-3
    # central differences along a random direction: d/de L(theta + e v) = <grad L, v>
    direction = [torch.randn_like(p) for p in params]
    analytic = sum(float((g * v).sum()) for g, v in zip(g5, direction, strict=True))
    eps = 1e-6
    values = []
    for sign in (1, -1):
        with torch.no_grad():
            for p, v in zip(params, direction, strict=True):
                p.add_(sign * eps * v)
        values.append(float(_loss_of_g(generator, discriminator, loss, z, reals, 5).detach()))
        with torch.no_grad():
            for p, v in zip(params, direction, strict=True):
                p.sub_(sign * eps * v)
    numeric = (values[0] - values[1]) / (2 * eps)
    assert abs(analytic - numeric) < 1e-6 * max(1.0, abs(numeric)), (analytic, numeric)
    # and the same check with the first-order approximation (D's steps on detached fakes) fails: the term matters
    first_order = sum(
        float((g * v).sum())
        for g, v in zip(torch.autograd.grad(_first_order(generator, discriminator, loss, z, reals), params),
                        direction, strict=True)
    )  # fmt: skip
    assert abs(first_order - numeric) > 1e-4


def _first_order(generator, discriminator, loss, z, reals, steps=5, lr=0.5):
    """G's loss under D unrolled on detached fakes (the common first-order shortcut)."""
    from torch.func import functional_call

    params = dict(discriminator.named_parameters())
    fake = generator(z)
    for i in range(steps):
        real_scores = functional_call(discriminator, params, (reals[i],))
        fake_scores = functional_call(discriminator, params, (fake.detach(),))
        grads = torch.autograd.grad(loss.discriminator_loss(real_scores, fake_scores), list(params.values()))
        params = {n: (p - lr * g).detach().requires_grad_() for (n, p), g in zip(params.items(), grads, strict=True)}
    return loss.generator_loss(functional_call(discriminator, params, (fake,)))


def test_unrolling_leaves_the_discriminator_and_its_statistics_alone():
    generator, discriminator, loss = _nets()
    before = {k: v.clone() for k, v in discriminator.state_dict().items()}
    value = _loss_of_g(generator, discriminator, loss, torch.randn(8, 3, dtype=torch.float64),
                       [torch.randn(8, 2, dtype=torch.float64)] * 3, 3)  # fmt: skip
    value.backward()
    assert all(torch.equal(before[k], v) for k, v in discriminator.state_dict().items())


def test_zero_unroll_steps_is_the_plain_alternating_update():
    kw = dict(steps=4, batch_size=8, progress=False, z_dim=4, hidden=16, layers=2, seed=1)
    plain = ganzoo.train("mlp", "ring-8", **kw)
    zero = ganzoo.train("mlp", "ring-8", method="unrolled", method_options={"unroll_steps": 0}, **kw)
    five = ganzoo.train("mlp", "ring-8", method="unrolled", method_options={"unroll_steps": 5}, **kw)
    state = lambda g: g.module.state_dict()  # noqa: E731
    assert all(torch.equal(a, b) for a, b in zip(state(plain).values(), state(zero).values(), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(state(plain).values(), state(five).values(), strict=True))


def test_unrolled_refuses_penalised_losses_and_bad_options():
    with pytest.raises(ValueError, match="gradient penalty"):
        ganzoo.train("mlp", "ring-8", method="unrolled", loss="wgan-gp", steps=1, progress=False)
    with pytest.raises(ValueError, match="unroll_steps"):
        ganzoo.train("mlp", "ring-8", method="unrolled", method_options={"unroll_steps": -1}, steps=1, progress=False)


def _adam_after_steps(discriminator, steps=3):
    """D's Adam after ``steps`` real steps on random data (moments and step count set)."""
    optimizer = torch.optim.Adam(discriminator.parameters(), lr=1e-2, betas=(0.5, 0.999), foreach=False)
    for _ in range(steps):
        optimizer.zero_grad()
        discriminator(torch.randn(16, 2, dtype=torch.float64)).square().mean().backward()
        optimizer.step()
    return optimizer


def test_the_unrolled_adam_step_is_torch_adams_step():
    from ganzoo.plugins.unrolled import AdamState

    _, discriminator, loss = _nets()
    optimizer = _adam_after_steps(discriminator)
    real, fake = torch.randn(32, 2, dtype=torch.float64), torch.randn(32, 2, dtype=torch.float64)
    params = dict(discriminator.named_parameters())
    adam = AdamState(optimizer)
    moments = adam.start(params)
    for _ in range(2):  # two unrolled steps against two real ones: the moments carry over too
        d_loss = loss.discriminator_loss(
            torch.func.functional_call(discriminator, params, (real,)),
            torch.func.functional_call(discriminator, params, (fake,)),
        )
        grads = torch.autograd.grad(d_loss, list(params.values()), create_graph=True)
        params, moments = adam.step(params, grads, moments, lr=1e-2)
    for _ in range(2):
        optimizer.zero_grad()
        loss.discriminator_loss(discriminator(real), discriminator(fake)).backward()
        optimizer.step()
    for name, p in discriminator.named_parameters():
        torch.testing.assert_close(params[name], p, rtol=1e-9, atol=1e-12)


def test_the_gradient_through_unrolled_adam_matches_finite_differences():
    from ganzoo.plugins.unrolled import AdamState

    generator, discriminator, loss = _nets()
    adam = AdamState(_adam_after_steps(discriminator))
    z = torch.randn(32, 3, dtype=torch.float64)
    reals = [torch.randn(32, 2, dtype=torch.float64) for _ in range(5)]
    params = list(generator.parameters())

    def value(steps):
        return unrolled_generator_loss(discriminator, loss, generator(z), reals, steps, 1e-2, adam)

    g5 = torch.autograd.grad(value(5), params)
    g0 = torch.autograd.grad(value(0), params)
    assert max(float((a - b).abs().max()) for a, b in zip(g0, g5, strict=True)) > 1e-4
    direction = [torch.randn_like(p) for p in params]
    analytic = sum(float((g * v).sum()) for g, v in zip(g5, direction, strict=True))
    eps, values = 1e-6, []
    for sign in (1, -1):
        with torch.no_grad():
            for p, v in zip(params, direction, strict=True):
                p.add_(sign * eps * v)
        values.append(float(value(5).detach()))
        with torch.no_grad():
            for p, v in zip(params, direction, strict=True):
                p.sub_(sign * eps * v)
    numeric = (values[0] - values[1]) / (2 * eps)
    assert abs(analytic - numeric) < 1e-5 * max(1.0, abs(numeric)), (analytic, numeric)


def test_unroll_optimizer_is_checked():
    with pytest.raises(ValueError, match="unroll_optimizer"):
        ganzoo.train(
            "mlp", "ring-8", method="unrolled", method_options={"unroll_optimizer": "lbfgs"}, steps=1, progress=False
        )
