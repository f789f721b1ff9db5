"""Built-in data sources: ``.npz`` image arrays, image folders, Fashion-MNIST, and 2-D Gaussian mixtures.

Every source loads the whole set into memory once, as uint8 (images) or float (points), so batches cost an
index-select (see ``ganzoo.data``). The readers here (``open_npz``, ``nhwc_images``, ``_fit_images``,
``list_files``, ``decode_all``, ``_square``, ``_to_tensor``) are shared with ``ganzoo.plugins.image_pairs``.
"""

from __future__ import annotations

import math
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch

import ganzoo
from ganzoo.data import InMemoryData
from ganzoo.errors import DataError
from ganzoo.npzfile import NpzArchive
from ganzoo.pictures import open_picture

NPZ_KEYS = ("images", "x_train", "x", "arr_0")
#: Fashion-MNIST's ten classes, in label order (Xiao, Rasul and Vollgraf 2017).
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
FASHION_MNIST_SIZE, FASHION_MNIST_PADDED = 28, 32
# CelebA's img_align_celeba pictures are 178x218; the usual crop is the 178x178 square from row 20.
CELEBA_SIZE, CELEBA_BOX = (178, 218), (0, 20, 178, 198)


# -- 2-D mixtures ------------------------------------------------------------------------------------------------


def mixture_centres(name: str) -> np.ndarray:
    """Mode centres: ring-8 (radius 2) or grid-25 (-4..4 step 2), as in the VEEGAN and PacGAN papers."""
    if name == "ring-8":
        angles = 2 * math.pi * np.arange(8) / 8
        return np.stack([2 * np.cos(angles), 2 * np.sin(angles)], axis=1)
    if name == "grid-25":
        return np.array([(x, y) for x in range(-4, 5, 2) for y in range(-4, 5, 2)], dtype=np.float64)
    raise ValueError(f"unknown mixture {name!r}")


MIXTURE_STD = {"ring-8": 0.02, "grid-25": 0.05}


def gaussian_mixture(name: str, n: int = 100_000, seed: int = 0, std: float | None = None) -> InMemoryData:
    """``n`` points from the equally weighted mixture ``name`` (ring-8 or grid-25)."""
    centres = mixture_centres(name)
    rng = np.random.default_rng(seed)
    which = rng.integers(len(centres), size=n)
    points = centres[which] + rng.normal(scale=std or MIXTURE_STD[name], size=(n, 2))
    return InMemoryData(
        torch.from_numpy(points.astype(np.float32)),
        torch.from_numpy(which),
        description=f"{name} ({n} points)",
    )


# -- image arrays ---------------------------------------------------------------------------------------------


def open_npz(path: Path) -> NpzArchive:
    """Open a ``.npz`` archive for reading arrays (never unpickling; sizes checked before decompressing, see
    ``ganzoo.npzfile``); use it as a context manager."""
    return NpzArchive(path)


def check_image_header(
    archive: NpzArchive, key: str, image_size: int | None, channels: int | None, resize: bool
) -> None:
    """Refuse an image array from its ``.npy`` header alone, before decompressing it: not uint8, not an image
    layout, or pictures of another size or channel count than the model's when they may not be resized."""
    shape, dtype = archive.header(key)
    source = f"{archive.path}[{key!r}]"
    if dtype != np.uint8:
        raise DataError(f"{source} has dtype {dtype}; ganzoo reads uint8 images in [0, 255]")
    if len(shape) == 3:
        h, w, c = *shape[1:], 1
    elif len(shape) == 4 and shape[-1] in (1, 3, 4):
        h, w, c = shape[1:]
    elif len(shape) == 4 and shape[1] in (1, 3, 4):
        c, h, w = shape[1:]
    else:
        raise DataError(f"{source} has shape {shape}; expected (N, H, W[, C]) with C in 1, 3, 4")
    c = min(c, 3)  # alpha is dropped
    fits = (image_size is None or h == w == image_size) and (channels is None or c == channels)
    if not fits and not resize:
        raise _misfit(h, w, c, image_size, channels, source)


