"""Data sources v2: Fashion-MNIST with labels, aligned pairs (pix2pix) and unpaired domains (CycleGAN)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import ganzoo
from ganzoo.data import BatchSampler
from ganzoo.plugins.datasets import FASHION_MNIST_CLASSES, fashion_mnist
from ganzoo.plugins.image_pairs import paired_folder, paired_npz, unpaired_folder, unpaired_npz

FASHION = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "fashion_mnist" / "fashion_mnist.npz"
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def fashion_path():
    """The real Fashion-MNIST from ../shared/datasets (skipped where it is absent)."""
    if not FASHION.is_file():
        pytest.skip(f"{FASHION} not found")
    return FASHION


def _uint8(batch: torch.Tensor) -> torch.Tensor:
    """A batch in [-1, 1] back to the stored uint8 values."""
    return ((batch + 1) * 127.5).round().to(torch.int64)


def _fake_fashion(path: Path, n: int = 6) -> np.ndarray:
    """A Keras-layout file like Fashion-MNIST's: 28x28 pictures with a 0 background, labels 0-9."""
    rng = np.random.default_rng(0)
    x = np.zeros((n, 28, 28), np.uint8)
    x[:, 4:24, 6:22] = rng.integers(1, 256, (n, 20, 16), dtype=np.uint8)
    np.savez(
        path, x_train=x, y_train=np.arange(n, dtype=np.uint8) % 10, x_test=x[:2], y_test=np.array([9, 0], np.uint8)
    )
    return x


# -- Fashion-MNIST ------------------------------------------------------------------------------------------------


def test_fashion_mnist_fields_labels_and_splits(tmp_path):
    """{"image", "label"}: 28x28 greyscale uint8, int64 labels, class names; split='test' reads x_test."""
    x = _fake_fashion(tmp_path / "f.npz")
    data = fashion_mnist(tmp_path / "f.npz")
    assert set(data.fields) == {"image", "label"} and data.shapes() == {"image": (1, 28, 28), "label": ()}
    assert data.data.dtype == torch.uint8 and torch.equal(data.data[:, 0], torch.from_numpy(x))
    assert data.labels.dtype == torch.int64 and data.labels.tolist() == [0, 1, 2, 3, 4, 5]
    assert data.classes == FASHION_MNIST_CLASSES and len(data.classes) == 10
    assert data.classes[0] == "T-shirt/top" and data.classes[9] == "Ankle boot"
    test = fashion_mnist(tmp_path / "f.npz", split="test")
    assert len(test) == 2 and test.labels.tolist() == [9, 0]
    with pytest.raises(ganzoo.DataError, match="split='train'"):
        fashion_mnist(tmp_path / "f.npz", split="validation")
    batch = next(BatchSampler(data, 3, seed=0, device=CPU))
    assert set(batch) == {"image", "label"} and batch["label"].dtype == torch.int64


def test_fashion_mnist_pads_to_32_and_needs_resize_otherwise(tmp_path):
    """32 pads exactly (no resize); 64 or 3 channels need resize=True, else a DataError saying what to set."""
    x = _fake_fashion(tmp_path / "f.npz")
    padded = fashion_mnist(tmp_path / "f.npz", image_size=32, channels=1)
    assert padded.sample_shape == (1, 32, 32)
    assert torch.equal(padded.data[:, 0, 2:30, 2:30], torch.from_numpy(x))
    with pytest.raises(ganzoo.DataError, match=r"image_size=64 needs resize=True"):
        fashion_mnist(tmp_path / "f.npz", image_size=64, channels=1)
    with pytest.raises(ganzoo.DataError, match=r"greyscale \(1 channel\).*channels=3"):
        fashion_mnist(tmp_path / "f.npz", image_size=32, channels=3)
    resized = fashion_mnist(tmp_path / "f.npz", image_size=16, channels=1, resize=True)
    assert resized.sample_shape == (1, 16, 16) and resized.labels.tolist() == [0, 1, 2, 3, 4, 5]
    rgb = fashion_mnist(tmp_path / "f.npz", image_size=32, channels=3, resize=True)
    assert rgb.sample_shape == (3, 32, 32)  # padded, then grey copied to R, G and B
    assert all(torch.equal(rgb.data[:, c], padded.data[:, 0]) for c in range(3))
    np.savez(tmp_path / "other.npz", images=x)
    with pytest.raises(ganzoo.DataError, match="Keras layout"):
        fashion_mnist(tmp_path / "other.npz")


