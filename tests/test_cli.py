"""The command line: list, plugins, train, sample, and errors as one clear line."""

from __future__ import annotations

import json

from click.testing import CliRunner
from PIL import Image

import ganzoo
from ganzoo.cli import main

TINY = ["--set", "z_dim=4", "--set", "hidden=16", "--set", "layers=2"]


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_list_shows_every_kind():
    """`ganzoo list` prints each section with the built-in names; --json is machine-readable."""
    result = _run("list")
    assert result.exit_code == 0
    for text in (
        "architectures",
        "losses",
        "datasets",
        "metrics",
        "exporters",
        "zoo models",
        "dcgan",
        "wgan-gp",
        "ring-8",
    ):
        assert text in result.output
    data = json.loads(_run("list", "--json").output)
    assert {a["name"] for a in data["architectures"]} >= {"dcgan", "mlp"}


def test_plugins_shows_versions_and_names():
    """`ganzoo plugins` prints each plugin with its distribution, version and what it registered."""
    result = _run("plugins")
    assert result.exit_code == 0
    assert f"dcgan  (ganzoo {ganzoo.__version__}, built-in)" in result.output
    assert "loss: minimax, non-saturating" in result.output
    data = json.loads(_run("plugins", "--json").output)
    assert any(p["name"] == "datasets" and "ring-8" in p["registered"]["dataset"] for p in data)


def test_train_then_sample(tmp_path):
    """`ganzoo train` writes a run folder; `ganzoo sample` draws from it (scatter for 2-D, interpolation too)."""
    out = tmp_path / "run"
    result = _run("train", "mlp", "--data", "ring-8", "--steps", 3, "--batch-size", 8, "-o", out, "-q", *TINY)
    assert result.exit_code == 0, result.output
    assert (out / "model.safetensors").is_file() and (out / "losses.png").is_file()
    assert ganzoo.load(out).config.hidden == 16
    result = _run("sample", out, "-n", 100, "-o", tmp_path / "s.png")
    assert result.exit_code == 0 and Image.open(tmp_path / "s.png").size == (500, 500)


def test_train_schedule_options_reach_the_run(tmp_path):
    """--lr-decay linear --lr-decay-start STEP is recorded with the saved generator; a bad start is one line."""
    out = tmp_path / "run"
    schedule = ["--lr-decay", "linear", "--lr-decay-start", 2]
    result = _run(
        "train", "mlp", "--data", "ring-8", "--steps", 4, "--batch-size", 8, "-o", out, "-q", *schedule, *TINY
    )
    assert result.exit_code == 0, result.output
    assert ganzoo.load(out).training["lr_decay"] == "linear" and ganzoo.load(out).training["lr_decay_start"] == 2
    bad = ["train", "mlp", "--data", "ring-8", "--steps", "4", "--lr-decay-start", "2", "-o", str(tmp_path / "x")]
    result = CliRunner().invoke(main, bad)
    assert result.exit_code == 1 and "pass lr_decay='linear'" in result.output and "Traceback" not in result.output


def test_sample_image_grid_and_interpolation(tmp_path):
    """For image generators `sample` writes a grid; --interpolate writes one row walking between two seeds."""
    g = ganzoo.create("dcgan", z_dim=8, image_size=16, g_width=4, d_width=4)
    ganzoo.save(g, tmp_path / "g")
    assert _run("sample", tmp_path / "g", "-n", 16, "-o", tmp_path / "grid.png").exit_code == 0
    assert Image.open(tmp_path / "grid.png").size == (4 * 18 + 2, 4 * 18 + 2)
    assert _run("sample", tmp_path / "g", "-n", 5, "--interpolate", 1, 2, "-o", tmp_path / "walk.png").exit_code == 0
    assert Image.open(tmp_path / "walk.png").size == (5 * 18 + 2, 18 + 2)


def test_errors_are_one_line_not_tracebacks(tmp_path):
    """Unknown names and bad options exit 1 with a message, not a traceback."""
    result = CliRunner().invoke(main, ["train", "dcgna", "--data", "ring-8", "-o", str(tmp_path)])
    assert result.exit_code == 1 and "Did you mean 'dcgan'?" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(main, ["train", "mlp", "--data", "ring-8", "-o", str(tmp_path), "--set", "oops"])
    assert result.exit_code == 2 and "expected KEY=VALUE" in result.output
    result = CliRunner().invoke(main, ["sample", str(tmp_path / "missing"), "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 1 and "no such generator folder" in result.output


def test_console_script_is_installed():
    """`ganzoo` is on PATH as a console script of the installed distribution."""
    from importlib.metadata import entry_points

    assert any(ep.name == "ganzoo" and ep.value == "ganzoo.cli:main" for ep in entry_points(group="console_scripts"))
