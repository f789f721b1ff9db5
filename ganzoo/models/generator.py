"""``Generator``: a trained (or new) generator network with the sampling API users call."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
from PIL import Image
from torch import nn

from ganzoo.config import GeneratorConfig
from ganzoo.models.base import Model, Output
from ganzoo.sampling import latents, slerp


class Generator(Model):
    """A generator network plus its architecture name and config: latents (and labels) in, samples out.

    ``generator(z)`` runs the network. ``sample`` and ``interpolate`` draw reproducible samples from seeds.
    The wrapped ``nn.Module`` is ``generator.module`` (what ``export`` and training use).
    """

    def __init__(
        self,
        module: nn.Module | dict[str, nn.Module],
        architecture: str,
        config: GeneratorConfig,
        *,
        task: str = "unconditional",
        training: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(module, architecture, config, task=task, training=training)

    @property
    def z_dim(self) -> int:
        """Latent size."""
        return self.config.z_dim

    def __call__(self, z: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        return self.module(z, *args, **kwargs)

    def latents(self, n: int, seed: int | None = None) -> torch.Tensor:
        """The latents ``sample(n, seed=seed)`` uses, as a float32 tensor on this generator's device."""
        return torch.from_numpy(latents(n, self.z_dim, seed)).to(self.device)

    # no_grad rather than inference_mode: samples may be fed to a discriminator or a metric that needs autograd
    @torch.no_grad()
    def sample(
        self,
        n: int = 1,
        *,
        seed: int | None = None,
        z: torch.Tensor | np.ndarray | None = None,
        labels: torch.Tensor | None = None,
        output: Output = "tensor",
        batch_size: int = 256,
    ) -> torch.Tensor | np.ndarray | list[Image.Image]:
        """Draw ``n`` samples; the same ``seed`` always gives the same samples.

        Args:
            n: number of samples (ignored when ``z`` is given).
            seed: seed for the latents (``numpy.random.default_rng``); ``None`` draws fresh ones.
            z: explicit latents ``(n, z_dim)`` instead of a seed.
            labels: class labels ``(n,)`` for class-conditional generators.
            output: ``"tensor"`` (images as float in [0, 1], NCHW; other samples as generated), ``"raw"``
                (the network's own output, images in [-1, 1]), ``"pil"`` (list of PIL images) or ``"numpy"``
                (uint8 NHWC).
            batch_size: largest batch run at once.
        """
        self._check_output(output)
        if z is None:
            z = self.latents(n, seed)
        else:
            z = torch.as_tensor(z, dtype=torch.float32, device=self.device)
            if z.ndim != 2 or z.shape[1] != self.z_dim:
                raise ValueError(f"z must have shape (n, {self.z_dim}), got {tuple(z.shape)}")
        labels = self._labels(labels, z.shape[0])
        chunks = []
        for start in range(0, z.shape[0], batch_size):
            extra = () if labels is None else (labels[start : start + batch_size],)
            chunks.append((z[start : start + batch_size], *extra))
        return self._format(self._run(self.module, chunks), output)

    def _labels(self, labels: Any, n: int) -> torch.Tensor | None:
        """Check class labels against the input spec: required for class-conditional models, in range."""
        spec = next((s for s in self.inputs if s.kind == "label"), None)
        if spec is None:
            if labels is not None:
                raise ValueError(f"{self.architecture!r} is not class-conditional: drop labels=")
            return None
        if labels is None:
            raise ValueError(
                f"this generator is class-conditional: pass labels=(n,) int64 class indices in "
                f"[{spec.value_range[0]}, {spec.value_range[1]}]"
            )
        labels = torch.as_tensor(labels, dtype=torch.int64, device=self.device).reshape(-1)
        if labels.numel() == 1 and n > 1:
            labels = labels.expand(n)
        if labels.shape[0] != n:
            raise ValueError(f"labels has {labels.shape[0]} entries for {n} samples")
        low, high = spec.value_range
        if labels.numel() and (labels.min() < low or labels.max() > high):
            raise ValueError(f"labels must lie in [{low}, {high}], got values up to {int(labels.max())}")
        return labels

    def interpolate(
        self,
        seed_a: int,
        seed_b: int,
        steps: int = 8,
        *,
        method: Literal["slerp", "linear"] = "slerp",
        output: Output = "tensor",
    ) -> torch.Tensor | np.ndarray | list[Image.Image]:
        """Walk the latent space from ``seed_a``'s latent to ``seed_b``'s in ``steps`` samples (DCGAN §6.1).

        ``method="linear"`` is the DCGAN paper's straight line; ``"slerp"`` (the default) follows the sphere
        where Gaussian latents concentrate, so midpoints keep a typical norm.
        """
        if steps < 2:
            raise ValueError(f"steps must be at least 2, got {steps}")
        a, b = latents(1, self.z_dim, seed_a)[0], latents(1, self.z_dim, seed_b)[0]
        t = np.linspace(0.0, 1.0, steps, dtype=np.float32)
        if method == "slerp":
            z = slerp(a, b, t)
        elif method == "linear":
            z = ((1 - t)[:, None] * a + t[:, None] * b).astype(np.float32)
        else:
            raise ValueError(f"method must be 'slerp' or 'linear', got {method!r}")
        return self.sample(z=z, output=output)