def test_real_fashion_mnist(fashion_path):
    """The shared file: 60,000 rows, labels 0-9 (6,000 each); padding to 32 keeps every pixel, borders 0."""
    data = ganzoo.resolve_data(f"fashion-mnist:{fashion_path}", image_size=32, channels=1, resize=False)
    assert len(data) == 60_000 and data.shapes() == {"image": (1, 32, 32), "label": ()}
    assert data.labels.dtype == torch.int64 and torch.bincount(data.labels).tolist() == [6000] * 10
    with np.load(fashion_path) as archive:
        original = torch.from_numpy(archive["x_train"])
    assert torch.equal(data.data[:, 0, 2:30, 2:30], original)
    border = data.data[:, 0].clone()
    border[:, 2:30, 2:30] = 0
    assert int(border.abs().sum()) == 0
    assert len(ganzoo.resolve_data(f"fashion-mnist:{fashion_path}", split="test")) == 10_000


def test_dcgan_trains_on_fashion_mnist(fashion_path):
    """End to end: NAME:PATH through the training loop; the adversarial method ignores the label field."""
    generator = ganzoo.train(
        "dcgan",
        f"fashion-mnist:{fashion_path}",
        steps=2,
        batch_size=8,
        progress=False,
        image_size=32,
        channels=1,
        g_width=4,
        d_width=4,
        z_dim=8,
    )
    assert generator.sample(2, seed=0).shape == (2, 1, 32, 32)


# -- aligned pairs ---------------------------------------------------------------------------------------------


def test_paired_npz_stays_aligned_through_the_sampler(tmp_path):
    """target = 255 - source per row survives shuffling: both fields are drawn with one permutation."""
    rng = np.random.default_rng(0)
    source = rng.integers(0, 256, (12, 3, 8, 8), dtype=np.uint8)  # (N, C, H, W)
    np.savez(tmp_path / "p.npz", source=source, target=255 - source.transpose(0, 2, 3, 1))  # (N, H, W, C)
    data = ganzoo.resolve_data(f"paired-npz:{tmp_path / 'p.npz'}")
    assert set(data.fields) == {"source", "target"} and not data.unpaired
    assert data.shapes() == {"source": (3, 8, 8), "target": (3, 8, 8)} and data.fields["target"].dtype == torch.uint8
    sampler = BatchSampler(data, 4, seed=3, device=CPU)
    seen = []
    for _ in range(6):  # two epochs
        batch = next(sampler)
        assert set(batch) == {"source", "target"} and batch["source"].shape == (4, 3, 8, 8)
        assert torch.equal(_uint8(batch["source"]) + _uint8(batch["target"]), torch.full((4, 3, 8, 8), 255))
        seen.append(_uint8(batch["source"]))
    firsts = torch.cat(seen[:3])
    assert len({tuple(row.flatten().tolist()) for row in firsts}) == 12  # the first epoch covered every pair


