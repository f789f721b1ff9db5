"""ganzoo: a plugin-based GAN model zoo.

>>> import ganzoo
>>> g = ganzoo.train("mlp", "ring-8", steps=2000)          # any architecture, any compatible loss
>>> g = ganzoo.load("runs/celeba")                          # a saved generator folder
>>> images = g.sample(16, seed=0, output="pil")
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ganzoo")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

from ganzoo.data import InMemoryData, resolve_data
from ganzoo.errors import (
    DataError,
    DuplicateNameError,
    GanzooError,
    ModelFileError,
    PluginError,
    PluginLoadWarning,
    TrainingDivergedError,
    UnknownNameError,
)
from ganzoo.generator import Generator
from ganzoo.hookspecs import hookimpl
from ganzoo.losses import Loss
from ganzoo.models import ConfigError, GeneratorConfig, ImageConfig
from ganzoo.plugin_host import PluginHost, get_plugins, get_registry, use_host
from ganzoo.storage import create, load, save
from ganzoo.training import AdversarialStep, TrainConfig, TrainState, train


def list_architectures() -> list[str]:
    """Names of the registered architectures."""
    return sorted(get_registry().architectures)


def list_losses() -> list[str]:
    """Names of the registered losses."""
    return sorted(get_registry().losses)


def list_datasets() -> list[str]:
    """Names of the registered data sets."""
    return sorted(get_registry().datasets)


def list_models() -> list[str]:
    """Short names of the registered zoo models."""
    return sorted(get_registry().pretrained)


def list_exporters() -> list[str]:
    """Names of the registered export formats."""
    return sorted(get_registry().exporters)


def list_metrics() -> list[str]:
    """Names of the registered metrics."""
    return sorted(get_registry().metrics)


__all__ = [
    "AdversarialStep",
    "ConfigError",
    "DataError",
    "DuplicateNameError",
    "GanzooError",
    "Generator",
    "GeneratorConfig",
    "ImageConfig",
    "InMemoryData",
    "Loss",
    "ModelFileError",
    "PluginError",
    "PluginHost",
    "PluginLoadWarning",
    "TrainConfig",
    "TrainState",
    "TrainingDivergedError",
    "UnknownNameError",
    "__version__",
    "create",
    "get_plugins",
    "get_registry",
    "hookimpl",
    "list_architectures",
    "list_datasets",
    "list_exporters",
    "list_losses",
    "list_metrics",
    "list_models",
    "load",
    "resolve_data",
    "save",
    "train",
    "use_host",
]