def nhwc_images(images: np.ndarray, source: str) -> np.ndarray:
    """A uint8 image array as stored, ``(N, H, W)``, ``(N, H, W, C)`` or ``(N, C, H, W)``, as ``(N, H, W, C)``
    with C 1 or 3 (alpha dropped). ``source`` names the array in error messages."""
    if images.dtype != np.uint8:
        raise DataError(f"{source} has dtype {images.dtype}; ganzoo reads uint8 images in [0, 255]")
    if images.ndim == 3:
        images = images[..., None]
    elif images.ndim == 4 and images.shape[1] in (1, 3, 4) and images.shape[-1] not in (1, 3, 4):
        images = images.transpose(0, 2, 3, 1)
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
        raise DataError(f"{source} has shape {images.shape}; expected (N, H, W[, C]) with C in 1, 3, 4")
    if len(images) == 0:
        raise DataError(f"{source} holds no images")
    if images.shape[-1] == 4:
        images = images[..., :3]  # drop alpha
    return images


def _fit_images(
    images: np.ndarray, image_size: int | None, channels: int | None, resize: bool, source: str
) -> np.ndarray:
    """uint8 NHWC -> NHWC of the wanted size and channels (resizing only when allowed)."""
    n, h, w, c = images.shape
    size_ok = image_size is None or (h == w == image_size)
    channels_ok = channels is None or c == channels
    if size_ok and channels_ok:
        return images
    if not resize:
        raise _misfit(h, w, c, image_size, channels, source)
    from PIL import Image

    mode = "L" if (channels or c) == 1 else "RGB"
    out = np.empty((n, image_size or h, image_size or w, 1 if mode == "L" else 3), np.uint8)
    for i, array in enumerate(images):
        picture = Image.fromarray(array[..., 0] if c == 1 else array).convert(mode)
        picture = _square(picture).resize((image_size or h, image_size or w), Image.LANCZOS)
        out[i] = np.asarray(picture).reshape(out.shape[1:])
    return out


def _misfit(h: int, w: int, c: int, image_size: int | None, channels: int | None, source: str) -> DataError:
    """The error for images of another size or channel count than the model's, with how to fix it."""
    return DataError(
        f"{source} holds {h}x{w} images with {c} channel(s), but the model needs {image_size or h}x"
        f"{image_size or w} with {channels or c} channel(s). Pass resize=True (CLI: --resize) to resize and "
        "convert them on load, or " + _fit_model_hint(h, w, c)
    )


def _fit_model_hint(h: int, w: int, c: int) -> str:
    """How to set the model's size and channels closer to ``h`` x ``w`` x ``c`` images, in sizes models accept.

    Image architectures take power-of-two sizes (DCGAN: 16 to 256), so 28x28 data is pointed at 32 plus a resize,
    never at ``image_size=28``.
    """
    side = max(h, w)
    size = min(max(16, 1 << (side - 1).bit_length()), 256)  # the nearest power of two at or above, in 16..256
    if h == w == size:
        return (
            f"set the model's image_size={size} channels={c} (CLI: --set image_size={size} --set channels={c}; "
            f"Python: image_size={size}, channels={c})."
        )
    return (
        f"set the model closer to the data and resize: image_size={size} channels={c} with resize=True (CLI: "
        f"--set image_size={size} --set channels={c} --resize). The image size must be one the architecture "
        f"accepts (DCGAN: a power of two from 16 to 256), so {h}x{w} images need resizing."
    )


def _square(picture):
    """The centred square crop of a PIL picture (CelebA's 178x218 pictures: their usual crop)."""
    w, h = picture.size
    if (w, h) == CELEBA_SIZE:
        return picture.crop(CELEBA_BOX)
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return picture.crop((left, top, left + side, top + side))


def _to_tensor(images: np.ndarray, description: str, labels: np.ndarray | None = None) -> InMemoryData:
    """uint8 NHWC images (and optional labels) -> an ``InMemoryData`` of NCHW uint8 (and int64 labels)."""
    data = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))  # NHWC -> NCHW, uint8
    return InMemoryData(
        data, None if labels is None else torch.from_numpy(labels.astype(np.int64)), description=description
    )


