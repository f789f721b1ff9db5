"""What the plugins registered: one record type per hook, and the ``Registry`` that stores them.

The registry is built from a plugin manager by calling each plugin's hook implementation on its own, with a
``register`` closure that buffers records. A plugin whose hook raises, or that registers a name another plugin
already holds, is reported and none of that hook's records are kept, so one broken plugin never breaks ganzoo.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ganzoo.config import GeneratorConfig
from ganzoo.errors import DuplicateNameError, UnknownNameError

TASKS = ("unconditional", "class-conditional", "image-to-image")


@dataclass(frozen=True)
class Architecture:
    """A GAN family's networks by role (``generator``, ``discriminator``; CycleGAN: ``g_ab``, ``g_ba``, ``d_a``,
    ``d_b``), all built as ``cls(config)`` from one config dataclass, and the method that trains them by default."""

    name: str
    networks: dict[str, type]
    config: type[GeneratorConfig]
    task: str = "unconditional"
    default_method: str = "adversarial"
    default_loss: str = "non-saturating"
    tiny: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    plugin: str = ""

    def make_config(self, **overrides: Any) -> GeneratorConfig:
        """Build this architecture's config from keyword overrides, rejecting unknown keys by name."""
        return self.config.from_dict(overrides, source=f"architecture {self.name!r}")

    def network(self, role: str) -> type:
        """The class of the network playing ``role``; an unknown role names the ones there are."""
        if role not in self.networks:
            raise UnknownNameError(f"{self.name} network role", role, self.networks, "")
        return self.networks[role]

    @property
    def generator(self) -> type:
        """The ``generator`` role's class (the network most families publish)."""
        return self.network("generator")

    @property
    def discriminator(self) -> type:
        """The ``discriminator`` role's class."""
        return self.network("discriminator")


@dataclass(frozen=True)
class MethodEntry:
    """A training method: how one iteration updates an architecture's networks (``ganzoo.TrainingMethod``)."""

    name: str
    method_class: type
    description: str = ""
    plugin: str = ""


@dataclass(frozen=True)
class LossEntry:
    """An adversarial loss; ``create(**options)`` builds the loss object."""

    name: str
    loss_class: type
    description: str = ""
    plugin: str = ""

    def create(self, **options: Any) -> Any:
        """Instantiate the loss with its options (e.g. ``gp_weight`` for WGAN-GP)."""
        try:
            return self.loss_class(**options)
        except TypeError as exc:
            raise TypeError(f"loss {self.name!r} does not take these options {sorted(options)}: {exc}") from exc


@dataclass(frozen=True)
class Pretrained:
    """A zoo model: short name -> architecture, Hub repo, pinned revision and weights hash."""

    name: str
    architecture: str
    repo_id: str
    revision: str
    sha256: str
    card: str | None = None
    description: str = ""
    dataset: str = ""
    resolution: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    bundled: str | None = None  # a folder shipped with the plugin holding the same files (used before the Hub)
    task: str = "unconditional"
    plugin: str = ""
    # sha256 of its config.json (bundled copy and Hub revision alike): checked, with the weights', before the
    # network is built from it; None: not pinned (third-party zoo entries from before the field existed)
    config_sha256: str | None = None


@dataclass(frozen=True)
class Exporter:
    """An export format: ``export(generator, path, **options) -> Path``."""

    name: str
    export: Callable[..., Any]
    description: str = ""
    plugin: str = ""


@dataclass(frozen=True)
class MetricEntry:
    """An evaluation metric class."""

    name: str
    metric_class: type
    description: str = ""
    plugin: str = ""


@dataclass(frozen=True)
class DatasetEntry:
    """A data set factory: ``factory(path=None, **options) -> Dataset``."""

    name: str
    factory: Callable[..., Any]
    description: str = ""
    needs_path: bool = False
    plugin: str = ""


def _architecture(
    name: str,
    generator: type | None = None,
    discriminator: type | None = None,
    *,
    config: type[GeneratorConfig],
    networks: dict[str, type] | None = None,
    task: str = "unconditional",
    default_method: str = "adversarial",
    default_loss: str = "non-saturating",
    tiny: dict[str, Any] | None = None,
    description: str = "",
    training_step: Any = None,
) -> Architecture:
    if training_step is not None:
        raise TypeError(
            f"architecture {name!r}: training_step= is gone; register a ganzoo.TrainingMethod through the "
            "register_methods hook and name it with default_method="
        )
    roles = dict(networks or {})
    for role, cls in (("generator", generator), ("discriminator", discriminator)):
        if cls is not None:
            if role in roles:
                raise TypeError(f"architecture {name!r}: {role} is given twice (positionally and in networks=)")
            roles[role] = cls
    if not roles:
        raise TypeError(f"architecture {name!r}: register its networks: generator, discriminator or networks={{...}}")
    for role, cls in roles.items():
        if not inspect.isclass(cls):
            raise TypeError(f"architecture {name!r}: network {role!r} must be an nn.Module class, got {cls!r}")
    if not (dataclasses.is_dataclass(config) and issubclass(config, GeneratorConfig)):
        raise TypeError(f"architecture {name!r}: config must be a dataclass subclassing ganzoo.GeneratorConfig")
    if task not in TASKS:
        raise ValueError(f"architecture {name!r}: task must be one of {TASKS}, got {task!r}")
    return Architecture(name, roles, config, task, default_method, default_loss, dict(tiny or {}), description)


