"""Data sources: .npz arrays, image folders (CelebA layout too), 2-D mixtures, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import ganzoo
from ganzoo.data import BatchSampler
from ganzoo.plugins.datasets import gaussian_mixture, mixture_centres, npz_images


def test_real_celeba_npz_loads_into_memory(celeba_path):
    """The shared CelebA subset: 10,000 uint8 faces as one NCHW tensor, batches scaled to [-1, 1]."""
    data = ganzoo.resolve_data(celeba_path)
    assert len(data) == 10_000 and data.data.dtype == torch.uint8 and data.sample_shape == (3, 64, 64)
    batch = next(BatchSampler(data, 16, seed=0, device=torch.device("cpu")))
    assert set(batch) == {"image"}  # CelebA's file has no labels
    batch = batch["image"]
    assert batch.shape == (16, 3, 64, 64) and batch.min() >= -1 and batch.max() <= 1 and batch.dtype == torch.float32


def test_npz_layouts(tmp_path):
    """(N, H, W) greyscale, (N, H, W, C) and (N, C, H, W) arrays, chosen by key."""
    gray = np.random.default_rng(0).integers(0, 256, (5, 8, 8), dtype=np.uint8)
    np.savez(tmp_path / "a.npz", x_train=gray, y_train=np.arange(5, dtype=np.uint8))
    data = npz_images(tmp_path / "a.npz")
    assert data.sample_shape == (1, 8, 8) and torch.equal(data.data[:, 0], torch.from_numpy(gray))
    assert data.labels.tolist() == [0, 1, 2, 3, 4]
    rgb = np.zeros((3, 4, 8, 8), np.uint8)
    rgb[:, 0] = 255
    np.savez(tmp_path / "b.npz", first=rgb, second=rgb)
    with pytest.raises(ganzoo.DataError, match="choose one with key="):
        npz_images(tmp_path / "b.npz")
    assert npz_images(tmp_path / "b.npz", key="first").sample_shape == (3, 8, 8)  # RGBA (N, C, H, W) -> RGB


def test_npz_resize_and_channels(tmp_path):
    """resize=True fits images to the model's size and channel count."""
    np.savez(tmp_path / "a.npz", images=np.full((2, 28, 28), 200, np.uint8))
    with pytest.raises(ganzoo.DataError, match="28x28 images with 1 channel"):
        npz_images(tmp_path / "a.npz", image_size=32, channels=3)
    data = npz_images(tmp_path / "a.npz", image_size=32, channels=3, resize=True)
    assert data.sample_shape == (3, 32, 32) and int(data.data.float().mean().round()) == 200


def test_npz_bad_files(tmp_path):
    """Not an archive, float arrays, wrong shapes and empty arrays are clear errors."""
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ganzoo.DataError, match="cannot read"):
        npz_images(tmp_path / "junk.npz")
    np.savez(tmp_path / "f.npz", images=np.zeros((2, 8, 8), np.float32))
    with pytest.raises(ganzoo.DataError, match="dtype float32"):
        npz_images(tmp_path / "f.npz")
    np.savez(tmp_path / "s.npz", images=np.zeros((2, 8), np.uint8))
    with pytest.raises(ganzoo.DataError, match="expected"):
        npz_images(tmp_path / "s.npz")
    np.savez(tmp_path / "e.npz", images=np.zeros((0, 8, 8), np.uint8))
    with pytest.raises(ganzoo.DataError, match="holds no images"):
        npz_images(tmp_path / "e.npz")


def test_image_folder_with_celeba_crop_and_unreadable_files(tmp_path):
    """A folder in img_align_celeba layout: 178x218 pictures get the usual crop; junk is skipped and counted."""
    folder = tmp_path / "img_align_celeba"
    folder.mkdir()
    picture = np.zeros((218, 178, 3), np.uint8)
    picture[20:198] = 255  # the 178x178 crop from row 20 is all white; the borders are black
    for i in range(3):
        Image.fromarray(picture).save(folder / f"{i:06d}.jpg", quality=100)
    Image.fromarray(picture[:100, :100]).save(folder / "small.png")
    (folder / "notes.txt").write_text("not an image")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    with pytest.warns(UserWarning, match=r"skipped 2 unreadable file\(s\) of 6"):
        data = ganzoo.resolve_data(folder, image_size=16, progress=False)
    assert data.sample_shape == (3, 16, 16) and len(data) == 4
    assert data.data[:3].float().mean() > 250  # the crop kept only the white square


def test_image_folder_errors(tmp_path):
    """An empty folder, or one with nothing readable, is an error."""
    (tmp_path / "empty").mkdir()
    with pytest.raises(ganzoo.DataError, match="is empty"):
        ganzoo.resolve_data(tmp_path / "empty")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.jpg").write_text("nope")
    with pytest.raises(ganzoo.DataError, match="none of the 1 files"):
        ganzoo.resolve_data(tmp_path / "junk", progress=False)


def test_missing_paths_and_names():
    """A missing file is named; a bare unknown word suggests datasets."""
    with pytest.raises(ganzoo.DataError, match="no such file or folder"):
        ganzoo.resolve_data("data/faces.npz")
    with pytest.raises(ganzoo.UnknownNameError, match="grid-25"):
        ganzoo.resolve_data("grid25")
    with pytest.raises(ganzoo.DataError, match="reads files"):
        ganzoo.resolve_data("npz")


@pytest.mark.parametrize(("name", "modes", "std"), [("ring-8", 8, 0.02), ("grid-25", 25, 0.05)])
def test_gaussian_mixtures(name, modes, std):
    """Equal-weight mixtures around the published centres with the published spread."""
    data = gaussian_mixture(name, n=20_000)
    centres = mixture_centres(name)
    assert len(centres) == modes and data.sample_shape == (2,)
    points = data.data.numpy()
    nearest = np.linalg.norm(points[:, None] - centres[None], axis=2).argmin(1)
    counts = np.bincount(nearest, minlength=modes)
    assert counts.min() > 0.7 * len(points) / modes
    assert np.std(points - centres[nearest]) == pytest.approx(std, rel=0.05)


def test_batch_sampler_covers_each_epoch_once():
    """Batches walk a fresh permutation each epoch: every sample once per epoch."""
    data = ganzoo.InMemoryData(torch.arange(12, dtype=torch.float32)[:, None])
    sampler = BatchSampler(data, 4, seed=0, device=torch.device("cpu"))
    epoch = torch.cat([next(sampler)["image"] for _ in range(3)]).flatten()
    assert sorted(epoch.tolist()) == list(range(12))
