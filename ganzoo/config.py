"""Config base classes that every architecture plugin builds on.

An architecture's config is a dataclass: one source of truth for its hyperparameters, saved as JSON in
``config.json`` and rebuilt from it on load. Fields must be JSON scalars (int, float, str, bool).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass
from typing import Any, ClassVar

from ganzoo.errors import ConfigError


@dataclass
class GeneratorConfig:
    """Base config: the latent size. Subclasses add their own fields and define ``output_shape``."""

    z_dim: int = 100

    #: True when ``output_shape`` is ``(C, H, W)`` so samples can be shown as pictures.
    is_image: ClassVar[bool] = False
    #: False for models that take no latents (translators): ``z_dim`` is then unused and may be 0.
    uses_latents: ClassVar[bool] = True

    @property
    def inputs(self) -> tuple[InputSpec, ...]:
        """What the model takes, in order: ``z`` (float32, N x z_dim, prior N(0, 1)), and ``labels`` (int64, N)
        when the config has ``num_classes > 0``. Export, serving, Triton and the card read this."""
        specs = [InputSpec("z", "float32", (self.z_dim,), "latent", prior="normal")]
        classes = getattr(self, "num_classes", 0)
        if classes:
            specs.append(InputSpec("labels", "int64", (), "label", value_range=(0, classes - 1)))
        return tuple(specs)

    @property
    def outputs(self) -> tuple[InputSpec, ...]:
        """What the model returns: ``images`` (N x C x H x W in [-1, 1]) or ``samples`` (N x d)."""
        if self.is_image:
            return (InputSpec("images", "float32", tuple(self.output_shape), "image", value_range=(-1.0, 1.0)),)
        return (InputSpec("samples", "float32", tuple(self.output_shape), "sample"),)

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of one generated sample, without the batch axis."""
        raise NotImplementedError(f"{type(self).__name__} must define output_shape")

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check field values; subclasses extend this and raise ``ConfigError`` with what to change."""
        if not isinstance(self.z_dim, int) or self.z_dim < (1 if self.uses_latents else 0):
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
        try:
            hints = typing.get_type_hints(cls)
        except (NameError, TypeError):  # an annotation that cannot be resolved: leave the checks to validate()
            hints = {}
        checked = {}
        for key, value in values.items():
            expected = hints.get(key, Any)
            ok, converted = _check_type(value, expected)
            if not ok:
                raise ConfigError(
                    f"{source}: config field {key!r} must be {_type_name(expected)}, got {value!r} "
                    f"({type(value).__name__}); e.g. --set {key}={_example(expected, value)} on the command line"
                )
            checked[key] = converted
        return cls(**checked)


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


@dataclass
class TranslatorConfig(ImageConfig):
    """Config of image-to-image models: ``in_channels`` x ``image_size`` x ``image_size`` images in, images of
    ``channels`` out, no latents (pix2pix, CycleGAN, super-resolution and inpainting families build on it)."""

    z_dim: int = 0
    in_channels: int = 3

    uses_latents: ClassVar[bool] = False

    @property
    def inputs(self) -> tuple[InputSpec, ...]:
        """``images``: float32 N x in_channels x H x W in [-1, 1]."""
        shape = (self.in_channels, self.image_size, self.image_size)
        return (InputSpec("images", "float32", shape, "image", value_range=(-1.0, 1.0)),)

    #: whether ``degrade`` makes this model's inputs from clean images (super-resolution, inpainting)
    restores: ClassVar[bool] = False

    def degrade(self, images: Any, generator: Any = None) -> dict[str, Any]:
        """Clean images (N, C, S, S) in [-1, 1] -> this model's inputs by name, made the way its training made
        them (a restoration family: down-scaled pictures, or pictures and hole masks); ``generator`` (a
        ``torch.Generator``) seeds any randomness. Families that translate real pairs have no such recipe."""
        raise NotImplementedError(f"{type(self).__name__} has no degradation: it translates given pairs")

    def validate(self) -> None:
        super().validate()
        if not isinstance(self.in_channels, int) or self.in_channels <= 0:
            raise ConfigError(f"in_channels must be a positive integer, got {self.in_channels!r}")


@dataclass(frozen=True)
class InputSpec:
    """One input (or output) of a model: its name, dtype, the shape of one row (no batch axis) and what it is.

    ``kind`` is ``latent``, ``label``, ``image`` or ``sample``; ``prior`` says how latents are drawn (``normal``:
    N(0, 1)); ``value_range`` bounds images ([-1, 1]) and labels ([0, classes - 1]).
    """

    name: str
    dtype: str
    shape: tuple[int, ...]
    kind: str
    prior: str = ""
    value_range: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the ``ganzoo.inputs`` ONNX metadata and config.json hold these)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> InputSpec:
        """Inverse of ``to_dict``."""
        rng = values.get("value_range")
        return cls(
            values["name"],
            values["dtype"],
            tuple(values["shape"]),
            values["kind"],
            values.get("prior", ""),
            tuple(rng) if rng is not None else None,
        )


def _check_type(value: Any, expected: Any) -> tuple[bool, Any]:
    """Whether ``value`` fits the annotation ``expected``, and the value to store (lists become tuples, ints
    become floats for float fields). Annotations it does not know are accepted as they are."""
    origin, args = typing.get_origin(expected), typing.get_args(expected)
    if expected is Any or isinstance(expected, typing.TypeVar):
        return True, value
    if expected is type(None) or expected is None:
        return value is None, value
    if origin in (typing.Union, types.UnionType):
        for option in args:
            ok, converted = _check_type(value, option)
            if ok:
                return True, converted
        return False, value
    if origin is typing.Literal:
        return value in args, value
    if expected is bool:
        return isinstance(value, bool), value
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if expected is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return ok, float(value) if ok else value
    if expected is str:
        return isinstance(value, str), value
    if expected in (tuple, list) or origin in (tuple, list):
        if not isinstance(value, (tuple, list)):
            return False, value
        container = origin or expected
        if not args:
            return True, container(value)
        if container is tuple and not (len(args) == 2 and args[1] is Ellipsis):  # tuple[int, str]: fixed length
            if len(args) != len(value):
                return False, value
            pairs = list(zip(value, args, strict=True))
        else:
            pairs = [(item, args[0]) for item in value]
        items = []
        for item, item_type in pairs:
            ok, converted = _check_type(item, item_type)
            if not ok:
                return False, value
            items.append(converted)
        return True, container(items)
    if isinstance(expected, type):
        return isinstance(value, expected), value
    return True, value


def _type_name(expected: Any) -> str:
    """``int``, ``float (or int)``, ``str or None``, ``tuple[int, ...]``: the annotation as a reader writes it."""
    if expected is float:
        return "a number (float or int)"
    if expected is int:
        return "an integer"
    if expected is bool:
        return "true or false"
    if expected is str:
        return "a string"
    if expected is type(None):
        return "null"
    if typing.get_origin(expected) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(expected))
    if typing.get_origin(expected) is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(expected))
    name = getattr(expected, "__name__", None)
    return f"a list ({expected})" if typing.get_origin(expected) in (tuple, list) else str(name or expected)


def _example(expected: Any, value: Any) -> str:
    """A command-line example value of the annotation's type (text that looks like JSON needs JSON quotes)."""
    if typing.get_origin(expected) in (typing.Union, types.UnionType):
        expected = next((a for a in typing.get_args(expected) if a is not type(None)), expected)
    if typing.get_origin(expected) is typing.Literal:
        return str(typing.get_args(expected)[0])
    if expected is str:
        return "'" + json.dumps(str(value)) + "'"
    return {int: "64", float: "0.5", bool: "true"}.get(expected, "[1,2]")