def test_paired_npz_keys_channels_and_sizes(tmp_path):
    """a/b keys, named keys, 1-channel sources for 3-channel targets, and the resize rules of the .npz source."""
    sketches = np.zeros((4, 8, 8), np.uint8)
    photos = np.full((4, 8, 8, 3), 200, np.uint8)
    np.savez(tmp_path / "ab.npz", a=sketches, b=photos)
    data = paired_npz(tmp_path / "ab.npz", image_size=8, channels=3)
    assert data.shapes() == {"source": (1, 8, 8), "target": (3, 8, 8)}  # source kept as stored
    assert paired_npz(tmp_path / "ab.npz", channels=3, source_channels=3, resize=True).shapes()["source"] == (3, 8, 8)
    np.savez(tmp_path / "named.npz", edges=sketches, shoes=photos)
    named = paired_npz(tmp_path / "named.npz", source_key="edges", target_key="shoes")
    assert named.shapes() == {"source": (1, 8, 8), "target": (3, 8, 8)}
    with pytest.raises(ganzoo.DataError, match=r"missing source: 'source' or 'a'.*source_key="):
        paired_npz(tmp_path / "named.npz")
    with pytest.raises(ganzoo.DataError, match=r"\['a'\] holds 8x8 images with 1 channel\(s\).*resize=True"):
        paired_npz(tmp_path / "ab.npz", image_size=16)
    resized = paired_npz(tmp_path / "ab.npz", image_size=16, resize=True)
    assert resized.shapes() == {"source": (1, 16, 16), "target": (3, 16, 16)}
    np.savez(tmp_path / "short.npz", source=sketches, target=photos[:3])
    with pytest.raises(ganzoo.DataError, match=r"has 4 images but 'target' has 3.*unpaired-npz"):
        paired_npz(tmp_path / "short.npz")


