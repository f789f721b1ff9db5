"""Metrics on Inception features (or any extractor's): FID, KID, Inception score and precision/recall/density/coverage.

The numerical functions (``frechet_distance``, ``fid_from_features``, ``kid``, ``inception_score``, ``prdc``) work
on plain numpy arrays and are usable on their own; the ``Metric`` classes feed them the features (or, for the
Inception score, the classifier logits) that ``ganzoo.evaluate`` extracted.

References: Heusel et al. 2017 (FID); Bińkowski et al. 2018 (KID); Salimans et al. 2016 (Inception score);
Kynkäänniemi et al. 2019 (improved precision and recall); Naeem et al. 2020 (density and coverage).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from ganzoo.evaluation import EvalContext, EvaluationError, Metric
from ganzoo.training.moments import mean_cov

from .neighbours import chunks, knn_radii, sq_dists

# -- numerical building blocks -----------------------------------------------------------------------------------


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix (tiny negative eigenvalues clipped)."""
    w, v = np.linalg.eigh((matrix + matrix.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    ``|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2))``. The trace term is computed as the sum of square roots
    of the eigenvalues of ``S1^(1/2) S2 S1^(1/2)``, which is symmetric PSD and has the eigenvalues of ``S1 S2``:
    no general (complex) matrix square root, and no scipy.
    """
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (len(mu1), len(mu1)):
        raise EvaluationError(
            f"Fréchet distance needs matching shapes, got mu {mu1.shape} / {mu2.shape}, sigma {sigma1.shape} / "
            f"{sigma2.shape}"
        )
    root1 = _sqrt_psd(sigma1)
    middle = root1 @ sigma2 @ root1
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2)
    trace_sqrt = np.sqrt(np.clip(eigenvalues, 0, None)).sum()
    diff = mu1 - mu2
    return float(max(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt, 0.0))


def fid_from_features(x: np.ndarray, y: np.ndarray) -> float:
    """Fréchet distance between the Gaussians fitted to two feature sets ``(N, D)``.

    With fewer samples than dimensions the covariances ``A^T A`` and ``B^T B`` (``A``: centred features over
    sqrt(N - 1)) have low rank, and ``tr((S1 S2)^(1/2))`` is exactly the sum of the singular values of ``A B^T``
    (``N1 x N2``): far cheaper than two ``D x D`` eigendecompositions. Otherwise ``frechet_distance`` of the moments.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.shape[1] != y.shape[1]:
        raise EvaluationError(f"feature dimensions differ: {x.shape[1]} and {y.shape[1]}")
    if min(len(x), len(y)) >= x.shape[1]:
        return frechet_distance(*mean_cov(x), *mean_cov(y))
    a = (x - x.mean(axis=0)) / math.sqrt(len(x) - 1)
    b = (y - y.mean(axis=0)) / math.sqrt(len(y) - 1)
    trace_sqrt = np.linalg.svd(a @ b.T, compute_uv=False).sum()
    diff = x.mean(axis=0) - y.mean(axis=0)
    return float(max(diff @ diff + (a * a).sum() + (b * b).sum() - 2 * trace_sqrt, 0.0))


def check_samples(n: int, dim: int, minimum: int | None, metric: str, split: str) -> None:
    """Raise if there are fewer than ``minimum`` (default: the feature dimension) samples for a covariance."""
    minimum = dim if minimum is None else minimum
    if n < max(minimum, 2):
        raise EvaluationError(
            f"{metric} needs at least {max(minimum, 2)} {split} samples for {dim}-d features (got {n}): with fewer, "
            f"the {dim}x{dim} covariance is singular and the value means little. Evaluate with n >= {dim} "
            f"(FID is usually reported on 10,000 or 50,000 samples), or set the metric option min_samples for a "
            "smoke test."
        )


