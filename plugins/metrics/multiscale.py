"""Per-resolution measurements of a hierarchical generator, after Allen-Zhu and Li, "Forward Super-Resolution: How
Can GANs Learn Hierarchical Generative Models for Real-World Distributions" (https://arxiv.org/abs/2106.02619).

The article reads a GAN through each resolution ``X_l`` (a down-scaling of the final image) and through its
hidden layers: the moments are matched first, each level is learnt by super-resolving the one below, and the
hidden layers become sparse. Three metrics measure that (registered by ``ganzoo.plugins.fsr``):

- ``fid-per-resolution`` (``MultiscaleFID``): FID of every level of ``G.pyramid(z)`` against the reference images
  average-pooled to that level. The Inception pipeline resizes every image to 299x299 (tf1 bilinear) anyway, so a
  level's FID compares the generated and the real images *at that level's detail*, both upscaled the same way.
  The final level's number is the usual FID (same latents, same quantisation);
- ``moments-per-resolution`` (``MultiscaleMoments``): mean and covariance distances
  (``ganzoo.training.moments.moment_distances``) of the 4x4 pixel patches of every level against those of the
  pooled reals: low-degree moments of local structure at each scale (at 4x4 the patch is the whole image);
- ``patch-sparsity`` (``PatchSparsity``): for every hidden ``nn.ReLU`` layer, at each spatial position, the share
  of channels that are (near-)zero, averaged, with its spread over positions, beside the same for a freshly
  initialised network of the same architecture (the article compares with the random initialisation).

``fid-per-resolution`` and ``moments-per-resolution`` need a generator module with ``pyramid(z) -> [X_0, ...]``
(``fsr``); ``patch-sparsity`` works on any generator built from ``nn.ReLU`` modules.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ganzoo.evaluation import EvaluationError, Metric
from ganzoo.training.moments import moment_distances, relu_outputs

from .inception import check_samples, fid_from_features

if TYPE_CHECKING:
    import torch
    from torch import nn

PATCH = 4  # side of the patches whose moments are compared at each level


# -- building blocks ----------------------------------------------------------------------------------------------


def as_uint8(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] ``(N, C, H, W)`` -> uint8 ``(N, C, H, W)``, rounded as saved images (and ``evaluate``'s
    generated samples) are."""
    import torch

    return images.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).cpu()


