"""Built-in evaluation metrics: FID, KID, Inception score, precision/recall/density/coverage, mode coverage of 2-D
mixtures, the birthday-paradox support-size test, memorisation, moment matching and activation sparsity.

Every metric is a ``ganzoo.evaluation.Metric`` registered through ``register_metrics``; ``ganzoo.evaluate``
feeds it samples and/or features. The numerical functions (``frechet_distance``, ``kid``, ``prdc``, ...) work on
plain numpy arrays and are usable on their own. torch is imported inside the functions that need it.

References: Heusel et al. 2017 (FID); Bińkowski et al. 2018 (KID); Salimans et al. 2016 (Inception score);
Kynkäänniemi et al. 2019 (improved precision and recall); Naeem et al. 2020 (density and coverage);
Srivastava et al. 2017 (VEEGAN) and Lin et al. 2018 (PacGAN) for mode coverage; Arora & Zhang 2017 (birthday
paradox test); Allen-Zhu & Li 2021 (forward super-resolution: sparse generator activations).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

import ganzoo
from ganzoo.evaluation import EvalContext, EvaluationError, Metric
from ganzoo.training.moments import activation_sparsity, mean_cov, moment_distances, pixel_rows

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


def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances ``(len(a), len(b))`` in float32 (features are compared, never summed)."""
    a2 = (a * a).sum(1)[:, None]
    b2 = (b * b).sum(1)[None, :]
    return np.maximum(a2 + b2 - 2.0 * (a @ b.T), 0.0)


def _chunks(n: int, size: int = 1024):
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def knn_radii(x: np.ndarray, k: int) -> np.ndarray:
    """Distance from each row of ``x`` to its ``k``-th nearest other row."""
    x = np.asarray(x, np.float32)
    if len(x) <= k:
        raise EvaluationError(f"k-NN radii with k={k} need more than {k} samples, got {len(x)}")
    radii = np.empty(len(x), np.float32)
    for rows in _chunks(len(x)):
        d = _sq_dists(x[rows], x)
        radii[rows] = np.partition(d, k, axis=1)[:, k]  # index 0 is the point itself (distance 0)
    return np.sqrt(radii)


