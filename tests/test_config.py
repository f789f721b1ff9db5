"""Config dicts (``--set``, ``config.json``, ``ganzoo.create(**config)``) are type-checked field by field."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from click.testing import CliRunner

import ganzoo
from ganzoo.cli import main
from ganzoo.config import ConfigError, GeneratorConfig


@dataclass
class _Everything(GeneratorConfig):
    """A config with one field of each supported annotation."""

    rate: float = 0.5
    name: str = "a"
    flag: bool = False
    sizes: tuple[int, ...] = (1, 2)
    pair: tuple[int, str] = (1, "x")
    widths: list[int] | None = None
    label: str | None = None

    @property
    def output_shape(self) -> tuple[int]:
        return (2,)


def test_config_error_lives_in_errors_and_is_still_importable_from_config():
    """`ConfigError` is defined in ganzoo.errors; ganzoo.config.ConfigError and ganzoo.ConfigError are the same."""
    import ganzoo.config
    import ganzoo.errors

    assert ganzoo.config.ConfigError is ganzoo.errors.ConfigError is ganzoo.ConfigError
    assert issubclass(ConfigError, ganzoo.GanzooError) and issubclass(ConfigError, ValueError)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("z_dim", "abc", "an integer"),
        ("z_dim", True, "an integer"),  # bools are not ints here
        ("z_dim", 8.0, "an integer"),
        ("rate", "fast", "a number"),
        ("rate", False, "a number"),
        ("name", 5, "a string"),
        ("flag", 1, "true or false"),
        ("sizes", 3, "a list"),
        ("sizes", [1, "b"], "a list"),
        ("pair", [1, 2], "a list"),
        ("pair", [1], "a list"),
        ("widths", "wide", "a list"),
        ("label", 3, "a string or null"),
    ],
)
def test_wrong_types_name_the_field_the_type_and_the_value(field, value, expected):
    """Each bad value is a ConfigError naming the field, the expected type and the value given."""
    with pytest.raises(ConfigError) as info:
        _Everything.from_dict({field: value}, source="test")
    message = str(info.value)
    assert f"config field {field!r}" in message and expected in message and repr(value) in message
    assert message.startswith("test: ")


def test_right_types_are_accepted_and_normalised():
    """ints are fine for floats (stored as float), lists for tuples (stored as tuples), None for optional fields."""
    cfg = _Everything.from_dict(
        {"z_dim": 3, "rate": 2, "name": "b", "flag": True, "sizes": [4, 5], "pair": [2, "y"], "widths": [8]}
    )
    assert cfg.rate == 2.0 and isinstance(cfg.rate, float)
    assert cfg.sizes == (4, 5) and cfg.pair == (2, "y") and cfg.widths == [8] and cfg.label is None
    assert _Everything.from_dict({"widths": None, "label": "x"}).label == "x"


def test_builtin_architectures_refuse_wrong_types_before_validate():
    """`hidden="abc"` used to fail inside validate() with "'<=' not supported"; now it names the field."""
    with pytest.raises(ConfigError, match=r"'hidden' must be an integer, got 'abc' \(str\)"):
        ganzoo.create("mlp", hidden="abc")
    with pytest.raises(ConfigError, match=r"'d_norm' must be a string, got 5"):
        ganzoo.create("dcgan", d_norm=5)
    assert ganzoo.create("mlp", hidden=8, layers=1).config.hidden == 8


def test_cli_set_with_a_wrong_type_is_one_clear_line(tmp_path):
    """`ganzoo train mlp --set hidden=abc` exits 1 with the field and type, no traceback."""
    args = ["train", "mlp", "--data", "ring-8", "--steps", "1", "-o", str(tmp_path / "run"), "--set", "hidden=abc"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "'hidden' must be an integer, got 'abc'" in result.output
    assert "'<=' not supported" not in result.output and "Traceback" not in result.output
