"""``Generator``: a trained (or new) generator network with the sampling API users call."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
from PIL import Image
from torch import nn

from ganzoo.config import GeneratorConfig
from ganzoo.sampling import latents, slerp, to_pil, to_uint8

Output = Literal["tensor", "raw", "pil", "numpy"]


class Generator:
    """A generator network plus its architecture name and config.

    ``generator(z)`` runs the network. ``sample`` and ``interpolate`` draw reproducible samples from seeds.
    The wrapped ``nn.Module`` is ``generator.module`` (what ``export`` and training use).
    """

    def __init__(
        self,
        module: nn.Module,
        architecture: str,
        config: GeneratorConfig,
        *,
        task: str = "unconditional",
        training: dict[str, Any] | None = None,
    ) -> None:
        self.module = module
        self.architecture = architecture
        self.config = config
        self.task = task
        self.training = dict(training or {})

    def __repr__(self) -> str:
        return f"Generator({self.architecture!r}, {self.config!r})"

    @property
    def z_dim(self) -> int:
        """Latent size."""
        return self.config.z_dim

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of one sample without the batch axis, e.g. ``(3, 64, 64)``."""
        return self.config.output_shape

    @property
    def device(self) -> torch.device:
        """The device the weights live on."""
        return next(self.module.parameters()).device

    def to(self, device: str | torch.device) -> Generator:
        """Move the weights to ``device``; returns self."""
        self.module.to(device)
        return self

    def eval(self) -> Generator:
        """Inference mode for batch norm and dropout; returns self."""
        self.module.eval()
        return self

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
        if output not in ("tensor", "raw", "pil", "numpy"):
            raise ValueError(f"output must be 'tensor', 'raw', 'pil' or 'numpy', got {output!r}")
        if z is None:
            z = self.latents(n, seed)
        else:
            z = torch.as_tensor(z, dtype=torch.float32, device=self.device)
            if z.ndim != 2 or z.shape[1] != self.z_dim:
                raise ValueError(f"z must have shape (n, {self.z_dim}), got {tuple(z.shape)}")
        if self.task == "class-conditional" and labels is None:
            raise ValueError("this generator is class-conditional: pass labels=(n,) int64 class indices")
        if output in ("pil", "numpy") and not self.config.is_image:
            raise ValueError(
                f"output={output!r} needs an image generator; {self.architecture!r} makes "
                f"samples of shape {self.output_shape}. Use output='tensor'."
            )
        was_training = self.module.training
        self.module.eval()
        try:
            chunks = []
            for start in range(0, z.shape[0], batch_size):
                extra = () if labels is None else (labels[start : start + batch_size].to(self.device),)
                chunks.append(self.module(z[start : start + batch_size], *extra))
            raw = torch.cat(chunks)
        finally:
            self.module.train(was_training)
        if output == "raw" or (output == "tensor" and not self.config.is_image):
            return raw
        if output == "tensor":
            return raw.clamp(-1, 1).add(1).div(2)
        return to_pil(raw) if output == "pil" else to_uint8(raw)

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

    def save(self, path: str) -> None:
        """Save as a Hub-format folder (see ``ganzoo.save``)."""
        from ganzoo.models.folder import save

        save(self, path)