def downscale_uint8(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 images ``(N, C, S, S)`` average-pooled to ``size`` px and rounded back to uint8."""
    import torch
    import torch.nn.functional as F

    factor = images.shape[-1] // size
    if factor < 1 or images.shape[-1] != factor * size:
        raise EvaluationError(f"cannot pool {images.shape[-1]} px images to {size} px")
    if factor == 1:
        return images
    return F.avg_pool2d(images.float(), factor).round().clamp(0, 255).to(torch.uint8)


def pyramid_of(generator: Any, n: int, seed: int, batch_size: int = 256) -> list[torch.Tensor]:
    """Every level of ``generator.module.pyramid(z)`` for ``sample(n, seed=seed)``'s latents, as uint8 images."""
    import torch

    module = generator.module
    if not callable(getattr(module, "pyramid", None)):
        raise EvaluationError(
            f"{getattr(generator, 'architecture', type(module).__name__)!r} has no pyramid(z): per-resolution "
            "metrics need a generator that paints every resolution (architecture 'fsr')"
        )
    z = generator.latents(n, seed)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            parts = [module.pyramid(z[i : i + batch_size]) for i in range(0, n, batch_size)]
    finally:
        module.train(was_training)
    return [torch.cat([as_uint8(p[k]) for p in parts]) for k in range(len(parts[0]))]


def patch_rows(images: torch.Tensor, patch: int = PATCH) -> np.ndarray:
    """Non-overlapping ``patch`` x ``patch`` pixel patches of every image as rows ``(N * patches, C * patch^2)``,
    scaled to [-1, 1] (uint8 images) or as given (float images in [-1, 1])."""
    import torch

    x = images.detach()
    x = x.float() / 127.5 - 1.0 if x.dtype == torch.uint8 else x.float()
    n, c, h, w = x.shape
    p = min(patch, h, w)
    if h % p or w % p:
        raise EvaluationError(f"{h}x{w} images do not split into {p}x{p} patches")
    # (N, C, H/p, p, W/p, p) -> (N, H/p, W/p, C, p, p): a reshape, not unfold (im2col is slow on small CPU batches)
    x = x.reshape(n, c, h // p, p, w // p, p).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(-1, c * p * p).cpu().numpy()


def patch_moments(generated: torch.Tensor, reference: torch.Tensor, patch: int = PATCH) -> dict[str, float]:
    """``moment_distances`` of the two image sets' ``patch_rows``."""
    return moment_distances(patch_rows(generated, patch), patch_rows(reference, patch))


def position_sparsity(activation: torch.Tensor, tau: float = 0.01) -> dict[str, Any]:
    """Sparsity of one hidden layer's output ``(N, C, H, W)``, per spatial position (the article's "few
    edge-colour features active at each position").

    A unit counts as near-zero when it is at most ``tau`` times the layer's RMS activation (``tau = 0``: exactly
    zero, as a ReLU makes it). ``zero_fraction`` is the mean over samples and positions of the share of near-zero
    channels; ``active_share_p10/p50/p90`` the spread over positions of the share that is active.
    """
    a = activation.detach().float()
    if a.ndim == 2:  # a dense layer's (N, C): one position
        a = a[:, :, None, None]
    rms = a.square().mean().sqrt()
    zero = (a <= tau * rms) if tau > 0 else (a <= 0)
    share = zero.float().mean(dim=1)  # (N, H, W): near-zero share of the channels at each position
    active = (1.0 - share).flatten().cpu().numpy()
    p10, p50, p90 = np.percentile(active, [10, 50, 90])
    return {
        "shape": list(a.shape[1:]),
        "zero_fraction": float(share.mean()),
        "active_channels": float(active.mean() * a.shape[1]),
        "active_share_p10": float(p10),
        "active_share_p50": float(p50),
        "active_share_p90": float(p90),
        "exact_zero_fraction": float((a == 0).float().mean()),
    }


def hidden_sparsity(
    module: nn.Module, z: torch.Tensor, tau: float = 0.01, *, batch_statistics: bool = False
) -> list[dict[str, Any]]:
    """``position_sparsity`` of every ``nn.ReLU`` output of ``module(z)``, in forward order.

    The module runs in eval mode, or with ``batch_statistics`` in training mode on a copy (batch norm normalises by
    the batch: how a freshly initialised network, whose running statistics mean nothing yet, computes).
    """
    net = copy.deepcopy(module).train() if batch_statistics else module
    outputs = relu_outputs(net, z, eval_mode=not batch_statistics)
    return [{"layer": name, **position_sparsity(output, tau)} for name, output in outputs]


def _generator_of(metric: Metric) -> Any:
    generator = metric.context.generator
    if generator is None:
        raise EvaluationError(f"{type(metric).__name__} looks inside the generator: evaluate() got none")
    return generator


# -- metrics --------------------------------------------------------------------------------------------------------


class MultiscaleFID(Metric):
    """FID at every resolution of the generator's pyramid, against the reference pooled to each resolution.

    Options: ``extractor`` (``"inception"``, default, or ``"pixels"`` for a quick check), ``weights`` /
    ``download`` (the Inception weights, as for ``evaluate``), ``device``, ``batch_size``, ``min_samples`` (as
    ``fid``'s), ``progress``. Features are extracted here per level (5 levels: 10 passes over n images at 64 px).
    """

    needs: ClassVar[frozenset[str]] = frozenset()  # features are computed per level here
    splits: ClassVar[tuple[str, ...]] = ("reference",)
    headline: ClassVar[str] = "fid_final"

    def __init__(
        self,
        extractor: str = "inception",
        weights: str | None = None,
        download: bool = False,
        device: str | None = None,
        batch_size: int = 50,
        min_samples: int | None = None,
        progress: bool = False,
    ) -> None:
        super().__init__()
        if extractor not in ("inception", "pixels"):
            raise EvaluationError(f"fid-per-resolution: extractor must be 'inception' or 'pixels', got {extractor!r}")
        self.extractor, self.min_samples = extractor, min_samples
        self.options = {
            "weights": weights,
            "download": download,
            "device": device,
            "batch_size": batch_size,
            "progress": progress,
        }

    def bind(self, context: Any) -> None:
        super().bind(context)
        if self.extractor == "inception":  # fail before any Inception pass: its features are 2048-d at every level
            for split in ("generated", "reference"):
                if split in context.counts:
                    check_samples(context.counts[split], 2048, self.min_samples, "fid-per-resolution", split)

    def compute(self) -> dict[str, Any]:
        from ganzoo.evaluation import make_extractor
        from ganzoo.evaluation.cache import cached_features, tensor_sha256

        generator = _generator_of(self)
        real = self.samples("reference")
        n = self.context.counts.get("generated", len(real))
        levels = pyramid_of(generator, n, self.context.seed)
        extract = make_extractor(self.extractor, is_image=True, **(self.options if self.extractor != "pixels" else {}))
        rows = []
        for fake in levels:
            size = fake.shape[-1]
            reference = downscale_uint8(real, size)
            f = extract.features(fake, label=f"generated {size}px")
            # the pooled reference is the same every time the same data is measured: cache it like fid's
            r, _ = cached_features(extract, reference, tensor_sha256(reference), self.context.cache_folder, f"{size}px")
            for split, x in (("generated", f), ("reference", r)):
                check_samples(len(x), x.shape[1], self.min_samples, "fid-per-resolution", split)
            rows.append({"resolution": size, "fid": fid_from_features(f, r)})
        return {
            "levels": rows,
            "fid": {str(row["resolution"]): row["fid"] for row in rows},
            "fid_final": rows[-1]["fid"],
            "extractor": extract.describe(),
            "reference_pooling": "average pooling of the uint8 reference images, rounded to uint8",
        }


class MultiscaleMoments(Metric):
    """Mean and covariance distances of the ``patch`` x ``patch`` pixel patches at every pyramid level against
    those of the reference pooled to that level (option ``patch``, default 4)."""

    needs: ClassVar[frozenset[str]] = frozenset()
    splits: ClassVar[tuple[str, ...]] = ("reference",)
    headline: ClassVar[str] = "cov_distance_relative_final"

    def __init__(self, patch: int = PATCH) -> None:
        super().__init__()
        if not isinstance(patch, int) or isinstance(patch, bool) or patch < 1:
            raise EvaluationError(f"moments-per-resolution: patch must be a positive integer, got {patch!r}")
        self.patch = patch

    def compute(self) -> dict[str, Any]:
        generator = _generator_of(self)
        real = self.samples("reference")
        n = self.context.counts.get("generated", len(real))
        rows = []
        for fake in pyramid_of(generator, n, self.context.seed):
            size = fake.shape[-1]
            rows.append({"resolution": size, **patch_moments(fake, downscale_uint8(real, size), self.patch)})
        return {
            "levels": rows,
            "patch": self.patch,
            "mean_distance_scaled_final": rows[-1]["mean_distance_scaled"],
            "cov_distance_relative_final": rows[-1]["cov_distance_relative"],
        }


class PatchSparsity(Metric):
    """Per-position sparsity of every hidden ReLU layer of the generator, beside a random initialisation's.

    Options: ``n`` latents (default 256), ``tau`` (near-zero threshold relative to the layer's RMS, default 0.01).
    The random-init network is a fresh draw of the same architecture and config (seeded with the evaluation's
    seed; the run's own initial weights are not kept), run with batch statistics.
    """

    needs: ClassVar[frozenset[str]] = frozenset()
    splits: ClassVar[tuple[str, ...]] = ()
    headline: ClassVar[str] = "mean_zero_fraction"

    def __init__(self, n: int = 256, tau: float = 0.01) -> None:
        super().__init__()
        if not isinstance(n, int) or isinstance(n, bool) or n < 2:
            raise EvaluationError(f"patch-sparsity: n must be an integer >= 2, got {n!r}")
        if not isinstance(tau, (int, float)) or isinstance(tau, bool) or not 0 <= tau < 1:
            raise EvaluationError(f"patch-sparsity: tau must be a number in [0, 1), got {tau!r}")
        self.n, self.tau = n, float(tau)

    def compute(self) -> dict[str, Any]:
        import torch

        from ganzoo.host.manager import get_registry

        generator = _generator_of(self)
        z = generator.latents(self.n, self.context.seed)
        trained = hidden_sparsity(generator.module, z, self.tau)
        if not trained:
            return {"layers": [], "mean_zero_fraction": None, "note": "the generator has no nn.ReLU modules"}
        arch = get_registry().get("architecture", generator.architecture)
        with torch.random.fork_rng(devices=[]):  # the caller's RNG stream is left as it was
            torch.manual_seed(self.context.seed)
            fresh = arch.network("generator")(generator.config).to(generator.device)
        at_init = hidden_sparsity(fresh, z, self.tau, batch_statistics=True)
        for row, init in zip(trained, at_init, strict=False):
            row["zero_fraction_init"] = init["zero_fraction"]
            row["active_channels_init"] = init["active_channels"]
        return {
            "layers": trained,
            "mean_zero_fraction": float(np.mean([r["zero_fraction"] for r in trained])),
            "mean_zero_fraction_init": float(np.mean([r["zero_fraction"] for r in at_init])) if at_init else None,
            "tau": self.tau,
        }
