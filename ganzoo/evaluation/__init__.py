"""Evaluation: the protocol, feature extractors, the feature cache, ``evaluate()`` and card summaries."""

from ganzoo.evaluation.evaluate import (
    Batch,
    EvalContext,
    EvaluationError,
    Metric,
    card_metrics,
    evaluate,
    headline_metrics,
    summary_metrics,
    tensor_sha256,
)

__all__ = [
    "Batch",
    "EvalContext",
    "EvaluationError",
    "Metric",
    "card_metrics",
    "evaluate",
    "headline_metrics",
    "summary_metrics",
    "tensor_sha256",
]
