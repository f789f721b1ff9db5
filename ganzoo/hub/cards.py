"""Model cards: ``huggingface_hub.ModelCard.from_template`` with ganzoo's Jinja template (``model_cards/``).

A saved model carries what its card must say with it, in its ``config.json`` ``training`` metadata
(``publication_metadata``): ``license`` (Hub licence id, name, link and the data's notice), ``datasets`` (Hub
dataset ids) and ``results`` (measured numbers, each with how it was measured). Every card rendered from a model
(``render_card``, ``ganzoo push`` of a folder without a README) uses them where the caller gives none. A model
fine-tuned from another (``training["init_from"]``) inherits its base's licence and datasets, never its results.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from huggingface_hub import ModelCard

    from ganzoo.models.generator import Generator

PIPELINE_TAGS = {
    "unconditional": "unconditional-image-generation",
    "class-conditional": "unconditional-image-generation",
    "image-to-image": "image-to-image",
}
#: The keys of a model's ``training`` metadata that its cards read (and that the card's training table leaves out).
PUBLICATION_KEYS = ("license", "datasets", "results", "derived_from")
#: How far a chain of fine-tunes (``init_from``) is followed to find the licence of the first model.
MAX_INHERITANCE = 8


@dataclass
class Metric:
    """One measured number for the card's table and ``model-index`` (e.g. FID 41.2 on CelebA-64)."""

    name: str  # metric type, e.g. "fid"
    value: float  # a whole count (modes covered) may be an int
    how: str  # how it was measured: samples, reference set, feature extractor
    dataset: str = ""
    dataset_name: str = ""
    label: str = ""  # how the card names it ("FID"); default: the type in capitals

    @property
    def display_name(self) -> str:
        """The name shown in the card's table and ``model-index``."""
        return self.label or self.name.upper()

    @property
    def display_value(self) -> str:
        """The value to 4 significant digits, trailing zeros kept: FID 109.3, FID 104.0 (for 103.98), KID 0.1103;
        whole counts as they are (25 modes, not 25.00)."""
        if isinstance(self.value, int) and not isinstance(self.value, bool):
            return str(self.value)
        return f"{self.value:#.4g}".rstrip(".")  # '#' keeps the zeros, then no bare point ("1234.")

    def to_dict(self) -> dict[str, Any]:
        """The record kept in a model's ``training["results"]``."""
        return {k: v for k, v in asdict(self).items() if v != ""}

    @classmethod
    def from_dict(cls, record: Any) -> Metric | None:
        """A ``training["results"]`` record back as a ``Metric``; None for a malformed one (never an error)."""
        if not isinstance(record, dict) or not isinstance(record.get("name"), str):
            return None
        value = record.get("value")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        text = {k: str(record.get(k, "")) for k in ("how", "dataset", "dataset_name", "label")}
        return cls(name=record["name"], value=value, **text)


@dataclass
class CardInfo:
    """What a card says beyond the generator itself (all optional)."""

    model_name: str | None = None
    description: str = ""
    datasets: list[str] = field(default_factory=list)
    license: str | None = None  # Hub licence id, or "other" with license_name / license_link
    license_name: str | None = None
    license_link: str | None = None
    data_description: str = ""
    data_license: str = ""
    training_command: str = ""
    hardware: str = ""
    limitations: str = ""
    tags: list[str] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)
    class_names: list[str] = field(default_factory=list)  # a class-conditional model's labels, in order


def publication_metadata(info: CardInfo) -> dict[str, Any]:
    """What a saved model must carry of its card, for its ``config.json`` ``training`` metadata.

    ``{"license": {"id", "name", "link", "notice"}, "datasets": [...], "results": [Metric.to_dict(), ...]}``
    (empty parts left out). Zoo builders stamp it into the bundled folders; ``render_card`` reads it back.
    """
    license_ = {
        "id": info.license,
        "name": info.license_name,
        "link": info.license_link,
        "notice": info.data_license or None,
    }
    out: dict[str, Any] = {}
    if any(license_.values()):
        out["license"] = {k: v for k, v in license_.items() if v}
    if info.datasets:
        out["datasets"] = list(info.datasets)
    if info.metrics:
        out["results"] = [m.to_dict() for m in info.metrics]
    return out


