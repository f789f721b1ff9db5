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
    assert result.exit_code == 1 and "Did you mean 'dcgan'" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(main, ["train", "mlp", "--data", "ring-8", "-o", str(tmp_path), "--set", "oops"])
    assert result.exit_code == 2 and "expected KEY=VALUE" in result.output
    result = CliRunner().invoke(main, ["sample", str(tmp_path / "missing"), "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 1 and "no such folder" in result.output


def test_console_script_is_installed():
    """`ganzoo` is on PATH as a console script of the installed distribution."""
    from importlib.metadata import entry_points

    assert any(ep.name == "ganzoo" and ep.value == "ganzoo.cli:main" for ep in entry_points(group="console_scripts"))


def test_python_dash_m_ganzoo_runs_the_cli():
    """`python -m ganzoo` works where the console script is not on PATH."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "ganzoo", "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Usage: ganzoo" in result.stdout and "sample" in result.stdout and "export" in result.stdout


def test_sample_refuses_a_grid_too_big_for_memory(tmp_path):
    """`ganzoo sample -n 1000000` used to run for minutes and die; now it is refused at once with what to do."""
    import time

    g = ganzoo.create("dcgan", z_dim=8, image_size=16, g_width=4, d_width=4)
    ganzoo.save(g, tmp_path / "g")
    start = time.monotonic()
    result = CliRunner().invoke(main, ["sample", str(tmp_path / "g"), "-n", "1000000", "-o", str(tmp_path / "x.png")])
    assert time.monotonic() - start < 10
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "1000000 samples of 3x16x16" in result.output and "at most 4096 samples" in result.output
    assert "Generator.sample" in result.output and "ganzoo eval" in result.output
    assert not (tmp_path / "x.png").exists()
    result = CliRunner().invoke(main, ["sample", str(tmp_path / "g"), "-n", "0", "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 2 and "must be at least 1" in result.output
    assert _run("sample", tmp_path / "g", "-n", 4096, "-o", tmp_path / "max.png").exit_code == 0


def test_grid_byte_limit_for_large_images():
    """Big images hit the byte limit before the sample limit: 4096 samples of 3x256x256 would be 768 MiB."""
    import click
    import pytest

    from ganzoo.cli import MAX_GRID_VALUES, check_grid_size

    check_grid_size(4096, (3, 64, 64))
    n = MAX_GRID_VALUES // (3 * 256 * 256) + 1
    with pytest.raises(click.BadParameter, match="MiB grid"):
        check_grid_size(n, (3, 256, 256))


def test_mistyped_folder_is_not_reported_as_an_unknown_zoo_model(tmp_path, monkeypatch):
    """A path-like name that does not exist is "no such folder", not "unknown zoo model"."""
    monkeypatch.chdir(tmp_path)
    for name in ("runs/celbea", "./runs", "~/ganzoo-surely-missing", "model.safetensors"):
        result = CliRunner().invoke(main, ["sample", name, "-o", str(tmp_path / "x.png")])
        assert result.exit_code == 1, result.output
        assert "no such folder" in result.output and "unknown zoo model" not in result.output
    (tmp_path / "g.onnx").write_text("x")
    result = CliRunner().invoke(main, ["sample", "g.onnx", "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 1 and "is a file, not a generator folder" in result.output
    assert "OnnxGenerator" in result.output
    # a bare name still gets the zoo's suggestions
    result = CliRunner().invoke(main, ["sample", "dcgan-celbea", "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 1 and "Did you mean 'dcgan-celeba'" in result.output


def test_28px_data_on_a_64px_dcgan_suggests_a_size_dcgan_accepts(tmp_path):
    """The hint used to say image_size=28, which DCGAN refuses; it now points at 32 with --resize."""
    import numpy as np

    images = np.random.default_rng(0).integers(0, 256, size=(16, 28, 28), dtype=np.uint8)
    np.savez(tmp_path / "small.npz", x_train=images)
    args = ["train", "dcgan", "--data", str(tmp_path / "small.npz"), "--steps", "1", "-o", str(tmp_path / "run")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "image_size=28" not in result.output
    assert "--set image_size=32 --set channels=1 --resize" in result.output
    # and the suggestion works
    fit = ["--set", "image_size=32", "--set", "channels=1", "--resize", "--batch-size", "8", "-q"]
    result = CliRunner().invoke(main, [*args, *fit])
    assert result.exit_code == 0, result.output


def test_readme_fashion_mnist_command_runs(tmp_path):
    """The README's Fashion-MNIST command, for 2 steps, on the real file in ../shared/datasets."""
    import shlex

    import pytest

    from .conftest import FASHION, REPO

    if not FASHION.is_file():
        pytest.skip(f"{FASHION} not found")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    line = next(x for x in readme.splitlines() if x.startswith("ganzoo train dcgan") and "fashion_mnist" in x)
    args = shlex.split(line)[1:]
    name, _, data = args[args.index("--data") + 1].rpartition(":")
    assert (REPO / data).resolve() == FASHION.resolve()  # the README's path, read from the repository root
    args[args.index("--data") + 1] = f"{name}:{FASHION}" if name else str(FASHION)
    args[args.index("-o") + 1] = str(tmp_path / "fashion")
    result = CliRunner().invoke(main, [*args, "--steps", "2", "--batch-size", "8", "-q"])
    assert result.exit_code == 0, result.output
    assert ganzoo.load(tmp_path / "fashion").config.output_shape == (1, 32, 32)


def test_train_options_come_from_train_config():
    """Every CLI-facing TrainConfig field is a `ganzoo train` option with its help text: one list of settings."""
    from ganzoo.training.config import TrainConfig

    command = main.commands["train"]
    options = {name for p in command.params for name in p.opts}
    for f, _ in TrainConfig.cli_fields():
        assert "--" + f.name.replace("_", "-") in options, f.name
    helps = {p.name: p.help for p in command.params}
    assert helps["batch_size"] == dict((f.name, f.metadata["help"]) for f, _ in TrainConfig.cli_fields())["batch_size"]


def test_train_refuses_a_folder_holding_a_run_unless_resume_or_overwrite(tmp_path):
    """A second `ganzoo train` into the same folder is refused; --overwrite clears the old progress pictures."""
    args = ["train", "mlp", "--data", "ring-8", "-o", str(tmp_path), "--steps", "2", "--batch-size", "8", "-q"]
    args += ["--set", "hidden=8", "--sample-every", "1"]
    assert CliRunner().invoke(main, args).exit_code == 0
    assert (tmp_path / "progress" / "step-0000002.png").is_file()
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "already holds a run" in result.output and "--resume" in result.output
    result = CliRunner().invoke(main, [*args[:-4], "--steps", "1", "--overwrite", "--set", "hidden=8"])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "progress" / "step-0000002.png").exists()  # the old run's pictures are gone
    result = CliRunner().invoke(main, [*args, "--resume", "--overwrite"])
    assert result.exit_code == 1 and "pass one of them" in result.output


def test_resume_with_other_data_is_refused(tmp_path):
    """--resume on another dataset names the difference instead of silently training on it."""
    base = ["train", "mlp", "-o", str(tmp_path), "--batch-size", "8", "-q", "--set", "hidden=8"]
    assert CliRunner().invoke(main, [*base, "--data", "ring-8", "--steps", "2"]).exit_code == 0
    result = CliRunner().invoke(main, [*base, "--data", "grid-25", "--steps", "4", "--resume"])
    assert result.exit_code == 1 and "data: checkpoint 'ring-8', now 'grid-25'" in result.output
