"""Summaries of an evaluation result: each metric's headline number, for the CLI, tables and model cards."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def headline_metrics(result: dict[str, Any]) -> dict[str, float]:
    """The main number of each metric in a result (``{"fid": 41.2, "kid": 0.031, ...}``), for cards and tables."""
    from ganzoo.host.manager import get_registry

    registry = get_registry()
    out: dict[str, float] = {}
    for name, values in result["metrics"].items():
        entry = registry.metrics.get(name)
        key = getattr(entry.metric_class, "headline", None) if entry else None
        if key and isinstance(values.get(key), (int, float)):
            out[name if key == name else f"{name}/{key}"] = _number(values[key])
    return out


def _number(value: float) -> float:
    """A whole count stays an int (25 modes), anything else becomes a float."""
    return value if isinstance(value, int) and not isinstance(value, bool) else float(value)


# How cards name the numbers they show; other metrics appear under their own names.
CARD_LABELS = {
    "fid": "FID",
    "kid": "KID",
    "inception-score": "Inception score",
    "precision-recall/precision": "precision",
    "precision-recall/recall": "recall",
    "mode-coverage/modes": "modes covered",
    "mode-coverage/high_quality": "high-quality samples",
    "memorisation/copy_fraction": "copies of training images",
}
# Numbers shown besides each metric's headline (recall goes with precision, the high-quality share with modes).
SUMMARY_EXTRAS = {"precision-recall": ("recall",), "mode-coverage": ("high_quality",)}


def summary_metrics(result: dict[str, Any]) -> dict[str, float]:
    """The headline numbers plus the few that go with them (recall, high-quality share): what the CLI prints
    and a model card shows."""
    numbers: dict[str, float] = {}
    for name, value in headline_metrics(result).items():
        numbers[name] = value
        metric = name.split("/")[0]
        for key in SUMMARY_EXTRAS.get(metric, ()):  # each extra right after its metric's headline
            extra = result["metrics"][metric].get(key)
            if isinstance(extra, (int, float)):
                numbers[f"{metric}/{key}"] = _number(extra)
    return numbers


def card_metrics(
    result: dict[str, Any], *, dataset: str = "", dataset_name: str = "", only: Sequence[str] | None = None
) -> list[Any]:
    """``ganzoo.hub.cards.Metric`` records for a model card's table and ``model-index`` (hub issue).

    ``only``: keep just these names (``["fid", "kid", "precision-recall/precision"]``).
    """
    from ganzoo.hub.cards import Metric as CardMetric

    p = result["protocol"]
    weights = p["extractor"].get("weights_sha256", "")
    convention = resize_convention(p)
    how = (
        f"{p['n_generated']} generated vs {p['n_reference']} reference samples ({p['reference']['split']}); "
        f"{p['extractor'].get('name', 'no extractor')}"
        + (f" (weights sha256 {weights[:12]}…)" if weights else "")
        + (f", {convention} resize" if convention else "")
        + f"; seed {p['seeds']['latents']}; ganzoo {p['ganzoo_version']}"
    )
    numbers = summary_metrics(result)
    return [
        CardMetric(
            name=name, value=value, how=how, dataset=dataset, dataset_name=dataset_name, label=CARD_LABELS.get(name, "")
        )
        for name, value in numbers.items()
        if only is None or name in only
    ]


def resize_convention(protocol: dict[str, Any]) -> str:
    """How a result's images were resized for the extractor, by name: ``tf1-bilinear`` (TensorFlow 1's
    ``resize_bilinear``, ganzoo's convention), ``torch half-pixel bilinear`` (results of ganzoo before it; they
    read FID about 3 % higher on 64x64 faces) or ``""`` (no resizing extractor)."""
    extractor = protocol.get("extractor") or {}
    named = extractor.get("resize_convention") or protocol.get("resize_convention")
    if named:
        return str(named)
    text = str(protocol.get("resize") or extractor.get("resize") or "")
    if text.startswith("bilinear to 299x299 (torch, align_corners=False"):
        return "torch half-pixel bilinear"
    return text.split(":", 1)[0] if text and text != "none" else ""