def _read_training(config_path: Path) -> dict[str, Any] | None:
    """The ``training`` block of a saved folder's config.json (read as JSON only: no model is built)."""
    try:
        if not config_path.is_file() or config_path.stat().st_size > 16 << 20:
            return None
        training = json.loads(config_path.read_text(encoding="utf-8")).get("training")
    except (OSError, ValueError, AttributeError, RecursionError):
        return None
    return training if isinstance(training, dict) else None


def _base_training(source: str) -> dict[str, Any] | None:
    """The training metadata of the model a fine-tune started from: a zoo name (its bundled folder) or a saved
    folder; None when it cannot be read offline (a Hub name that is not cached, a deleted folder)."""
    from ganzoo.host.manager import get_registry

    entry = get_registry().pretrained.get(source)
    if entry is not None:
        return _read_training(Path(entry.bundled) / "config.json") if entry.bundled else None
    path = Path(os.path.expanduser(source))
    return _read_training(path / "config.json" if path.suffix != ".json" else path)


def inherited_metadata(init_from: str) -> dict[str, Any]:
    """The licence and datasets a model fine-tuned from ``init_from`` inherits (for its ``training`` metadata).

    Follows a chain of fine-tunes back to the first model that records a licence. Results are never inherited
    (they were measured on other weights). ``{"derived_from": init_from}`` alone when the base cannot be read.
    """
    out: dict[str, Any] = {"derived_from": str(init_from)}
    source: Any = init_from
    for _ in range(MAX_INHERITANCE):
        training = _base_training(str(source))
        if training is None:
            return out
        if isinstance(training.get("license"), dict):
            out["license"] = training["license"]
        if isinstance(training.get("datasets"), list):
            out["datasets"] = [d for d in training["datasets"] if isinstance(d, str)]
        if "license" in out or not isinstance(training.get("init_from"), str):
            return out
        source = training["init_from"]
    return out


def card_info_from_model(generator: Any, info: CardInfo | None = None) -> CardInfo:
    """``info`` completed from the model's own ``training`` metadata (licence, datasets, results), and from its
    base model's when it is a fine-tune that does not record them itself; what ``info`` gives wins."""
    from dataclasses import replace

    info = replace(info) if info is not None else CardInfo()
    training = getattr(generator, "training", None) or {}
    if not isinstance(training, dict):
        training = {}
    recorded: dict[str, Any] = {k: training[k] for k in ("license", "datasets") if k in training}
    base = None
    if "license" not in recorded and isinstance(training.get("init_from"), str):
        base = inherited_metadata(training["init_from"])
        recorded = {**base, **recorded}
    license_ = recorded.get("license") if isinstance(recorded.get("license"), dict) else {}
    if not (info.license or info.license_name):
        info.license = _text(license_.get("id"))
        info.license_name = info.license_name or _text(license_.get("name"))
        info.license_link = info.license_link or _text(license_.get("link"))
    if not info.data_license:
        notice = _text(license_.get("notice")) or ""
        derived = recorded.get("derived_from") or training.get("derived_from")
        if derived and notice:
            notice += f" (inherited from `{derived}`, the model these weights were fine-tuned from)"
        elif derived and base is not None and not license_:
            notice = (
                f"Fine-tuned from `{derived}`, whose licence could not be read here: these weights inherit it and "
                "the licences of its training data; check them before use."
            )
        info.data_license = notice
    if not info.datasets and isinstance(recorded.get("datasets"), list):
        info.datasets = [d for d in recorded["datasets"] if isinstance(d, str)]
    if not info.metrics and isinstance(training.get("results"), list):
        info.metrics = [m for m in map(Metric.from_dict, training["results"]) if m is not None]
    return info


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def template_path() -> str:
    """Path of the packaged Jinja template."""
    return str(resources.files("ganzoo.model_cards").joinpath("template.md"))


