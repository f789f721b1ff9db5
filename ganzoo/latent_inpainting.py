"""Inpainting with any unconditional image generator by searching its latent space: Yeh, Chen, Lim, Schwing,
Hasegawa-Johnson and Do, "Semantic Image Inpainting with Deep Generative Models", CVPR 2017,
https://arxiv.org/abs/1607.07539.

No training: for each damaged picture y with known pixels M, find the latent z whose picture G(z) agrees with
y on the context, then paste G(z) into the hole and blend:

    z* = arg min_z  || W * (G(z) - y) ||_1  +  prior_weight * prior(z)

W weighs each known pixel by how many of its 7x7 neighbours are missing (the context next to the hole matters
most); ganzoo adds ``far_weight`` (0.05) on every other known pixel, so the whole face steers z too (on 16 CelebA
test faces, centre hole, 300 steps: 15.3 dB in the hole with the paper's W alone, 16.0 dB with it).
The paper's prior term is lambda * log(1 - D(G(z))), which needs the GAN's discriminator; ganzoo's zoo
publishes generators only, so the prior here is the latent's own N(0, I) density, mean(z^2) / 2, which keeps z
where G was trained. The fill is blended by Poisson editing (Perez et al. 2003: the hole takes G(z*)'s gradients
and the context's boundary values), as the paper does.

The result can be no better than the generator: a DCGAN trained on 10k faces fills faces with DCGAN faces. See
``ganzoo inpaint`` for the command line and ``benchmarks/restoration.py`` for measured numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

BLENDS = ("poisson", "paste")


@dataclass
class LatentInpainting:
    """What ``latent_inpaint`` returns: ``completed`` and ``generated`` (G(z*)) images (N, C, H, W) in [-1, 1],
    the latents ``z`` and the final per-image ``context_loss`` (mean absolute error on the known pixels)."""

    completed: torch.Tensor
    generated: torch.Tensor
    z: torch.Tensor
    context_loss: torch.Tensor


def importance_weights(mask: torch.Tensor, window: int = 7, far_weight: float = 0.0) -> torch.Tensor:
    """(N, 1, H, W) hole masks (1 = missing) -> Yeh et al.'s W: for a known pixel, the share of missing pixels
    in its ``window`` x ``window`` neighbourhood, plus ``far_weight``; 0 in the hole."""
    missing_share = F.avg_pool2d(mask, window, stride=1, padding=window // 2, count_include_pad=False)
    return (missing_share + far_weight) * (1 - mask)


def poisson_blend(
    generated: torch.Tensor, images: torch.Tensor, mask: torch.Tensor, iterations: int = 600
) -> torch.Tensor:
    """Seamless cloning (Perez et al. 2003): inside the hole, the picture whose Laplacian is ``generated``'s and
    whose values on the hole's border are ``images``'; outside, ``images``. Solved by Jacobi iterations started
    from ``generated`` shifted by the mean border difference (the slow low frequencies are then mostly right)."""
    kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]], device=images.device)
    kernel = kernel.view(1, 1, 3, 3).repeat(images.shape[1], 1, 1, 1)

    def neighbours(x: torch.Tensor) -> torch.Tensor:  # sum of the 4 neighbours (edges replicated)
        return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel, groups=x.shape[1])

    laplacian = 4 * generated - neighbours(generated)  # the gradients to keep
    ring = F.max_pool2d(mask, 3, stride=1, padding=1) * (1 - mask)  # known pixels touching the hole
    count = ring.sum((2, 3), keepdim=True).clamp(min=1)
    offset = ((images - generated) * ring).sum((2, 3), keepdim=True) / count
    x = torch.where(mask.bool(), generated + offset, images)
    for _ in range(iterations):
        x = torch.where(mask.bool(), (neighbours(x) + laplacian) / 4, images)
    return x.clamp(-1, 1)


def latent_inpaint(
    generator: Any,
    images: torch.Tensor,
    mask: torch.Tensor,
    *,
    steps: int = 1000,
    lr: float = 0.01,
    prior_weight: float = 0.003,
    far_weight: float = 0.05,
    blend: str = "poisson",
    seed: int = 0,
    batch_size: int = 64,
    progress: bool = False,
) -> LatentInpainting:
    """Fill the holes of ``images`` (N, C, H, W) in [-1, 1], where ``mask`` (N, 1, H, W) is 1, with an
    unconditional ``ganzoo.Generator`` by latent search (Yeh et al. 2017; see the module docstring).

    Args:
        steps: Adam steps on z per batch (the paper: 1,500 momentum steps; 1,000 is usually converged here).
        lr: Adam's learning rate on z.
        prior_weight: weight of the latent prior mean(z^2) / 2 (lambda; the paper's 0.003 on its D prior).
        far_weight: context weight of known pixels away from the hole (0: the paper's W exactly).
        blend: ``poisson`` (seamless, the paper's) or ``paste`` (G(z*) copied into the hole as it is).
        seed: seeds the starting latents.
    """
    if blend not in BLENDS:
        raise ValueError(f"blend must be one of {', '.join(BLENDS)}, got {blend!r}")
    if steps < 1 or lr <= 0 or prior_weight < 0 or far_weight < 0:
        raise ValueError("steps must be >= 1, lr > 0, prior_weight and far_weight >= 0")
    specs = generator.inputs
    if len(specs) != 1 or specs[0].kind != "latent" or not generator.config.is_image:
        raise ValueError(
            f"latent-search inpainting needs an unconditional image generator (latents in, images out); "
            f"{generator.architecture!r} takes {[s.name for s in specs]}"
        )
    if tuple(images.shape[1:]) != tuple(generator.output_shape):
        raise ValueError(f"the images are {tuple(images.shape[1:])}; the generator makes {generator.output_shape}")
    module, device = generator.module, generator.device
    was_training = module.training
    module.eval().requires_grad_(False)  # only z is optimised
    rng = torch.Generator().manual_seed(seed)
    outputs = []
    try:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps * ((len(images) + batch_size - 1) // batch_size), disable=not progress, unit="step")
        for start in range(0, len(images), batch_size):
            y = images[start : start + batch_size].to(device).float()
            m = mask[start : start + batch_size].to(device).float()
            weights = importance_weights(m, far_weight=far_weight).expand_as(y)
            outputs.append(_search(module, y, m, weights, generator.config.z_dim, steps, lr, prior_weight, rng, bar))
        bar.close()
    finally:
        module.requires_grad_(True).train(was_training)
    generated = torch.cat([o[0] for o in outputs])
    z = torch.cat([o[1] for o in outputs])
    loss = torch.cat([o[2] for o in outputs])
    m = mask.to(generated.device).float()
    y = images.to(generated.device).float()
    with torch.no_grad():
        completed = poisson_blend(generated, y, m) if blend == "poisson" else generated * m + y * (1 - m)
    return LatentInpainting(completed, generated, z, loss)


def _search(module, y, m, weights, z_dim, steps, lr, prior_weight, rng, bar) -> tuple[torch.Tensor, ...]:
    """Adam on z for one batch; returns (G(z*), z*, per-image context L1)."""
    z = torch.randn(len(y), z_dim, generator=rng).to(y.device).requires_grad_(True)
    known = (1 - m).expand_as(y)
    optimizer = torch.optim.Adam([z], lr=lr)
    for _ in range(steps):
        out = module(z)
        context = (weights * (out - y)).abs().flatten(1).sum(1)  # per image, as the paper's sum
        prior = 0.5 * z.pow(2).mean(1)
        loss = (context + prior_weight * prior).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        bar.update(1)
    with torch.no_grad():
        out = module(z)
        mae = ((out - y).abs() * known).flatten(1).sum(1) / known.flatten(1).sum(1).clamp(min=1)
    return out.detach(), z.detach(), mae
