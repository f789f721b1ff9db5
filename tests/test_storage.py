"""Saving, loading and sampling generators; bad files give clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import ganzoo

TINY = {"z_dim": 8, "image_size": 16, "g_width": 4, "d_width": 4}


@pytest.fixture
def saved(tmp_path):
    g = ganzoo.create("dcgan", seed=0, **TINY).eval()
    ganzoo.save(g, tmp_path / "g")
    return g, tmp_path / "g"


def test_round_trip_gives_identical_samples(saved):
    """save -> load: same weights, same config, same samples for a seed."""
    g, folder = saved
    loaded = ganzoo.load(folder)
    assert loaded.architecture == "dcgan" and loaded.config == g.config
    assert torch.equal(g.sample(5, seed=7), loaded.sample(5, seed=7))
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    assert json.loads((folder / "config.json").read_text())["plugin"]["distribution"] == "ganzoo"


def test_sample_outputs_and_seeds(saved):
    """tensor in [0, 1], raw in [-1, 1], uint8 NHWC, PIL; same seed same images; latents from numpy."""
    g, _ = saved
    t = g.sample(4, seed=1)
    assert t.shape == (4, 3, 16, 16) and t.min() >= 0 and t.max() <= 1
    raw = g.sample(4, seed=1, output="raw")
    assert torch.allclose(t, (raw + 1) / 2)
    arrays = g.sample(4, seed=1, output="numpy")
    assert arrays.shape == (4, 16, 16, 3) and arrays.dtype == np.uint8
    pictures = g.sample(4, seed=1, output="pil")
    assert len(pictures) == 4 and isinstance(pictures[0], Image.Image) and pictures[0].size == (16, 16)
    assert np.array_equal(np.asarray(pictures[2]), arrays[2])
    z = np.random.default_rng(1).standard_normal((4, 8), dtype=np.float32)
    assert torch.equal(g.sample(z=z, output="raw"), raw)
    assert not torch.equal(g.sample(4, seed=2, output="raw"), raw)
    assert torch.allclose(g.sample(4, seed=1, output="raw", batch_size=3), raw, atol=1e-6)  # chunking is invisible


def test_interpolate(saved):
    """The walk starts at seed A's image and ends at seed B's."""
    g, _ = saved
    walk = g.interpolate(3, 9, steps=5, output="raw")
    assert walk.shape == (5, 3, 16, 16)
    assert torch.allclose(walk[0], g.sample(1, seed=3, output="raw")[0], atol=1e-5)
    assert torch.allclose(walk[-1], g.sample(1, seed=9, output="raw")[0], atol=1e-5)
    linear = g.interpolate(3, 9, steps=5, method="linear", output="raw")
    assert not torch.allclose(walk[2], linear[2])
    with pytest.raises(ValueError, match="at least 2"):
        g.interpolate(0, 1, steps=1)


def test_bad_sample_requests(saved):
    """n <= 0, wrong latent shapes, unknown outputs and pictures of 2-D samples are refused."""
    g, _ = saved
    for n in (0, -3):
        with pytest.raises(ValueError, match="positive integer"):
            g.sample(n)
    with pytest.raises(ValueError, match=r"shape \(n, 8\)"):
        g.sample(z=np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match="output must be"):
        g.sample(2, output="jpeg")
    points = ganzoo.create("mlp", z_dim=4)
    assert points.sample(3, seed=0).shape == (3, 2)
    with pytest.raises(ValueError, match="needs an image model"):
        points.sample(3, output="pil")


def test_truncated_and_corrupt_weights(saved):
    """A truncated or garbage model.safetensors is reported as corrupt."""
    _, folder = saved
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(ganzoo.ModelFileError, match="corrupt or truncated"):
        ganzoo.load(folder)
    weights.write_bytes(b"\x00" * 100)
    with pytest.raises(ganzoo.ModelFileError, match="corrupt or truncated"):
        ganzoo.load(folder)


def test_config_that_does_not_match_weights(saved):
    """config.json with another width than the weights: a mismatch error, not a silent partial load."""
    _, folder = saved
    config = json.loads((folder / "config.json").read_text())
    config["config"]["g_width"] = 8
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ganzoo.ModelFileError, match=r"does not match config\.json"):
        ganzoo.load(folder)
    config["config"]["g_widht"] = 8
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ganzoo.ConfigError, match="g_widht"):
        ganzoo.load(folder)


def test_missing_files_and_plugins(saved, tmp_path):
    """Missing folder, config or weights, invalid JSON, and an architecture whose plugin is not installed."""
    _, folder = saved
    with pytest.raises(ganzoo.ModelFileError, match="no such generator folder"):
        ganzoo.load(tmp_path / "nope")
    config = json.loads((folder / "config.json").read_text())
    config["architecture"] = "stylegan9"
    config["plugin"] = {"name": "stylegan9", "distribution": "ganzoo-stylegan9", "version": "1.2"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ganzoo.UnknownNameError, match=r"pip install ganzoo-stylegan9"):
        ganzoo.load(folder)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ganzoo.ModelFileError, match=r"not valid JSON"):
        ganzoo.load(folder)
    (folder / "config.json").unlink()
    with pytest.raises(ganzoo.ModelFileError, match=r"has no config\.json"):
        ganzoo.load(folder)


def test_unknown_zoo_name():
    """A bare name that is neither a folder nor a zoo model suggests how to load a folder."""
    with pytest.raises(ganzoo.UnknownNameError, match=r"unknown zoo model 'dcgan-celbea'.*local-dir"):
        ganzoo.load("dcgan-celbea")


def test_save_does_not_leave_partial_files(saved, monkeypatch):
    """If writing the weights fails, the previous files stay intact and no temporary file is left."""
    _g, folder = saved
    before = (folder / "model.safetensors").read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("ganzoo.models.folder.safetensors.torch.save_model", fail)
    with pytest.raises(OSError, match="disk full"):
        ganzoo.save(ganzoo.create("dcgan", seed=1, **TINY), folder)
    assert (folder / "model.safetensors").read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
