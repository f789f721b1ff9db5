"""Exceptions and warnings raised by ganzoo. Each message says what was wrong and what to do."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class GanzooError(Exception):
    """Base class for every error ganzoo raises on purpose."""


class UnknownNameError(GanzooError, KeyError):
    """A name (architecture, loss, dataset, ...) that no installed plugin registered."""

    def __init__(self, kind: str, name: str, known: Iterable[str], hint: str = "") -> None:
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        message = f"unknown {kind} {name!r}."
        if close:
            message += f" Did you mean {', '.join(repr(c) for c in close)}?"
        message += f" Known {kind}s: {', '.join(known) if known else '(none installed)'}."
        if hint:
            message += f" {hint}"
        super().__init__(message)
        self.kind, self.name, self.close_matches = kind, name, close

    def __str__(self) -> str:  # KeyError would otherwise print the message with quotes around it
        return str(self.args[0])


class DuplicateNameError(GanzooError):
    """Two plugins registered the same name for the same kind of thing."""


class PluginError(GanzooError):
    """A plugin failed to load or raised inside a hook (raised only with GANZOO_STRICT_PLUGINS=1)."""


class DataError(GanzooError, ValueError):
    """The training data is missing, empty, unreadable or does not fit the model."""


class ModelFileError(GanzooError):
    """A saved generator folder is missing a file, is corrupt, or does not match its config."""


class TrainingDivergedError(GanzooError, FloatingPointError):
    """A loss became NaN or infinite; training stopped and the last good checkpoint was kept."""


class EvaluationError(GanzooError, ValueError):
    """The evaluation cannot be run as asked: too few samples, mismatched shapes, a missing split."""


class InceptionWeightsError(GanzooError, FileNotFoundError):
    """The FID Inception weights are missing, corrupt, or not the 2015-12-05 network."""


class HubError(GanzooError, OSError):
    """The Hub (or its cache) cannot give us the files: no network, unknown repo, revision or file."""


class ExportError(GanzooError, RuntimeError):
    """An export failed: the model could not be traced, checked, or did not match PyTorch."""


class RuntimeMissingError(GanzooError, ImportError):
    """Neither onnxruntime nor onnxruntime-gpu is installed."""


class ProviderError(GanzooError, RuntimeError):
    """A requested execution provider is not available or failed to load."""


class InferenceError(Exception):
    """A request the protocol answers with a 4xx and ``{"error": message}``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class PluginLoadWarning(UserWarning):
    """A third-party plugin was skipped because it failed to load or raised in a hook."""


class TrainingWarning(UserWarning):
    """Training looks unhealthy (vanishing generator gradients, mode collapse); it goes on."""


class ConfigError(GanzooError, ValueError):
    """A config has unknown fields, values of the wrong type, or values out of range."""


class DeviceError(GanzooError, ValueError):
    """A device that this torch build or this machine cannot use (no CUDA build, no GPU), or a malformed name."""


class RunExistsError(GanzooError, FileExistsError):
    """A training run's out_dir already holds a run: resume it, overwrite it, or pick another folder."""
