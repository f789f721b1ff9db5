"""Built-in image-to-image tasks made from the shared data sets on load: nothing extra to download or store.

- ``celeba:FILE``: the faces of one split, ``{"image"}`` (super-resolution and inpainting degrade them on the fly);
- ``celeba-colorize:FILE``: greyscale face -> colour face (pix2pix), ``{"source": 1 channel, "target": RGB}``;
- ``celeba-edges:FILE``: Sobel edge map -> face (pix2pix's edges2* tasks, with Sobel instead of HED edges);
- ``fashion-mnist-unpaired:FILE``: two classes of Fashion-MNIST as two unpaired domains (CycleGAN), by default
  sandals (a) and sneakers (b).

The CelebA file is the ``.npz`` of 64x64 aligned faces with their ``ids`` (CelebA's file numbers); ``split``
follows CelebA's official partition: ids up to 162,770 train, up to 182,637 validation, the rest test.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import ganzoo
from ganzoo.data import InMemoryData
from ganzoo.errors import DataError
from ganzoo.plugins.datasets import FASHION_MNIST_CLASSES, _fit_images, fashion_mnist, nhwc_images, open_npz
from ganzoo.plugins.image_pairs import _nchw

#: CelebA's official partition (list_eval_partition.txt): the last train and validation file numbers
CELEBA_LAST_TRAIN, CELEBA_LAST_VAL = 162_770, 182_637
CELEBA_SPLITS = ("train", "val", "test", "all")


def celeba_split(path: str | os.PathLike, split: str) -> np.ndarray:
    """The uint8 NHWC faces of one split of a CelebA ``.npz`` holding ``images`` and ``ids``."""
    if split not in CELEBA_SPLITS:
        raise DataError(f"split={split!r}; choose one of {', '.join(CELEBA_SPLITS)} (CelebA's official partition)")
    with open_npz(Path(path)) as archive:
        if "images" not in archive or "ids" not in archive:
            raise DataError(
                f"{path} has arrays {list(archive.keys())}; a CelebA task needs 'images' and 'ids' (the file numbers, "
                "e.g. '000040' or 40) to split by CelebA's official partition"
            )
        images, ids = archive["images"], archive["ids"].astype(np.int64)
    if split == "train":
        keep = ids <= CELEBA_LAST_TRAIN
    elif split == "val":
        keep = (ids > CELEBA_LAST_TRAIN) & (ids <= CELEBA_LAST_VAL)
    elif split == "test":
        keep = ids > CELEBA_LAST_VAL
    else:
        keep = np.ones(len(ids), bool)
    if not keep.any():
        raise DataError(f"{path} holds no faces of the {split} split")
    return nhwc_images(images[keep], f"{path}[{split}]")


def to_grey(images: np.ndarray) -> np.ndarray:
    """uint8 NHWC RGB -> uint8 NHW1 luma (ITU-R BT.601: 0.299 R + 0.587 G + 0.114 B, what PIL's "L" computes)."""
    luma = images[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.clip(np.rint(luma), 0, 255).astype(np.uint8)[..., None]


def sobel_edges(images: np.ndarray) -> np.ndarray:
    """uint8 NHWC (RGB or grey) -> uint8 NHW1 edge maps: dark lines on white, like pix2pix's edges2* sources.

    The Sobel gradient magnitude of the luma (reflect-padded), inverted: 255 - min(|grad|, 255). Deterministic
    and per image, so users can make the same input for the edges->face model from their own pictures.
    """
    grey = to_grey(images) if images.shape[-1] == 3 else images
    x = torch.from_numpy(grey[..., 0].astype(np.float32))[:, None]  # (N, 1, H, W)
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    kernels = torch.stack([kx, kx.T])[:, None]  # (2, 1, 3, 3): d/dx, d/dy
    grad = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), kernels)  # (N, 2, H, W)
    magnitude = grad.pow(2).sum(1).sqrt()
    return (255 - magnitude.clamp(0, 255)).round().to(torch.uint8).numpy()[..., None]


def celeba_faces(
    path: str | os.PathLike,
    *,
    split: str = "train",
    image_size: int | None = None,
    channels: int | None = None,
    resize: bool = False,
) -> InMemoryData:
    """The faces of one split of CelebA's official partition as ``{"image"}`` (what super-resolution and
    inpainting degrade on the fly). ``split``: train, val, test or all."""
    faces = celeba_split(path, split)
    images = _fit_images(faces, image_size, channels, resize, f"{Path(path).name}[{split}]")
    return InMemoryData({"image": _nchw(images)}, description=f"CelebA faces ({split}, {len(images)})")