def _method(name: str, method_class: type, *, description: str = "") -> MethodEntry:
    # Checked by what the loop uses rather than by importing TrainingMethod: the host sits below the training layer.
    required = ("build", "make_optimizers", "step", "preview", "published", "needs")
    if not (inspect.isclass(method_class) and all(hasattr(method_class, a) for a in required)):
        raise TypeError(f"method {name!r}: register a subclass of ganzoo.TrainingMethod, got {method_class!r}")
    return MethodEntry(name, method_class, description or (inspect.getdoc(method_class) or "").split("\n")[0])


def _loss(name: str, loss_class: type, *, description: str = "") -> LossEntry:
    from ganzoo.losses import Loss

    if not (inspect.isclass(loss_class) and issubclass(loss_class, Loss)):
        raise TypeError(f"loss {name!r}: register a subclass of ganzoo.Loss, got {loss_class!r}")
    return LossEntry(name, loss_class, description or (inspect.getdoc(loss_class) or "").split("\n")[0])


def _pretrained(
    name: str,
    *,
    architecture: str,
    repo_id: str,
    revision: str,
    sha256: str,
    card: str | None = None,
    description: str = "",
    dataset: str = "",
    resolution: int | None = None,
    metrics: dict[str, float] | None = None,
    bundled: str | None = None,
    task: str = "unconditional",
    config_sha256: str | None = None,
) -> Pretrained:
    for what, digest in (("sha256", sha256), ("config_sha256", config_sha256)):
        if digest is None and what == "config_sha256":
            continue
        if not isinstance(digest, str) or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest.lower()):
            raise ValueError(f"zoo model {name!r}: {what} must be 64 hex digits")
    if "/" not in repo_id:
        raise ValueError(f"zoo model {name!r}: repo_id must be owner/name, got {repo_id!r}")
    return Pretrained(
        name,
        architecture,
        repo_id,
        revision,
        sha256.lower(),
        card,
        description,
        dataset,
        resolution,
        dict(metrics or {}),
        str(bundled) if bundled else None,
        task,
        config_sha256=config_sha256.lower() if config_sha256 else None,
    )


def _exporter(name: str, export: Callable[..., Any], *, description: str = "") -> Exporter:
    if not callable(export):
        raise TypeError(f"exporter {name!r}: export must be callable")
    return Exporter(name, export, description)


def _metric(name: str, metric_class: type, *, description: str = "") -> MetricEntry:
    return MetricEntry(name, metric_class, description)


def _dataset(
    name: str, factory: Callable[..., Any], *, description: str = "", needs_path: bool = False
) -> DatasetEntry:
    if not callable(factory):
        raise TypeError(f"dataset {name!r}: factory must be callable")
    return DatasetEntry(name, factory, description, needs_path)


# hook name -> (kind used in messages, attribute on Registry, record builder)
HOOKS: dict[str, tuple[str, str, Callable[..., Any]]] = {
    "register_architectures": ("architecture", "architectures", _architecture),
    "register_methods": ("method", "methods", _method),
    "register_losses": ("loss", "losses", _loss),
    "register_pretrained": ("zoo model", "pretrained", _pretrained),
    "register_exporters": ("exporter", "exporters", _exporter),
    "register_metrics": ("metric", "metrics", _metric),
    "register_datasets": ("dataset", "datasets", _dataset),
}


@dataclass
class Registry:
    """Everything the loaded plugins registered, by kind and name."""

    architectures: dict[str, Architecture] = field(default_factory=dict)
    methods: dict[str, MethodEntry] = field(default_factory=dict)
    losses: dict[str, LossEntry] = field(default_factory=dict)
    pretrained: dict[str, Pretrained] = field(default_factory=dict)
    exporters: dict[str, Exporter] = field(default_factory=dict)
    metrics: dict[str, MetricEntry] = field(default_factory=dict)
    datasets: dict[str, DatasetEntry] = field(default_factory=dict)

    def add_all(self, hook: str, plugin: str, records: list[Any], describe_plugin: Callable[[str], str]) -> None:
        """Add one hook call's records, all or none: a duplicate name rejects the whole batch."""
        kind, attribute, _ = HOOKS[hook]
        table: dict[str, Any] = getattr(self, attribute)
        seen: set[str] = set()
        for record in records:
            holder = table[record.name].plugin if record.name in table else (plugin if record.name in seen else None)
            if holder is not None:
                raise DuplicateNameError(
                    f"{kind} {record.name!r} is registered twice: by plugin {describe_plugin(holder)} and by "
                    f"plugin {describe_plugin(plugin)}. Uninstall one of them, or block one with "
                    f"GANZOO_BLOCK_PLUGINS=<plugin name>."
                )
            seen.add(record.name)
        for record in records:
            table[record.name] = dataclasses.replace(record, plugin=plugin)

    def get(self, kind: str, name: str) -> Any:
        """Look up a record; an unknown name raises ``UnknownNameError`` listing close matches."""
        attribute = next(attr for k, attr, _ in HOOKS.values() if k == kind)
        table = getattr(self, attribute)
        if name not in table:
            hint = "A plugin may provide it: see `ganzoo plugins` and `ganzoo list`."
            raise UnknownNameError(kind, name, table, hint)
        return table[name]

    def names(self) -> dict[str, list[str]]:
        """Sorted names per kind, for `ganzoo list`."""
        return {attr: sorted(getattr(self, attr)) for _, attr, _ in HOOKS.values()}
