"""``infogan-codes``: how well an InfoGAN's categorical code matches Fashion-MNIST's classes (Chen et al. 2016,
"InfoGAN", section 7.1, report the same for MNIST digits: about 5 % error with the code matched to the digits).

For each value k of the categorical code it draws ``per_code`` samples with the code fixed to k (everything else
from the seed), classifies them with the shipped Fashion-MNIST classifier, and builds the code x class contingency
table. From it:

- ``matched_accuracy``: the share of samples whose class is the one matched to their code by the best one-to-one
  assignment (the Hungarian method, Kuhn 1955, ``scipy.optimize.linear_sum_assignment``): chance is about 1/K;
- ``nmi``: normalised mutual information between code and class, I(code; class) / sqrt(H(code) H(class))
  (Strehl & Ghosh 2002): 0 when the code says nothing about the class, 1 when it determines it.

Train with ``--method-option info_weight=0`` for the control: the same networks without the information term.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch

from ganzoo.evaluation import EvaluationError, Metric

from .fashion_classifier import load_fashion_classifier


def matched_accuracy(table: np.ndarray) -> tuple[float, list[int]]:
    """Best one-to-one assignment of rows (codes) to columns (classes) of a contingency ``table``: the share of
    counts on matched cells, and each row's matched column."""
    try:
        from scipy.optimize import linear_sum_assignment
    except ImportError as exc:  # scipy comes with the [metrics] and [test] extras
        raise EvaluationError("infogan-codes needs scipy: pip install 'ganzoo[metrics]' (or scipy)") from exc
    rows, cols = linear_sum_assignment(-np.asarray(table, np.float64))
    matched = [-1] * table.shape[0]
    for r, c in zip(rows, cols, strict=True):
        matched[r] = int(c)
    return float(table[rows, cols].sum() / table.sum()), matched


def normalised_mutual_information(table: np.ndarray) -> float:
    """NMI of a contingency table: I(X; Y) / sqrt(H(X) H(Y)) (0 if either is constant)."""
    p = np.asarray(table, np.float64) / table.sum()
    px, py = p.sum(1), p.sum(0)
    nz = p > 0
    mutual = float((p[nz] * np.log(p[nz] / np.outer(px, py)[nz])).sum())
    hx = -float((px[px > 0] * np.log(px[px > 0])).sum())
    hy = -float((py[py > 0] * np.log(py[py > 0])).sum())
    return mutual / math.sqrt(hx * hy) if hx > 0 and hy > 0 else 0.0


class InfoGANCodes(Metric):
    """Categorical-code / class agreement of an InfoGAN (``matched_accuracy``, ``nmi``). Options: ``per_code``
    (samples per code value, 1,000), ``code`` (the categorical input's name, ``code``), ``classifier`` (a module
    with ``predict``; default the shipped Fashion-MNIST classifier)."""

    needs: ClassVar[frozenset[str]] = frozenset()
    splits: ClassVar[tuple[str, ...]] = ()  # draws its own samples, code by code
    headline: ClassVar[str] = "matched_accuracy"

    def __init__(self, per_code: int = 1000, code: str = "code", classifier: Any = None) -> None:
        super().__init__()
        if not isinstance(per_code, int) or per_code < 1:
            raise EvaluationError(f"per_code must be a positive integer, got {per_code!r}")
        self.per_code, self.code, self.classifier = per_code, code, classifier

    def bind(self, context: Any) -> None:
        super().bind(context)
        generator = context.generator
        spec = next((s for s in getattr(generator, "inputs", ()) if s.name == self.code), None)
        if spec is None or spec.prior != "categorical":
            names = [s.name for s in getattr(generator, "inputs", ())]
            raise EvaluationError(
                f"infogan-codes needs a generator with a categorical code input {self.code!r} (an infogan); "
                f"{getattr(generator, 'architecture', 'this one')!r} has {names}"
            )
        if tuple(generator.output_shape) != (1, 32, 32):
            raise EvaluationError("infogan-codes classifies 1x32x32 Fashion-MNIST images")
        self.values = int(spec.value_range[1]) - int(spec.value_range[0]) + 1
        self.low = int(spec.value_range[0])

    def compute(self) -> dict[str, Any]:
        """The contingency table (rows: code values, columns: classes), matched accuracy, the matching, NMI."""
        generator, seed = self.context.generator, self.context.seed
        classifier = self.classifier or load_fashion_classifier()
        k = int(getattr(classifier, "num_classes", 10))
        table = np.zeros((self.values, k), np.int64)
        for value in range(self.values):
            images = generator.sample(
                self.per_code, seed=seed + value, codes={self.code: self.low + value}, output="numpy"
            )
            logits, _ = classifier.predict(torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))))
            np.add.at(table[value], logits.argmax(axis=1), 1)
        accuracy, matching = matched_accuracy(table)
        return {
            "matched_accuracy": accuracy,
            "nmi": normalised_mutual_information(table),
            "matching": matching,
            "table": table.tolist(),
            "per_code": self.per_code,
        }