def nearest(query: np.ndarray, base: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest rows of ``base`` for each row of ``query``: distances and indices, ``(len(query), k)``."""
    query, base = np.asarray(query, np.float32), np.asarray(base, np.float32)
    k = min(k, len(base))
    dist = np.empty((len(query), k), np.float32)
    index = np.empty((len(query), k), np.int64)
    for rows in _chunks(len(query)):
        d = _sq_dists(query[rows], base)
        if k < len(base):
            part = np.argpartition(d, k - 1, axis=1)[:, :k]
        else:
            part = np.broadcast_to(np.arange(len(base)), d.shape).copy()
        order = np.take_along_axis(d, part, 1).argsort(axis=1)
        index[rows] = np.take_along_axis(part, order, 1)
        dist[rows] = np.sqrt(np.take_along_axis(d, index[rows], 1))
    return dist, index


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
    for rows in _chunks(len(fake)):
        d = np.sqrt(_sq_dists(fake[rows], real))  # (chunk of fake, real)
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


def mode_statistics(
    points: np.ndarray, centres: np.ndarray, std: float, *, threshold_std: float = 3.0, min_count: int | None = None
) -> dict[str, Any]:
    """Modes covered and share of high-quality samples for a 2-D mixture (VEEGAN / PacGAN protocol).

    A sample is high quality when it lies within ``threshold_std`` standard deviations of its nearest mode; a mode is
    covered when at least ``min_count`` high-quality samples fall on it (default: a fifth of the count expected
    per mode, as PacGAN's 20 of 2,500 samples on 25 modes; at least 1).

    The misses are split into ``near_miss`` (within twice the threshold: modes drawn too wide) and ``off_mode``
    (further out: mass between modes); ``spread_ratio`` is the generated modes' width over ``std``
    (``mode_spread_ratio``).
    """
    points = np.asarray(points, np.float64).reshape(len(points), -1)
    if points.shape[1] != centres.shape[1]:
        raise EvaluationError(f"mode coverage needs {centres.shape[1]}-d samples, got {points.shape[1]}-d")
    d = np.sqrt(((points[:, None, :] - centres[None, :, :]) ** 2).sum(-1))
    which, closest = d.argmin(axis=1), d.min(axis=1)
    good = closest <= threshold_std * std
    counts = np.bincount(which[good], minlength=len(centres))
    min_count = max(1, round(len(points) / len(centres) / 5)) if min_count is None else min_count
    share = counts / max(counts.sum(), 1)
    kl = float(sum(p * math.log(p * len(centres)) for p in share if p > 0))
    # Why samples miss the 3-sigma disc: modes drawn too wide (a sample 3-6 sigma out) or mass between modes
    # (further). A true 2-D Gaussian puts 98.9 % inside 3 sigma and 1.1 % at 3-6 sigma, none beyond.
    near = closest <= 2 * threshold_std * std
    return {
        "modes": int((counts >= min_count).sum()),
        "n_modes": len(centres),
        "high_quality": float(good.mean()),
        "near_miss": float((near & ~good).mean()),
        "off_mode": float((~near).mean()),
        "spread_ratio": mode_spread_ratio(closest[near], std, centres.shape[1]),
        "min_count": int(min_count),
        "counts": counts.tolist(),
        "kl_to_uniform": kl,  # KL(generated mode shares || uniform), PacGAN's "reverse KL"
    }


def mode_spread_ratio(distances: np.ndarray, std: float, dim: int) -> float | None:
    """How wide the generated modes are against the data's: the standard deviation that would give the median
    of ``distances`` (each sample's distance to its mode) for an isotropic Gaussian, over ``std``. 1.0 is exact;
    None without samples. The median ignores the few samples between modes.
    """
    if len(distances) == 0:
        return None
    # median of the chi distribution with `dim` degrees of freedom: exact in 2-D, Wilson-Hilferty otherwise
    chi_median = math.sqrt(2 * math.log(2)) if dim == 2 else math.sqrt(dim * (1 - 2 / (9 * dim)) ** 3)
    return float(np.median(distances) / (chi_median * std))


def _pairs_image(images: Any, pairs: list[tuple[int, int]]) -> np.ndarray:
    """uint8 NCHW images -> a grid: first row the left images of ``pairs``, second row their partners."""
    from ganzoo.sampling import make_grid

    order = [a for a, _ in pairs] + [b for _, b in pairs]
    return make_grid(images[order].permute(0, 2, 3, 1).numpy(), nrow=len(pairs))


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


class ModeCoverage(Metric):
    """Modes covered and high-quality share on ring-8 / grid-25 (or any ``centres`` and ``std``)."""

    needs: ClassVar[frozenset[str]] = frozenset({"samples"})
    splits: ClassVar[tuple[str, ...]] = ("generated",)
    headline: ClassVar[str] = "modes"

    def __init__(
        self,
        mixture: str | None = None,
        centres: Any = None,
        std: float | None = None,
        threshold_std: float = 3.0,
        min_count: int | None = None,
    ) -> None:
        super().__init__()
        self.mixture, self.centres, self.std = mixture, centres, std
        self.threshold_std, self.min_count = threshold_std, min_count

    def bind(self, context: EvalContext) -> None:
        super().bind(context)
        self._mixture()  # an unknown mixture fails now, not after sampling

    def _mixture(self) -> tuple[np.ndarray, float, str]:
        from ganzoo.plugins.datasets import MIXTURE_STD, mixture_centres

        if self.centres is not None:
            if self.std is None:
                raise EvaluationError("mode-coverage with explicit centres needs std=")
            return np.asarray(self.centres, np.float64), float(self.std), "custom"
        name = self.mixture or self.context.dataset
        if name not in MIXTURE_STD:
            raise EvaluationError(
                f"mode-coverage needs a known mixture ({', '.join(MIXTURE_STD)}); the data is {name!r}. Pass the "
                "option mixture='ring-8' or centres=[[x, y], ...] and std=."
            )
        return mixture_centres(name), float(self.std or MIXTURE_STD[name]), name

    def compute(self) -> dict[str, Any]:
        centres, std, name = self._mixture()
        points = self.samples("generated").double().numpy()
        stats = mode_statistics(points, centres, std, threshold_std=self.threshold_std, min_count=self.min_count)
        return {"mixture": name, "std": std, "threshold_std": self.threshold_std, **stats}


class Birthday(Metric):
    """Birthday-paradox support-size test (Arora & Zhang 2017).

    Batches of ``s`` generated samples are drawn from the pool; a batch "collides" when two of its samples are
    closer than ``threshold``. If batches of size ``s`` collide at least half of the time, the support holds about
    ``s^2`` distinct samples. The default threshold is ``threshold_ratio`` times the smallest distance between two
    reference samples in a pool of the same size: real data has no near-duplicates at that scale.
    Distances are Euclidean in pixel space (images area-downscaled to ``pixel_size``) or in feature space.
    """

    splits: ClassVar[tuple[str, ...]] = ("generated", "reference")
    headline: ClassVar[str] = "support_size"

    def __init__(
        self,
        sizes: list[int] | None = None,
        trials: int = 20,
        threshold: float | None = None,
        threshold_ratio: float = 0.5,
        space: str = "pixels",
        pixel_size: int = 32,
        pool: int = 2048,
        pairs: int = 8,
    ) -> None:
        super().__init__()
        if space not in ("pixels", "features"):
            raise EvaluationError(f"birthday: space must be 'pixels' or 'features', got {space!r}")
        self.sizes, self.trials, self.threshold, self.threshold_ratio = sizes, trials, threshold, threshold_ratio
        self.space, self.pixel_size, self.pool, self.n_pairs = space, pixel_size, pool, pairs
        self.needs = frozenset({"samples", "features"} if space == "features" else {"samples"})
        self._pairs: list[tuple[int, int]] = []

    def _vectors(self, split: str) -> np.ndarray:
        if self.space == "features":
            return self.features(split)
        return pixel_rows(self.samples(split), self.pixel_size)

    def compute(self) -> dict[str, Any]:
        fake = self._vectors("generated")[: self.pool]
        if len(fake) < 4:
            raise EvaluationError(f"the birthday test needs at least 4 generated samples, got {len(fake)}")
        rng = np.random.default_rng(self.context.seed)
        dist = np.sqrt(_sq_dists(fake, fake))
        np.fill_diagonal(dist, np.inf)
        reference_min = None
        threshold = self.threshold
        if threshold is None:
            real = self._vectors("reference")
            real = real[rng.permutation(len(real))[: len(fake)]]
            real_dist = np.sqrt(_sq_dists(real, real))
            np.fill_diagonal(real_dist, np.inf)
            reference_min = float(real_dist.min())
            threshold = self.threshold_ratio * reference_min
        sizes = self.sizes or [s for s in (2**i for i in range(4, 16)) if s <= len(fake)]
        rates = {}
        for s in sizes:
            if s > len(fake):
                raise EvaluationError(f"birthday batch size {s} is larger than the pool of {len(fake)} samples")
            hits = 0
            for _ in range(self.trials):
                idx = rng.choice(len(fake), s, replace=False)
                hits += bool(dist[np.ix_(idx, idx)].min() < threshold)
            rates[s] = hits / self.trials
        first = next((s for s in sizes if rates[s] >= 0.5), None)
        upper = np.triu_indices(len(fake), 1)  # each pair once
        pair_dist = dist[upper]
        top = np.argsort(pair_dist, kind="stable")[: self.n_pairs]
        self._pairs = [(int(upper[0][t]), int(upper[1][t])) for t in top]
        closest = float(pair_dist.min())
        duplicates = int((pair_dist < threshold).sum())
        return {
            "support_size": None if first is None else first**2,
            "support_size_lower_bound": None if first is not None else max(sizes) ** 2,
            "batch_size_at_half": first,
            "collision_rate": {str(s): r for s, r in rates.items()},
            "threshold": float(threshold),
            "reference_min_distance": reference_min,
            "closest_distance": closest,
            "duplicate_pairs_in_pool": duplicates,
            "pool": len(fake),
            "trials": self.trials,
            "space": self.space if self.space == "features" else f"pixels ({self.pixel_size}px)",
            "closest_pairs": [list(p) for p in self._pairs],
        }

    def figures(self) -> dict[str, np.ndarray]:
        batch = self._require("generated")
        images = self.samples("generated")
        if not (batch[0].is_image and self._pairs):
            return {}
        return {"closest-pairs": _pairs_image(images, self._pairs)}


class Memorisation(Metric):
    """Does the generator copy its training set? Nearest-neighbour distances of generated and held-out samples.

    Plain distances (generated -> train vs held out -> train) favour bland samples, which are near everything. The
    test statistic therefore compares, for each sample x, ``d(x, train) / d(x, held out)``: a copy of a training
    image has a ratio near 0, while a new sample - however bland - has about the ratio that held-out real images
    have (those are measured against the rest of the held-out set). ``copy_fraction`` is the share of generated
    samples below the held-out ratios' 1st percentile (about 0.01 when nothing is copied); ``auc`` is the
    probability that a generated sample's ratio is below a held-out one's (0.5: no copying; 1: copies).
    """

    splits: ClassVar[tuple[str, ...]] = ("generated", "reference", "heldout")
    headline: ClassVar[str] = "copy_fraction"

    def __init__(self, space: str = "pixels", pixel_size: int = 32, show: int = 8, neighbours: int = 3) -> None:
        super().__init__()
        if space not in ("pixels", "features"):
            raise EvaluationError(f"memorisation: space must be 'pixels' or 'features', got {space!r}")
        self.space, self.pixel_size, self.show, self.neighbours = space, pixel_size, show, neighbours
        self.needs = frozenset({"samples", "features"} if space == "features" else {"samples"})
        self._grid: list[tuple[int, list[int]]] = []

    def _vectors(self, split: str) -> np.ndarray:
        if self.space == "features":
            return self.features(split)
        return pixel_rows(self.samples(split), self.pixel_size)

    def compute(self) -> dict[str, Any]:
        fake, train, held = self._vectors("generated"), self._vectors("reference"), self._vectors("heldout")
        if len(held) < 3:
            raise EvaluationError(f"memorisation needs at least 3 held-out samples, got {len(held)}")
        fake_train, fake_idx = nearest(fake, train, self.neighbours)
        held_train = nearest(held, train)[0][:, 0]
        fake_ratio = fake_train[:, 0] / np.maximum(nearest(fake, held)[0][:, 0], 1e-12)
        held_ratio = held_train / np.maximum(nearest(held, held, 2)[0][:, 1], 1e-12)  # column 0 is itself
        cut = np.quantile(held_ratio, 0.01)
        # AUC = P(generated ratio < held-out ratio), from ranks (Mann-Whitney U)
        ranks = np.argsort(np.argsort(np.concatenate([fake_ratio, held_ratio]), kind="stable"), kind="stable") + 1
        u = ranks[: len(fake_ratio)].sum() - len(fake_ratio) * (len(fake_ratio) + 1) / 2
        suspects = np.argsort(fake_ratio, kind="stable")[: self.show]
        self._grid = [(int(s), [int(i) for i in fake_idx[s]]) for s in suspects]
        return {
            "copy_fraction": float((fake_ratio < cut).mean()),
            "auc": float(1.0 - u / (len(fake_ratio) * len(held_ratio))),
            "ratio_median": float(np.median(fake_ratio)),
            "heldout_ratio_median": float(np.median(held_ratio)),
            "generated_to_train_median": float(np.median(fake_train[:, 0])),
            "heldout_to_train_median": float(np.median(held_train)),
            "space": self.space if self.space == "features" else f"pixels ({self.pixel_size}px)",
            "nearest": [{"generated": s, "train": row} for s, row in self._grid],
        }

    def figures(self) -> dict[str, np.ndarray]:
        if not (self._grid and self._require("generated")[0].is_image):
            return {}
        import torch

        from ganzoo.sampling import make_grid

        fake, train = self.samples("generated"), self.samples("reference")
        rows = [torch.cat([fake[s : s + 1], train[idx]]) for s, idx in self._grid]
        images = torch.cat(rows).permute(0, 2, 3, 1).numpy()
        return {"nearest-neighbours": make_grid(images, nrow=1 + self.neighbours)}


class Moments(Metric):
    """Distance between the generated and reference means and covariances (of the features)."""

    headline: ClassVar[str] = "cov_distance_relative"

    def compute(self) -> dict[str, Any]:
        return moment_distances(self.features("generated"), self.features("reference"))


class Sparsity(Metric):
    """Hidden-layer activation sparsity of the generator: share of zero ReLU outputs, layer by layer."""

    needs: ClassVar[frozenset[str]] = frozenset()
    splits: ClassVar[tuple[str, ...]] = ()
    headline: ClassVar[str] = "mean_zero_fraction"

    def __init__(self, n: int = 256) -> None:
        super().__init__()
        self.n = n

    def compute(self) -> dict[str, Any]:
        generator = self.context.generator
        if generator is None:
            raise EvaluationError("sparsity looks inside the generator: evaluate() got none")
        layers = activation_sparsity(generator.module, generator.latents(self.n, self.context.seed))
        if not layers:
            return {"layers": [], "mean_zero_fraction": None, "note": "the generator has no nn.ReLU modules"}
        return {"layers": layers, "mean_zero_fraction": float(np.mean([x["zero_fraction"] for x in layers]))}


@ganzoo.hookimpl
def register_metrics(register):
    register("fid", FID, description="Fréchet Inception Distance (Inception-v3 2015-12-05 pool3)")
    register("kid", KID, description="Kernel Inception Distance, unbiased (mean and std over subsets)")
    register("inception-score", InceptionScore, description="Inception score (needs pytorch-fid's weights)")
    register(
        "precision-recall",
        PrecisionRecall,
        description="precision/recall (k-NN manifolds) and density/coverage",
    )
    register("mode-coverage", ModeCoverage, description="modes covered and high-quality share on ring-8 / grid-25")
    register("birthday", Birthday, description="birthday-paradox support size, with the closest pairs as an image")
    register("memorisation", Memorisation, description="nearest training images: generated vs held-out distances")
    register("moments", Moments, description="distance of generated mean and covariance from the reference")
    register("sparsity", Sparsity, description="share of zero ReLU activations in each generator layer")


__all__ = [
    "FID",
    "KID",
    "Birthday",
    "InceptionScore",
    "Memorisation",
    "ModeCoverage",
    "Moments",
    "PrecisionRecall",
    "Sparsity",
    "activation_sparsity",
    "fid_from_features",
    "frechet_distance",
    "inception_score",
    "kid",
    "knn_radii",
    "mean_cov",
    "mode_spread_ratio",
    "mode_statistics",
    "moment_distances",
    "nearest",
    "prdc",
]
