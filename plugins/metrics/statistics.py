"""Plain statistics: moment matching of generated and reference features, and the sparsity of the generator's
hidden ReLU activations (Allen-Zhu & Li 2021, forward super-resolution: sparse generator activations).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ganzoo.evaluation import EvaluationError, Metric
from ganzoo.training.moments import activation_sparsity, moment_distances


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
