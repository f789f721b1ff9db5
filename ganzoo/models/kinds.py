"""Which class holds a published model: ``Generator`` or ``Translator``, by the architecture's task."""

from __future__ import annotations

from typing import Any

from torch import nn

from ganzoo.models.base import Model
from ganzoo.models.generator import Generator
from ganzoo.models.translator import Translator

#: the class that holds a published model, by the architecture's task
MODEL_CLASSES: dict[str, type[Model]] = {
    "unconditional": Generator,
    "class-conditional": Generator,
    "image-to-image": Translator,
}


def published_model(
    arch: Any, config: Any, modules: dict[str, nn.Module], *, training: dict[str, Any] | None = None
) -> Model:
    """The user-facing model for an architecture's published networks: a ``Generator`` or a ``Translator``."""
    cls = MODEL_CLASSES[arch.task]
    if cls is Generator and len(modules) != 1:
        raise ValueError(f"a generator publishes one network; {arch.name!r} gave {sorted(modules)}")
    return cls(modules, arch.name, config, task=arch.task, training=training)
