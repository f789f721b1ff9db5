"""``Generator``: a trained (or new) generator network with the sampling API users call."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
from PIL import Image

from ganzoo.models.base import Model, Output
from ganzoo.sampling import draw_codes, latents, slerp


class Generator(Model):
    """A generator network plus its architecture name and config: latents (and labels) in, samples out.

    ``generator(z)`` runs the network. ``sample`` and ``interpolate`` draw reproducible samples from seeds.
    The wrapped ``nn.Module`` is ``generator.module`` (what ``export`` and training use).
    """

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
        codes: dict[str, Any] | None = None,
        output: Output = "tensor",
        batch_size: int = 256,
    ) -> torch.Tensor | np.ndarray | list[Image.Image]:
        """Draw ``n`` samples; the same ``seed`` always gives the same samples.

        Args:
            n: number of samples (ignored when ``z`` is given).
            seed: seed for the latents (``numpy.random.default_rng``); ``None`` draws fresh ones.
            z: explicit latents ``(n, z_dim)`` instead of a seed.
            labels: class labels ``(n,)`` (or one for all) for class-conditional generators.
            codes: for generators whose input spec has codes (InfoGAN): ``{name: values}`` for the ones to fix;
                the others are drawn from their priors with ``seed`` (``ganzoo.sampling.draw_codes``).
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
        drawn = {
            name: torch.from_numpy(value).to(self.device)
            for name, value in draw_codes(self.inputs, z.shape[0], seed, codes).items()
        }
        # the network's inputs in the order of the input spec: z, then labels and codes
        inputs = [z] + [labels if spec.kind == "label" else drawn[spec.name] for spec in self.inputs[1:]]
        chunks = [tuple(x[start : start + batch_size] for x in inputs) for start in range(0, z.shape[0], batch_size)]
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
        codes = {name: value[0] for name, value in draw_codes(self.inputs, 1, seed_a).items()}  # held fixed
        return self.sample(z=z, codes=codes, output=output)

    def traverse(
        self,
        code: str,
        *,
        values: Any,
        n: int = 1,
        seed: int | None = 0,
        index: int = 0,
        labels: Any = None,
        output: Output = "tensor",
    ) -> torch.Tensor | np.ndarray | list[Image.Image]:
        """Vary one code, keep everything else fixed (InfoGAN's latent traversals, Chen et al. 2016, fig. 2).

        Returns ``n`` rows of ``len(values)`` samples (row-major): row ``r`` holds the latents and other codes of
        ``sample(n, seed=seed)``'s sample ``r``, with ``code`` (its element ``index`` for vector codes) set to
        each of ``values`` in turn.
        """
        spec = next((s for s in self.inputs if s.name == code), None)
        if spec is None or spec.name == "z" or spec.kind == "label":
            names = [s.name for s in self.inputs if s.name != "z" and s.kind != "label"]
            raise ValueError(f"{code!r} is not a code of this generator; its codes are {names or 'none'}")
        values = np.asarray(list(values))
        k = len(values)
        z = np.repeat(latents(n, self.z_dim, seed), k, axis=0)  # (n * k, z_dim): each row's latent k times
        drawn = {name: np.repeat(value, k, axis=0) for name, value in draw_codes(self.inputs, n, seed).items()}
        varied = drawn[code].copy()
        if varied.ndim == 1:
            varied[:] = np.tile(values, n)
        else:
            varied[:, index] = np.tile(values, n)
        drawn[code] = varied
        if labels is not None:
            labels = np.repeat(np.broadcast_to(np.asarray(labels), (n,)), k)
        return self.sample(z=z, codes=drawn, labels=labels, output=output)