def render_card(
    generator: Generator,
    *,
    repo_id: str | None = None,
    load_name: str | None = None,
    info: CardInfo | None = None,
    has_samples: bool = True,
    has_onnx: bool = True,
) -> ModelCard:
    """Render the model card of ``generator`` (metadata block + usage, config, training, data, metrics)."""
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    from ganzoo.version import __version__

    info = card_info_from_model(generator, info)
    name = info.model_name or (repo_id.split("/")[-1] if repo_id else generator.architecture)
    is_image = bool(getattr(generator.config, "is_image", True))
    # the Hub's pipeline tags are image (or other media) tasks: a model of 2-D points or vectors has none
    task = PIPELINE_TAGS.get(generator.task, "unconditional-image-generation") if is_image else None
    eval_results = [
        EvalResult(
            task_type=task or "other",
            dataset_type=m.dataset or (info.datasets[0] if info.datasets else "custom"),
            dataset_name=m.dataset_name or m.dataset or "training data",
            metric_type=m.name,
            metric_value=float(m.display_value),
            metric_name=m.display_name,
        )
        for m in info.metrics
    ]
    extra: dict[str, Any] = {}
    if info.license_name:
        extra["license_name"] = info.license_name
    if info.license_link:
        extra["license_link"] = info.license_link
    data = ModelCardData(
        library_name="ganzoo",
        pipeline_tag=task,
        tags=sorted({"ganzoo", "gan", "safetensors", generator.architecture, *info.tags}),
        datasets=info.datasets or None,
        license=info.license,
        model_name=name if eval_results else None,
        eval_results=eval_results or None,
        **extra,
    )
    parameters = sum(p.numel() for module in generator.modules.values() for p in module.parameters())
    hidden = ("revision", "source", *PUBLICATION_KEYS)
    training = {k: v for k, v in generator.training.items() if k not in hidden}
    return ModelCard.from_template(
        data,
        template_path=template_path(),
        model_name=name,
        description=info.description
        or f"A {generator.architecture} {'translator' if generator.task == 'image-to-image' else 'generator'} "
        "trained with ganzoo.",
        load_name=load_name or (f"hf-hub:{repo_id}" if repo_id else "path/to/folder"),
        architecture=generator.architecture,
        plugin=_plugin_of(generator.architecture),
        output_shape="x".join(str(d) for d in generator.output_shape),
        z_dim=generator.config.z_dim,
        inputs=[spec.to_dict() for spec in generator.inputs],
        translator=generator.task == "image-to-image",
        is_image=is_image,
        roles=list(generator.roles),
        classes=_class_names(generator, info),
        config=generator.config.to_dict(),
        parameters=f"{parameters:,}",
        training=training,
        training_command=info.training_command,
        hardware=info.hardware,
        data_description=info.data_description or (f"`{training['data']}`" if training.get("data") else ""),
        data_license=info.data_license,
        metrics=info.metrics,
        limitations=info.limitations,
        has_samples=has_samples,
        has_onnx=has_onnx,
        ganzoo_version=__version__,
    )


def _class_names(model: Any, info: CardInfo) -> list[str]:
    """The label names of a class-conditional model (``label k`` where the card gives none); [] otherwise."""
    spec = next((s for s in model.inputs if s.kind == "label"), None)
    if spec is None:
        return []
    count = int(spec.value_range[1]) + 1
    return list(info.class_names) if len(info.class_names) == count else [f"label {k}" for k in range(count)]


def _plugin_of(architecture: str) -> str:
    from ganzoo.host.manager import get_host

    host = get_host()
    arch = host.registry.architectures.get(architecture)
    plugin = host.plugins.get(arch.plugin) if arch else None
    return f"plugin {plugin.name} from {plugin.distribution} {plugin.version}" if plugin else "plugin unknown"