def _save_pairs(folder: Path, values: list[int], w: int = 8, h: int = 8) -> None:
    """pix2pix pictures: left half (A) one grey value, right half (B) its complement."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, v in enumerate(values):
        picture = np.empty((h, 2 * w, 3), np.uint8)
        picture[:, :w], picture[:, w:] = v, 255 - v
        Image.fromarray(picture).save(folder / f"{i:03d}.png")


def test_paired_folder_directions_alignment_and_junk(tmp_path):
    """A|B halves become source/target (BtoA swaps them), resized, aligned per row; junk is skipped with a warning."""
    values = [10, 40, 70, 100, 130, 160]
    _save_pairs(tmp_path / "facades" / "train", values)
    (tmp_path / "facades" / "train" / "notes.txt").write_text("not a picture")
    Image.fromarray(np.zeros((8, 9, 3), np.uint8)).save(tmp_path / "facades" / "train" / "odd.png")
    with pytest.warns(UserWarning, match=r"skipped 2 unreadable file\(s\) of 8.*"):
        data = ganzoo.resolve_data(f"paired-folder:{tmp_path / 'facades' / 'train'}", image_size=4, progress=False)
    assert data.shapes() == {"source": (3, 4, 4), "target": (3, 4, 4)} and len(data) == 6
    assert data.fields["source"][:, 0, 0, 0].tolist() == values
    assert torch.equal(data.fields["source"].int() + data.fields["target"].int(), torch.full((6, 3, 4, 4), 255))
    batch = next(BatchSampler(data, 4, seed=1, device=CPU))
    assert torch.equal(_uint8(batch["source"]) + _uint8(batch["target"]), torch.full((4, 3, 4, 4), 255))
    with pytest.warns(UserWarning):
        flipped = paired_folder(tmp_path / "facades", direction="BtoA", image_size=4, channels=1, progress=False)
    assert flipped.shapes() == {"source": (1, 4, 4), "target": (1, 4, 4)}
    assert flipped.fields["target"][:, 0, 0, 0].tolist() == values
    with pytest.raises(ganzoo.DataError, match=r"direction='AtoC'.*'AtoB'"):
        paired_folder(tmp_path / "facades", direction="AtoC")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ganzoo.DataError, match="is empty"):
        paired_folder(tmp_path / "empty")


# -- unpaired domains ------------------------------------------------------------------------------------------


def _save_domain(folder: Path, values: list[int]) -> None:
    folder.mkdir(parents=True)
    for v in values:
        Image.fromarray(np.full((8, 8, 3), v, np.uint8)).save(folder / f"{v:03d}.png")


def _check_epochs(sampler: BatchSampler, sizes: dict[str, int], batch_size: int, batches: int) -> None:
    """Every stream covers all its rows once per epoch of its own length."""
    drawn = {name: [] for name in sizes}
    for _ in range(batches):
        batch = next(sampler)
        for name in sizes:
            drawn[name] += _uint8(batch[name])[:, 0, 0, 0].tolist()
    for name, size in sizes.items():
        epochs = [drawn[name][i : i + size] for i in range(0, len(drawn[name]), size)]
        assert len(epochs) == batches * batch_size // size
        assert all(len(set(epoch)) == size for epoch in epochs), (name, epochs)


def test_unpaired_folder_streams_of_different_lengths(tmp_path):
    """trainA/trainB of 6 and 4 pictures: {"a", "b"}, unpaired, each stream covers its own epoch."""
    _save_domain(tmp_path / "horse2zebra" / "trainA", [0, 40, 80, 120, 160, 200])
    _save_domain(tmp_path / "horse2zebra" / "trainB", [20, 60, 100, 140])
    _save_domain(tmp_path / "horse2zebra" / "testA", [1, 2])
    _save_domain(tmp_path / "horse2zebra" / "testB", [3, 4, 5])
    data = ganzoo.resolve_data(f"unpaired-folder:{tmp_path / 'horse2zebra'}", image_size=4, progress=False)
    assert data.unpaired and set(data.fields) == {"a", "b"}
    assert {name: len(t) for name, t in data.fields.items()} == {"a": 6, "b": 4}
    assert data.shapes() == {"a": (3, 4, 4), "b": (3, 4, 4)}
    _check_epochs(BatchSampler(data, 2, seed=0, device=CPU), {"a": 6, "b": 4}, 2, 12)
    test = unpaired_folder(tmp_path / "horse2zebra", split="test", image_size=4, channels=1, progress=False)
    assert {name: tuple(t.shape) for name, t in test.fields.items()} == {"a": (2, 1, 4, 4), "b": (3, 1, 4, 4)}
    (tmp_path / "only_a").mkdir()
    _save_domain(tmp_path / "only_a" / "trainA", [0])
    with pytest.raises(ganzoo.DataError, match=r"no trainB/ folder \(subfolders: \['trainA'\]\).*CycleGAN"):
        unpaired_folder(tmp_path / "only_a")
    with pytest.raises(ganzoo.DataError, match="no trainA/"):
        unpaired_folder(tmp_path / "horse2zebra" / "trainA")


def test_unpaired_npz(tmp_path):
    """Arrays a and b of any lengths -> two streams; a missing array names what is wanted."""
    a = np.stack([np.full((8, 8), v, np.uint8) for v in range(0, 240, 40)])  # 6 pictures, (N, H, W)
    b = np.stack([np.full((8, 8), v, np.uint8) for v in range(20, 180, 40)])  # 4 pictures
    np.savez(tmp_path / "u.npz", a=a, b=b)
    data = ganzoo.resolve_data(f"unpaired-npz:{tmp_path / 'u.npz'}", image_size=8, channels=1, resize=False)
    assert data.unpaired and {name: tuple(t.shape) for name, t in data.fields.items()} == {
        "a": (6, 1, 8, 8),
        "b": (4, 1, 8, 8),
    }
    _check_epochs(BatchSampler(data, 2, seed=5, device=CPU), {"a": 6, "b": 4}, 2, 12)
    with pytest.raises(ganzoo.DataError, match=r"8x8 images with 1 channel\(s\).*resize=True"):
        unpaired_npz(tmp_path / "u.npz", channels=3)
    np.savez(tmp_path / "one.npz", a=a)
    with pytest.raises(ganzoo.DataError, match=r"missing b: 'b'.*arrays 'a' and 'b'"):
        unpaired_npz(tmp_path / "one.npz")


def test_name_path_errors_and_listing(tmp_path):
    """NAME:PATH with a missing path is named; every new source is listed as reading files."""
    with pytest.raises(ganzoo.DataError, match=r"no such file or folder.*paired-npz"):
        ganzoo.resolve_data(f"paired-npz:{tmp_path / 'nope.npz'}")
    from ganzoo.host.manager import get_registry

    datasets = get_registry().datasets
    for name in ("fashion-mnist", "paired-npz", "paired-folder", "unpaired-folder", "unpaired-npz"):
        assert datasets[name].needs_path and datasets[name].description
