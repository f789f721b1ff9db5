"""ganzoo: a plugin-based GAN model zoo.

>>> import ganzoo
>>> g = ganzoo.train("mlp", "ring-8", steps=2000)          # any architecture, any compatible loss
>>> g = ganzoo.load("runs/celeba")                          # a saved generator folder
>>> images = g.sample(16, seed=0, output="pil")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ganzoo.errors import (
    DataError,
    DuplicateNameError,
    GanzooError,
    ModelFileError,
    PluginError,
    PluginLoadWarning,
    RunExistsError,
    TrainingDivergedError,
    TrainingWarning,
    UnknownNameError,
)
from ganzoo.version import __version__

# The public API is imported lazily (PEP 562): ``import ganzoo`` stays cheap, and torch-free parts such as
# ``ganzoo.exporters.runtime`` (numpy + onnxruntime only) can be imported where torch is not installed.
_LAZY: dict[str, str] = {
    "InMemoryData": "ganzoo.data",
    "resolve_data": "ganzoo.data",
    "ConfigError": "ganzoo.config",
    "GeneratorConfig": "ganzoo.config",
    "ImageConfig": "ganzoo.config",
    "TranslatorConfig": "ganzoo.config",
    "InputSpec": "ganzoo.config",
    "Model": "ganzoo.models",
    "Generator": "ganzoo.models",
    "Translator": "ganzoo.models",
    "create": "ganzoo.loading",
    "load": "ganzoo.loading",
    "save": "ganzoo.models.folder",
    "hookimpl": "ganzoo.hookspecs",
    "Loss": "ganzoo.losses",
    "Metric": "ganzoo.evaluation",
    "PluginHost": "ganzoo.host",
    "get_plugins": "ganzoo.host",
    "get_registry": "ganzoo.host",
    "use_host": "ganzoo.host",
    "train": "ganzoo.training",
    "TrainConfig": "ganzoo.training",
    "TrainState": "ganzoo.training",
    "TrainingMethod": "ganzoo.training",
    "AdversarialMethod": "ganzoo.training",
    "MethodContext": "ganzoo.training",
    "recompute_batchnorm_stats": "ganzoo.training.standing_stats",
    "evaluate": "ganzoo.evaluation",
    "evaluate_translation": "ganzoo.evaluation",
    "export": "ganzoo.exporting",
    "push": "ganzoo.hub",
}

if TYPE_CHECKING:
    from ganzoo.config import ConfigError, GeneratorConfig, ImageConfig, InputSpec, TranslatorConfig
    from ganzoo.data import InMemoryData, resolve_data
    from ganzoo.evaluation import Metric, evaluate, evaluate_translation
    from ganzoo.exporting import export
    from ganzoo.hookspecs import hookimpl
    from ganzoo.host import PluginHost, get_plugins, get_registry, use_host
    from ganzoo.hub import push
    from ganzoo.loading import create, load
    from ganzoo.losses import Loss
    from ganzoo.models import Generator, Model, Translator
    from ganzoo.models.folder import save
    from ganzoo.training import AdversarialMethod, MethodContext, TrainConfig, TrainingMethod, TrainState, train
    from ganzoo.training.standing_stats import recompute_batchnorm_stats


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ganzoo' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # cache: the next access is a plain attribute lookup
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def _registry() -> Any:
    from ganzoo.host.manager import get_registry

    return get_registry()


def list_architectures() -> list[str]:
    """Names of the registered architectures."""
    return sorted(_registry().architectures)


def list_methods() -> list[str]:
    """Names of the registered training methods."""
    return sorted(_registry().methods)


def list_losses() -> list[str]:
    """Names of the registered losses."""
    return sorted(_registry().losses)


def list_datasets() -> list[str]:
    """Names of the registered data sets."""
    return sorted(_registry().datasets)


def list_models() -> list[str]:
    """Short names of the registered zoo models."""
    return sorted(_registry().pretrained)


def list_exporters() -> list[str]:
    """Names of the registered export formats."""
    return sorted(_registry().exporters)


def list_metrics() -> list[str]:
    """Names of the registered metrics."""
    return sorted(_registry().metrics)


__all__ = [
    "AdversarialMethod",
    "ConfigError",
    "DataError",
    "DuplicateNameError",
    "GanzooError",
    "Generator",
    "GeneratorConfig",
    "ImageConfig",
    "InMemoryData",
    "InputSpec",
    "Loss",
    "MethodContext",
    "Metric",
    "Model",
    "ModelFileError",
    "PluginError",
    "PluginHost",
    "PluginLoadWarning",
    "RunExistsError",
    "TrainConfig",
    "TrainState",
    "TrainingDivergedError",
    "TrainingMethod",
    "TrainingWarning",
    "Translator",
    "TranslatorConfig",
    "UnknownNameError",
    "__version__",
    "create",
    "evaluate",
    "evaluate_translation",
    "export",
    "get_plugins",
    "get_registry",
    "hookimpl",
    "list_architectures",
    "list_datasets",
    "list_exporters",
    "list_losses",
    "list_methods",
    "list_metrics",
    "list_models",
    "load",
    "push",
    "recompute_batchnorm_stats",
    "resolve_data",
    "save",
    "train",
    "use_host",
]