def kid(
    generated: np.ndarray, reference: np.ndarray, *, subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Kernel Inception Distance: unbiased MMD^2 with the cubic kernel ``(x.y / d + 1)^3``, mean and std over subsets.

    As in Bińkowski et al. 2018 and clean-fid / the StyleGAN metrics: ``subsets`` random subsets of
    ``subset_size`` from each set (the size is capped by the smaller set).
    """
    x, y = np.asarray(generated, np.float64), np.asarray(reference, np.float64)
    m = min(subset_size, len(x), len(y))
    if m < 2:
        raise EvaluationError(f"KID needs at least 2 samples in each set, got {len(x)} and {len(y)}")
    d = x.shape[1]
    rng = np.random.default_rng(seed)
    # Small sets: three kernel matrices once, subsets index them (many tiny matmuls are slow on a busy CPU).
    full = (len(x) + len(y)) ** 2 <= 36_000_000
    if full:
        gram_xx, gram_yy, gram_xy = (x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3
    values = []
    for _ in range(subsets):
        i, j = rng.choice(len(x), m, replace=False), rng.choice(len(y), m, replace=False)
        if full:
            kxx, kyy, kxy = gram_xx[np.ix_(i, i)], gram_yy[np.ix_(j, j)], gram_xy[np.ix_(i, j)]
        else:
            a, b = x[i], y[j]
            kxx, kyy, kxy = (a @ a.T / d + 1) ** 3, (b @ b.T / d + 1) ** 3, (a @ b.T / d + 1) ** 3
        off = m * (m - 1)
        values.append((kxx.sum() - np.trace(kxx)) / off + (kyy.sum() - np.trace(kyy)) / off - 2 * kxy.mean())
    return float(np.mean(values)), float(np.std(values))


def inception_score(logits: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """Inception score ``exp(E_x KL(p(y|x) || p(y)))``, mean and std over ``splits`` parts (Salimans et al.)."""
    logits = np.asarray(logits, np.float64)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    scores = []
    for part in np.array_split(p, min(splits, len(p))):
        marginal = part.mean(axis=0, keepdims=True)
        kl = (part * (np.log(part + 1e-12) - np.log(marginal + 1e-12))).sum(axis=1).mean()
        scores.append(math.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))


def prdc(reference: np.ndarray, generated: np.ndarray, *, k: int = 3, k_density: int = 5) -> dict[str, float]:
    """Precision and recall (k-NN manifolds, Kynkäänniemi et al. 2019) and density and coverage (Naeem et al. 2020).

    precision: share of generated samples inside some reference sample's k-NN ball; recall: share of reference
    samples inside some generated sample's k-NN ball; density: mean number of reference balls (``k_density``)
    holding a generated sample, over ``k_density``; coverage: share of reference balls holding a generated sample.
    """
    real, fake = np.asarray(reference, np.float32), np.asarray(generated, np.float32)
    r_real, r_fake, r_dense = knn_radii(real, k), knn_radii(fake, k), knn_radii(real, k_density)
    in_real = np.zeros(len(fake), bool)
    density_count = 0.0
    recalled = np.zeros(len(real), bool)
    nearest_fake = np.full(len(real), np.inf, np.float32)
    for rows in chunks(len(fake)):
        d = np.sqrt(sq_dists(fake[rows], real))  # (chunk of fake, real)
        in_real[rows] = (d <= r_real[None, :]).any(axis=1)
        density_count += (d <= r_dense[None, :]).sum()
        recalled |= (d <= r_fake[rows, None]).any(axis=0)
        nearest_fake = np.minimum(nearest_fake, d.min(axis=0))
    return {
        "precision": float(in_real.mean()),
        "recall": float(recalled.mean()),
        "density": float(density_count / (k_density * len(fake))),
        "coverage": float((nearest_fake <= r_dense).mean()),
    }


# -- metrics ------------------------------------------------------------------------------------------------------


class FID(Metric):
    """Fréchet Inception Distance between generated and reference features (Heusel et al. 2017)."""

    headline: ClassVar[str] = "fid"

    def __init__(self, min_samples: int | None = None) -> None:
        super().__init__()
        self.min_samples = min_samples

    def bind(self, context: EvalContext) -> None:
        super().bind(context)
        if context.feature_dim:  # fail before any Inception pass
            for split in self.splits:
                check_samples(context.counts.get(split, 0), context.feature_dim, self.min_samples, "FID", split)

    def compute(self) -> dict[str, Any]:
        fake, real = self.features("generated"), self.features("reference")
        for split, x in (("generated", fake), ("reference", real)):
            check_samples(len(x), x.shape[1], self.min_samples, "FID", split)
        diff = fake.mean(axis=0) - real.mean(axis=0)
        return {"fid": fid_from_features(fake, real), "mean_term": float(diff @ diff)}


class KID(Metric):
    """Kernel Inception Distance (Bińkowski et al. 2018): unbiased, so near 0 for matching distributions."""

    headline: ClassVar[str] = "kid"

    def __init__(self, subsets: int = 100, subset_size: int = 1000) -> None:
        super().__init__()
        self.subsets, self.subset_size = subsets, subset_size

    def compute(self) -> dict[str, Any]:
        fake, real = self.features("generated"), self.features("reference")
        mean, std = kid(fake, real, subsets=self.subsets, subset_size=self.subset_size, seed=self.context.seed)
        return {"kid": mean, "kid_std": std, "subset_size": min(self.subset_size, len(fake), len(real))}


class InceptionScore(Metric):
    """Inception score of the generated images (needs the Inception classifier layer: pytorch-fid's weights)."""

    needs: ClassVar[frozenset[str]] = frozenset({"logits"})
    splits: ClassVar[tuple[str, ...]] = ("generated",)
    headline: ClassVar[str] = "inception_score"

    def __init__(self, splits: int = 10) -> None:
        super().__init__()
        self.n_splits = splits

    def compute(self) -> dict[str, Any]:
        mean, std = inception_score(self.logits("generated"), self.n_splits)
        return {"inception_score": mean, "inception_score_std": std}


class PrecisionRecall(Metric):
    """Precision, recall (k-NN manifolds) and density, coverage of generated vs reference features."""

    headline: ClassVar[str] = "precision"

    def __init__(self, k: int = 3, k_density: int = 5) -> None:
        super().__init__()
        self.k, self.k_density = k, k_density

    def compute(self) -> dict[str, Any]:
        return {
            **prdc(self.features("reference"), self.features("generated"), k=self.k, k_density=self.k_density),
            "k": self.k,
            "k_density": self.k_density,
        }
