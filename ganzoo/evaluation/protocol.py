"""The metric protocol that plugins implement: the ``Metric`` base class, the ``Batch`` and ``EvalContext`` it gets.

Metrics are plugins (``register_metrics``): a class built as ``metric_class(**options)`` that subclasses
``Metric`` (or follows its protocol): ``needs`` (which of ``samples``, ``features``, ``logits``), ``splits``
(``generated``, ``reference``, ``heldout``), ``update(batch, split)``, ``compute() -> dict`` of JSON numbers,
and optionally ``figures() -> {name: uint8 HxWxC image}`` and a ``headline`` key for model cards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ganzoo.errors import EvaluationError

if TYPE_CHECKING:  # torch is imported where it is used: plugin modules import this one and must stay cheap
    import torch

SPLITS = ("generated", "reference", "heldout")
NEEDS = ("samples", "features", "logits")


@dataclass
class Batch:
    """What a metric receives for one split: samples, and features / logits when it asked for them.

    ``samples`` are uint8 images ``(N, C, H, W)`` (generated images are quantised exactly like real ones) or
    float samples ``(N, ...)`` for non-image generators. ``features`` and ``logits`` are float64 ``(N, D)``.
    ``labels`` are the int64 class labels ``(N,)`` the samples were generated with (class-conditional generators:
    balanced, sample ``i`` of class ``i % K``), else None.
    """

    samples: torch.Tensor
    features: np.ndarray | None = None
    logits: np.ndarray | None = None
    labels: torch.Tensor | None = None

    @property
    def is_image(self) -> bool:
        """Whether the samples are uint8 images."""
        return str(self.samples.dtype) == "torch.uint8"


@dataclass
class EvalContext:
    """What ``evaluate`` knows beyond the samples, handed to each metric by ``bind`` before any update."""

    dataset: str = ""  # the data argument as text ("ring-8", a path)
    sample_shape: tuple[int, ...] = ()
    is_image: bool = False
    seed: int = 0
    extractor: dict[str, Any] = field(default_factory=dict)
    generator: Any = None  # the ganzoo.Generator (for metrics that look inside it), or None
    counts: dict[str, int] = field(default_factory=dict)  # samples per split
    feature_dim: int | None = None  # the extractor's feature size, when features are computed
    num_classes: int | None = None  # classes of a class-conditional generator (its samples carry labels), or None
    cache_folder: Any = None  # the reference-feature cache folder (a Path), or None when caching is off


class Metric:
    """Base class of metrics: collects each split's batches; subclasses implement ``compute``.

    Class attributes (instances may override them from their options): ``needs``, what each batch must carry
    (``samples``, ``features``, ``logits``); ``splits``, the sets the metric reads (``generated``, ``reference``
    = the data, ``heldout`` = real samples the generator never saw); ``headline``, the key of ``compute()``'s
    main number (for model cards and tables).
    """

    needs: ClassVar[frozenset[str]] = frozenset({"features"})
    splits: ClassVar[tuple[str, ...]] = ("generated", "reference")
    headline: ClassVar[str | None] = None

    def __init__(self) -> None:
        self.context = EvalContext()
        self._batches: dict[str, list[Batch]] = {}

    def bind(self, context: EvalContext) -> None:
        """Receive the evaluation's context (called once, before the first ``update``)."""
        self.context = context

    def update(self, batch: Batch, split: str) -> None:
        """Add a batch of the ``split`` set (batches of a split are concatenated)."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        self._batches.setdefault(split, []).append(batch)

    def compute(self) -> dict[str, Any]:
        """The metric's numbers (JSON-ready: floats, ints, lists, short strings)."""
        raise NotImplementedError

    def figures(self) -> dict[str, np.ndarray]:
        """Optional pictures (uint8 ``(H, W, C)``), saved beside the JSON result as PNG."""
        return {}

    # helpers for compute()
    def _require(self, split: str) -> list[Batch]:
        batches = self._batches.get(split)
        if not batches:
            name = type(self).__name__
            raise EvaluationError(f"{name} needs the {split!r} set; it received none")
        return batches

    def features(self, split: str) -> np.ndarray:
        """All features of ``split``, float64 ``(N, D)``."""
        parts = [b.features for b in self._require(split)]
        if any(p is None for p in parts):
            raise EvaluationError(f"{type(self).__name__} received no features; declare 'features' in needs")
        return np.concatenate(parts)

    def samples(self, split: str) -> torch.Tensor:
        """All samples of ``split`` (uint8 images or float samples)."""
        import torch

        return torch.cat([b.samples for b in self._require(split)])

    def labels(self, split: str) -> torch.Tensor:
        """All class labels of ``split``, int64 ``(N,)`` (generated samples of class-conditional generators)."""
        import torch

        parts = [b.labels for b in self._require(split)]
        if any(p is None for p in parts):
            raise EvaluationError(
                f"{type(self).__name__} needs the class labels of the {split!r} samples; they carry none (only a "
                "class-conditional generator's samples have labels)"
            )
        return torch.cat([torch.as_tensor(p, dtype=torch.int64).reshape(-1).cpu() for p in parts])

    def logits(self, split: str) -> np.ndarray:
        """All logits of ``split``, float64 ``(N, classes)``."""
        parts = [b.logits for b in self._require(split)]
        if any(p is None for p in parts):
            raise EvaluationError(f"{type(self).__name__} received no logits; declare 'logits' in needs")
        return np.concatenate(parts)