def npz_images(
    path: str | os.PathLike,
    *,
    key: str | None = None,
    image_size: int | None = None,
    channels: int | None = None,
    resize: bool = False,
) -> InMemoryData:
    """uint8 images from a ``.npz`` file: ``(N, H, W, C)``, ``(N, H, W)`` or ``(N, C, H, W)``."""
    path = Path(path)
    with open_npz(path) as archive:
        keys = list(archive.keys())
        if key is None:
            key = next((k for k in NPZ_KEYS if k in keys), keys[0] if len(keys) == 1 else None)
        if key not in keys:
            raise DataError(f"{path} has arrays {keys}; choose one with key=... (CLI: --data-key)")
        check_image_header(archive, key, image_size, channels, resize)
        images = archive[key]
        label_key = {"images": "labels", "x_train": "y_train", "x": "y"}.get(key)
        labels = archive[label_key] if label_key in keys else None
    images = nhwc_images(images, f"{path}[{key!r}]")
    if labels is not None and (
        labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer) or (labels < 0).any()
    ):
        raise DataError(
            f"{path}[{label_key!r}] has shape {labels.shape} and dtype {labels.dtype}; class labels are "
            f"{len(images)} non-negative integers, one per image (or leave the array out)"
        )
    images = _fit_images(images, image_size, channels, resize, f"{path}[{key!r}]")
    return _to_tensor(images, f"{path.name} ({len(images)} images)", labels)


# -- Fashion-MNIST ---------------------------------------------------------------------------------------------


def fashion_mnist(
    path: str | os.PathLike,
    *,
    split: str = "train",
    image_size: int | None = None,
    channels: int | None = None,
    resize: bool = False,
) -> InMemoryData:
    """Fashion-MNIST (Xiao, Rasul and Vollgraf 2017) from its Keras-layout ``.npz``, with labels.

    ``path`` is the ``.npz`` holding ``x_train``/``y_train`` and ``x_test``/``y_test`` (or a folder holding
    ``fashion_mnist.npz``); ``split`` is ``"train"`` (60,000 pictures) or ``"test"`` (10,000). Yields
    ``{"image", "label"}``: 28x28 greyscale uint8 pictures and int64 labels 0-9; the returned data's ``classes``
    names them (``FASHION_MNIST_CLASSES``: T-shirt/top, Trouser, ..., Ankle boot).

    ``image_size=32`` zero-pads the pictures by 2 pixels on every side, no ``resize`` needed: the background of
    Fashion-MNIST is exactly 0, so the padded picture is the original on a larger canvas, pixel for pixel
    (resizing would resample, and blur, every picture). Any other size needs ``resize=True`` (LANCZOS resizing);
    ``channels=3`` needs ``resize=True`` too (the grey value copied to R, G and B). Otherwise a ``DataError`` says
    what to set.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "fashion_mnist.npz"
    if split not in ("train", "test"):
        raise DataError(f"fashion-mnist: split={split!r}; choose split='train' (60,000 pictures) or 'test' (10,000)")
    x_key, y_key = f"x_{split}", f"y_{split}"
    with open_npz(path) as archive:
        keys = list(archive.keys())
        if x_key not in keys or y_key not in keys:
            raise DataError(
                f"{path} has arrays {keys}, not {x_key!r} and {y_key!r}: fashion-mnist reads the Keras layout "
                "(x_train, y_train, x_test, y_test). For other image arrays use the plain .npz source (--data FILE)."
            )
        images, labels = archive[x_key], archive[y_key]
    source = f"{path}[{x_key!r}]"
    images = nhwc_images(images, source)
    n, h, w, _ = images.shape
    if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{path}[{y_key!r}] has shape {labels.shape} and dtype {labels.dtype}; expected {n} integers")
    if labels.min() < 0 or labels.max() >= len(FASHION_MNIST_CLASSES):
        raise DataError(f"{path}[{y_key!r}] has labels outside 0-9 ({labels.min()}..{labels.max()})")
    if image_size == FASHION_MNIST_PADDED and (h, w) == (FASHION_MNIST_SIZE, FASHION_MNIST_SIZE):
        margin = (FASHION_MNIST_PADDED - FASHION_MNIST_SIZE) // 2
        images = np.pad(images, ((0, 0), (margin, margin), (margin, margin), (0, 0)))  # the background is 0
    elif image_size not in (None, h) and not resize:
        raise DataError(
            f"fashion-mnist pictures are {h}x{w}; image_size={FASHION_MNIST_PADDED} pads them exactly (no resize), "
            f"but image_size={image_size} needs resize=True (CLI: --resize) to resize them, or set the model's "
            f"image_size={FASHION_MNIST_PADDED} (CLI: --set image_size={FASHION_MNIST_PADDED})."
        )
    if channels not in (None, images.shape[-1]) and not resize:
        raise DataError(
            f"fashion-mnist is greyscale (1 channel), but the model wants channels={channels}: set the model's "
            "channels=1 (CLI: --set channels=1), or pass resize=True (CLI: --resize) to convert to RGB on load."
        )
    images = _fit_images(images, image_size, channels, resize, source)
    data = _to_tensor(images, f"Fashion-MNIST {split} ({len(images)} images, 10 classes)", labels)
    data.classes = FASHION_MNIST_CLASSES
    return data


# -- image folders ---------------------------------------------------------------------------------------------


def _read_image(path: Path, image_size: int, mode: str) -> np.ndarray | Exception:
    from PIL import Image

    try:
        picture = open_picture(path, size=image_size)
        picture = _square(picture.convert(mode)).resize((image_size, image_size), Image.LANCZOS)
        return np.asarray(picture).reshape(image_size, image_size, -1)
    except Exception as exc:
        return exc


def image_folder(
    path: str | os.PathLike,
    *,
    image_size: int | None = None,
    channels: int | None = None,
    resize: bool = True,
    progress: bool = True,
) -> InMemoryData:
    """Every PIL-readable picture under ``path`` (recursively), centre-cropped and resized to ``image_size``.

    Pictures in a folder come in all sizes, so they are always fitted to the model (``resize`` is accepted for
    a uniform interface with ``npz`` and ignored).

    CelebA's 178x218 ``img_align_celeba`` pictures get their usual crop (the 178x178 square from row 20).
    Unreadable files are skipped with a warning that counts them; no readable file at all is an error.
    """
    root = Path(path)
    image_size = image_size or 64
    mode = "L" if channels == 1 else "RGB"
    images = decode_all(list_files(root), lambda p: _read_image(p, image_size, mode), root, progress)
    return _to_tensor(np.stack(images), f"{root.name} ({len(images)} images)")


def list_files(root: Path) -> list[Path]:
    """The files under ``root`` (recursively, hidden ones left out), sorted; an empty folder is an error."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise DataError(f"the image folder {root} is empty")
    return files


