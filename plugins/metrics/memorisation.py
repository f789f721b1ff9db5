"""Does the generator collapse or copy? The birthday-paradox support-size test (Arora & Zhang 2017) and the
memorisation test (nearest training images, against held-out ones), in pixel or feature space; both draw the
pairs they flag as an image.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ganzoo.evaluation import EvaluationError, Metric
from ganzoo.training.moments import pixel_rows

from .neighbours import nearest, sq_dists


def _pairs_image(images: Any, pairs: list[tuple[int, int]]) -> np.ndarray:
    """uint8 NCHW images -> a grid: first row the left images of ``pairs``, second row their partners."""
    from ganzoo.sampling import make_grid

    order = [a for a, _ in pairs] + [b for _, b in pairs]
    return make_grid(images[order].permute(0, 2, 3, 1).numpy(), nrow=len(pairs))


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
        dist = np.sqrt(sq_dists(fake, fake))
        np.fill_diagonal(dist, np.inf)
        reference_min = None
        threshold = self.threshold
        if threshold is None:
            real = self._vectors("reference")
            real = real[rng.permutation(len(real))[: len(fake)]]
            real_dist = np.sqrt(sq_dists(real, real))
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
