"""Config base classes that every architecture plugin builds on.

An architecture's config is a dataclass: one source of truth for its hyperparameters, saved as JSON in
``config.json`` and rebuilt from it on load. Fields must be JSON scalars (int, float, str, bool).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from ganzoo.errors import GanzooError


class ConfigError(GanzooError, ValueError):
    """A config has unknown fields or values out of range."""


@dataclass
class GeneratorConfig:
    """Base config: the latent size. Subclasses add their own fields and define ``output_shape``."""

    z_dim: int = 100

    #: True when ``output_shape`` is ``(C, H, W)`` so samples can be shown as pictures.
    is_image: ClassVar[bool] = False

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of one generated sample, without the batch axis."""
        raise NotImplementedError(f"{type(self).__name__} must define output_shape")

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check field values; subclasses extend this and raise ``ConfigError`` with what to change."""
        if not isinstance(self.z_dim, int) or self.z_dim <= 0:
            raise ConfigError(f"z_dim must be a positive integer, got {self.z_dim!r}")

    def to_dict(self) -> dict[str, Any]:
        """The config as a JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any], *, source: str = "config") -> GeneratorConfig:
        """Build from a dict, naming any keys this config does not have."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"{source}: unknown config field(s) {', '.join(unknown)}; {cls.__name__} has {', '.join(sorted(known))}"
            )
        return cls(**values)


@dataclass
class ImageConfig(GeneratorConfig):
    """Config of generators that make square images of ``channels`` x ``image_size`` x ``image_size``."""

    image_size: int = 64
    channels: int = 3

    is_image: ClassVar[bool] = True

    @property
    def output_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.image_size, self.image_size)

    def validate(self) -> None:
        super().validate()
        if self.channels not in (1, 3):
            raise ConfigError(f"channels must be 1 (greyscale) or 3 (RGB), got {self.channels!r}")