def _celeba_pairs(path, split, make_source, task, image_size, channels, resize) -> InMemoryData:
    faces = celeba_split(path, split)
    source_name = f"{Path(path).name}[{split}]"
    colour = _fit_images(faces, image_size, 3, resize, source_name)  # the source is made from the colour faces
    # a colour target is that same array (resized once); another channel count is fitted on its own
    target = colour if channels in (None, 3) else _fit_images(faces, image_size, channels, resize, source_name)
    source = make_source(colour)
    return InMemoryData(
        {"source": _nchw(source), "target": _nchw(target)},
        description=f"CelebA {task} ({split}, {len(target)} pairs)",
    )


def celeba_colorize(
    path: str | os.PathLike,
    *,
    split: str = "train",
    image_size: int | None = None,
    channels: int | None = None,
    resize: bool = False,
) -> InMemoryData:
    """Greyscale -> colour faces (Isola et al. 2017's colourisation task on CelebA): ``{"source", "target"}`` with
    the BT.601 luma of each face as its 1-channel source. ``split``: train, val, test or all."""
    return _celeba_pairs(path, split, to_grey, "colourisation", image_size, channels, resize)


def celeba_edges(
    path: str | os.PathLike,
    *,
    split: str = "train",
    image_size: int | None = None,
    channels: int | None = None,
    resize: bool = False,
) -> InMemoryData:
    """Edges -> faces (pix2pix's edges2* tasks): ``{"source", "target"}`` with ``sobel_edges`` of each face as
    its 1-channel source. ``split``: train, val, test or all."""
    return _celeba_pairs(path, split, sobel_edges, "edges to faces", image_size, channels, resize)


def _class_index(value: int | str) -> int:
    if isinstance(value, str) and not value.isdigit():
        names = [c.lower() for c in FASHION_MNIST_CLASSES]
        if value.lower() not in names:
            raise DataError(f"unknown Fashion-MNIST class {value!r}; choose from {', '.join(FASHION_MNIST_CLASSES)}")
        return names.index(value.lower())
    index = int(value)
    if not 0 <= index < len(FASHION_MNIST_CLASSES):
        raise DataError(f"Fashion-MNIST classes are 0 to {len(FASHION_MNIST_CLASSES) - 1}, got {index}")
    return index


def fashion_mnist_unpaired(
    path: str | os.PathLike,
    *,
    a: int | str = "sandal",
    b: int | str = "sneaker",
    split: str = "train",
    image_size: int | None = None,
    channels: int | None = None,
    resize: bool = False,
) -> InMemoryData:
    """Two Fashion-MNIST classes as two unpaired domains ``{"a", "b"}`` (CycleGAN; default sandal -> sneaker,
    6,000 training pictures each). ``a``/``b``: class index or name; ``image_size=32`` pads exactly."""
    ia, ib = _class_index(a), _class_index(b)
    if ia == ib:
        raise DataError(f"a and b are both class {FASHION_MNIST_CLASSES[ia]!r}; pick two different classes")
    data = fashion_mnist(path, split=split, image_size=image_size, channels=channels, resize=resize)
    images, labels = data.fields["image"], data.fields["label"]
    fields = {"a": images[labels == ia].clone(), "b": images[labels == ib].clone()}
    names = FASHION_MNIST_CLASSES[ia], FASHION_MNIST_CLASSES[ib]
    return InMemoryData(
        fields,
        unpaired=True,
        description=f"Fashion-MNIST {split}: {names[0]} ({len(fields['a'])}) <-> {names[1]} ({len(fields['b'])})",
    )


@ganzoo.hookimpl
def register_datasets(register):
    """Register the built-in translation tasks."""
    register(
        "celeba",
        celeba_faces,
        needs_path=True,
        description="CelebA faces of one split of the official partition, {image} (split=train|val|test|all)",
    )
    register(
        "celeba-colorize",
        celeba_colorize,
        needs_path=True,
        description="CelebA faces as {source: greyscale, target: colour} pairs (split=train|val|test|all)",
    )
    register(
        "celeba-edges",
        celeba_edges,
        needs_path=True,
        description="CelebA faces as {source: Sobel edges, target: face} pairs (split=train|val|test|all)",
    )
    register(
        "fashion-mnist-unpaired",
        fashion_mnist_unpaired,
        needs_path=True,
        description="two Fashion-MNIST classes as unpaired domains {a, b} (a=sandal, b=sneaker; split=train|test)",
    )