def decode_all(files: list[Path], read: Any, root: Path, progress: bool = True) -> list[Any]:
    """``read(file)`` for every file on a thread pool (PIL decodes without the GIL), in order.

    ``read`` returns the decoded value or the ``Exception`` it met; those files are skipped with one warning that
    counts them, and no readable file at all is an error.
    """
    from tqdm.auto import tqdm

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        results = list(
            tqdm(
                pool.map(read, files),
                total=len(files),
                desc=f"reading {root.name}",
                unit="img",
                disable=not progress,
                leave=False,
            )
        )
    decoded = [r for r in results if not isinstance(r, Exception)]
    failed = [(f, r) for f, r in zip(files, results, strict=True) if isinstance(r, Exception)]
    if not decoded:
        raise DataError(
            f"none of the {len(files)} files in {root} is a readable image (e.g. {failed[0][0].name}: {failed[0][1]})"
        )
    if failed:
        warnings.warn(
            f"skipped {len(failed)} unreadable file(s) of {len(files)} in {root} "
            f"(e.g. {failed[0][0].name}: {failed[0][1]})",
            stacklevel=3,
        )
    return decoded


@ganzoo.hookimpl
def register_datasets(register):
    """Register the built-in sources: the 2-D mixtures, .npz arrays, Fashion-MNIST and image folders."""
    register(
        "ring-8",
        lambda **kw: gaussian_mixture("ring-8", **kw),
        description="8 Gaussians on a circle of radius 2, std 0.02 (VEEGAN/PacGAN)",
    )
    register(
        "grid-25",
        lambda **kw: gaussian_mixture("grid-25", **kw),
        description="25 Gaussians on a 5x5 grid, spacing 2, std 0.05 (VEEGAN/PacGAN)",
    )
    register(
        "npz",
        npz_images,
        needs_path=True,
        description="uint8 image arrays in a .npz file (keys images / x_train / x / arr_0)",
    )
    register(
        "fashion-mnist",
        fashion_mnist,
        needs_path=True,
        description="Fashion-MNIST from its Keras-layout .npz: 28x28 greyscale, labels 0-9 (split=train|test); "
        "image_size=32 zero-pads exactly",
    )
    register(
        "image-folder",
        image_folder,
        needs_path=True,
        description="a folder of image files, centre-cropped (CelebA crop for 178x218) and resized",
    )
