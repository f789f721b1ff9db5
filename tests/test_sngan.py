"""SN-GAN (Miyato et al. 2018) as DCGAN's ``d_norm="spectral"``: spectral norm on every D convolution, with the
hinge loss. The power iteration's state (``_u``, ``_v``) is part of the checkpoint, so a resume is exact."""

from __future__ import annotations

import numpy as np
import torch

import ganzoo
from ganzoo.data import InMemoryData
from ganzoo.training.checkpoint import read_checkpoint

SN = dict(image_size=16, g_width=4, d_width=4, z_dim=8, d_norm="spectral", batch_size=4, progress=False)


def _faces(n: int = 32) -> InMemoryData:
    return InMemoryData(torch.from_numpy(np.random.default_rng(0).integers(0, 256, (n, 3, 16, 16), dtype=np.uint8)))


def test_spectral_norm_discriminator_resumes_exactly_with_its_power_iteration_state(tmp_path):
    kw = dict(SN, loss="hinge", checkpoint_every=3)
    straight = ganzoo.train("dcgan", _faces(), steps=6, out_dir=tmp_path / "a", **kw)
    ganzoo.train("dcgan", _faces(), steps=3, out_dir=tmp_path / "b", **kw)
    resumed = ganzoo.train("dcgan", _faces(), steps=6, out_dir=tmp_path / "b", resume=True, **kw)
    a, _ = read_checkpoint(tmp_path / "a" / "checkpoint.safetensors")
    b, _ = read_checkpoint(tmp_path / "b" / "checkpoint.safetensors")
    power = [k for k in a if k.endswith(("._u", "._v"))]
    assert power and all(k.startswith("modules.discriminator.") for k in power)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert all(torch.equal(x, y) for x, y in zip(straight.module.state_dict().values(),
                                                  resumed.module.state_dict().values(), strict=True))  # fmt: skip


def test_every_discriminator_weight_has_spectral_norm_one():
    from ganzoo.host import get_host

    arch = get_host().registry.architectures["dcgan"]
    discriminator = arch.network("discriminator")(arch.make_config(image_size=16, d_norm="spectral"))
    discriminator.train()
    for _ in range(30):  # the power iteration sharpens its estimate at every training-mode forward
        discriminator(torch.randn(4, 3, 16, 16))
    convs = [m for m in discriminator.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and not any(isinstance(m, torch.nn.BatchNorm2d) for m in discriminator.modules())
    for conv in convs:
        sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
        assert abs(float(sigma) - 1.0) < 0.05, float(sigma)
