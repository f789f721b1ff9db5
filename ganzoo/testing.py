"""The architecture contract test, for ganzoo's own tests and for plugin authors' test suites.

from ganzoo.testing import check_architecture

def test_my_architecture():
    check_architecture("stylegan2")
"""

from __future__ import annotations

import tempfile
from typing import Any

import torch

from ganzoo.host.manager import get_registry
from ganzoo.loading import create
from ganzoo.models.folder import load_folder, save


def check_architecture(name: str, *, batch_size: int = 3, **overrides: Any) -> None:
    """Assert that a registered architecture keeps the contract, on its ``tiny`` config (plus ``overrides``).

    Checks: G maps ``(N, z_dim)`` to ``(N, *output_shape)`` (images within [-1, 1]); D maps that to logits
    ``(N,)``; a backward pass reaches every parameter of G and D with finite gradients; save -> load is
    bit-exact; the same seed gives the same samples and another seed different ones.
    """
    arch = get_registry().get("architecture", name)
    config = {**arch.tiny, **overrides}
    generator = create(name, seed=0, **config)
    cfg = generator.config
    G, D = generator.module.train(), arch.discriminator(cfg).train()

    z = torch.randn(batch_size, cfg.z_dim)
    fake = G(z)
    expected = (batch_size, *cfg.output_shape)
    assert tuple(fake.shape) == expected, f"{name}: generator output {tuple(fake.shape)}, expected {expected}"
    assert torch.isfinite(fake).all(), f"{name}: generator output is not finite"
    if cfg.is_image:
        assert fake.min() >= -1 and fake.max() <= 1, f"{name}: images must lie in [-1, 1]"
    logits = D(fake)
    assert tuple(logits.shape) == (batch_size,), (
        f"{name}: discriminator output {tuple(logits.shape)}, expected ({batch_size},)"
    )

    (logits.square().mean() + fake.mean()).backward()
    for module_name, module in (("generator", G), ("discriminator", D)):
        for param_name, p in module.named_parameters():
            assert p.grad is not None, f"{name}: {module_name} parameter {param_name} gets no gradient"
            assert torch.isfinite(p.grad).all(), (
                f"{name}: {module_name} parameter {param_name} has a non-finite gradient"
            )
    assert any(p.grad.abs().sum() > 0 for p in G.parameters()), f"{name}: all generator gradients are zero"

    generator.eval()
    first = generator.sample(batch_size, seed=1, output="raw")
    assert torch.equal(first, generator.sample(batch_size, seed=1, output="raw")), f"{name}: same seed, other output"
    assert not torch.equal(first, generator.sample(batch_size, seed=2, output="raw")), f"{name}: seed is ignored"

    with tempfile.TemporaryDirectory() as folder:
        save(generator, folder)
        loaded = load_folder(folder)
    assert loaded.config == cfg, f"{name}: config changed in save/load"
    saved_state, loaded_state = generator.module.state_dict(), loaded.module.state_dict()
    assert saved_state.keys() == loaded_state.keys(), f"{name}: save/load changed the parameter names"
    for key, value in saved_state.items():
        assert torch.equal(value, loaded_state[key]), f"{name}: save/load changed {key}"
    assert torch.equal(first, loaded.sample(batch_size, seed=1, output="raw")), f"{name}: loaded model samples differ"
