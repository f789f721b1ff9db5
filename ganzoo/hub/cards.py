"""Model cards: ``huggingface_hub.ModelCard.from_template`` with ganzoo's Jinja template (``model_cards/``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from huggingface_hub import ModelCard

    from ganzoo.models.generator import Generator

PIPELINE_TAGS = {
    "unconditional": "unconditional-image-generation",
    "class-conditional": "unconditional-image-generation",
    "image-to-image": "image-to-image",
}


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

    info = info or CardInfo()
    name = info.model_name or (repo_id.split("/")[-1] if repo_id else generator.architecture)
    task = PIPELINE_TAGS.get(generator.task, "unconditional-image-generation")
    eval_results = [
        EvalResult(
            task_type=task,
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
    training = {k: v for k, v in generator.training.items() if k not in ("revision", "source")}
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
