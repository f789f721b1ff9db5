"""Evaluation: the protocol, feature extractors, the feature cache, ``evaluate()`` and card summaries.

``protocol`` (``Metric``, ``Batch``, ``EvalContext``), ``extractors`` (Inception, pixels), ``cache`` (reference
features on disk), ``evaluate`` (``evaluate()``),
``translation`` (``evaluate_translation()`` for image-to-image models), ``summary`` (headline numbers for the CLI
and model cards),
``inception`` (the FID Inception network, imported only when features are computed: it needs torch).
"""

from ganzoo.errors import EvaluationError
from ganzoo.evaluation.cache import cache_dir, tensor_sha256
from ganzoo.evaluation.evaluate import evaluate
from ganzoo.evaluation.extractors import InceptionExtractor, PixelExtractor, make_extractor
from ganzoo.evaluation.protocol import Batch, EvalContext, Metric
from ganzoo.evaluation.summary import card_metrics, headline_metrics, summary_metrics
from ganzoo.evaluation.translation import TranslationBatch, evaluate_translation

__all__ = [
    "Batch",
    "EvalContext",
    "EvaluationError",
    "InceptionExtractor",
    "Metric",
    "PixelExtractor",
    "TranslationBatch",
    "cache_dir",
    "card_metrics",
    "evaluate",
    "evaluate_translation",
    "headline_metrics",
    "make_extractor",
    "summary_metrics",
    "tensor_sha256",
]
