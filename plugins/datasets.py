"""Built-in data sources: ``.npz`` image arrays, image folders, and 2-D Gaussian mixtures.

Every source loads the whole set into memory once, as uint8 (images) or float (points), so batches cost an
index-select (see ``ganzoo.data``).
"""

from __future__ import annotations

import math
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

import ganzoo
from ganzoo.data import InMemoryData
from ganzoo.errors import DataError

NPZ_KEYS = ("images", "x_train", "x", "arr_0")
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
        raise DataError(
            f"{source} holds {h}x{w} images with {c} channel(s), but the model needs {image_size or h}x"
            f"{image_size or w} with {channels or c} channel(s). Pass resize=True (CLI: --resize) to resize and "
            "convert them on load, or " + _fit_model_hint(h, w, c)
        )
    from PIL import Image

    mode = "L" if (channels or c) == 1 else "RGB"
    out = np.empty((n, image_size or h, image_size or w, 1 if mode == "L" else 3), np.uint8)
    for i, array in enumerate(images):
        picture = Image.fromarray(array[..., 0] if c == 1 else array).convert(mode)
        picture = _square(picture).resize((image_size or h, image_size or w), Image.LANCZOS)
        out[i] = np.asarray(picture).reshape(out.shape[1:])
    return out


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
    w, h = picture.size
    if (w, h) == CELEBA_SIZE:
        return picture.crop(CELEBA_BOX)
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return picture.crop((left, top, left + side, top + side))


def _to_tensor(images: np.ndarray, description: str, labels: np.ndarray | None = None) -> InMemoryData:
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
    try:
        archive = np.load(path, allow_pickle=False)  # never unpickle: arrays only
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path} as a .npz archive: {exc}") from exc
    with archive:
        keys = list(archive.keys())
        if key is None:
            key = next((k for k in NPZ_KEYS if k in keys), keys[0] if len(keys) == 1 else None)
        if key not in keys:
            raise DataError(f"{path} has arrays {keys}; choose one with key=... (CLI: --data-key)")
        images = archive[key]
        label_key = {"images": "labels", "x_train": "y_train", "x": "y"}.get(key)
        labels = archive[label_key] if label_key in keys else None
    if images.dtype != np.uint8:
        raise DataError(f"{path}[{key!r}] has dtype {images.dtype}; ganzoo reads uint8 images in [0, 255]")
    if images.ndim == 3:
        images = images[..., None]
    elif images.ndim == 4 and images.shape[1] in (1, 3, 4) and images.shape[-1] not in (1, 3, 4):
        images = images.transpose(0, 2, 3, 1)
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
        raise DataError(f"{path}[{key!r}] has shape {images.shape}; expected (N, H, W[, C]) with C in 1, 3, 4")
    if len(images) == 0:
        raise DataError(f"{path}[{key!r}] holds no images")
    if images.shape[-1] == 4:
        images = images[..., :3]  # drop alpha
    images = _fit_images(images, image_size, channels, resize, f"{path}[{key!r}]")
    return _to_tensor(images, f"{path.name} ({len(images)} images)", labels)


# -- image folders ---------------------------------------------------------------------------------------------


def _read_image(path: Path, image_size: int, mode: str) -> np.ndarray | Exception:
    from PIL import Image

    try:
        with Image.open(path) as picture:
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
    from tqdm.auto import tqdm

    root = Path(path)
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise DataError(f"the image folder {root} is empty")
    image_size = image_size or 64
    mode = "L" if channels == 1 else "RGB"
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:  # PIL decodes without the GIL
        results = list(
            tqdm(
                pool.map(lambda p: _read_image(p, image_size, mode), files),
                total=len(files),
                desc=f"reading {root.name}",
                unit="img",
                disable=not progress,
                leave=False,
            )
        )
    images = [r for r in results if isinstance(r, np.ndarray)]
    failed = [(f, r) for f, r in zip(files, results, strict=True) if not isinstance(r, np.ndarray)]
    if not images:
        raise DataError(
            f"none of the {len(files)} files in {root} is a readable image (e.g. {failed[0][0].name}: {failed[0][1]})"
        )
    if failed:
        warnings.warn(
            f"skipped {len(failed)} unreadable file(s) of {len(files)} in {root} "
            f"(e.g. {failed[0][0].name}: {failed[0][1]})",
            stacklevel=2,
        )
    return _to_tensor(np.stack(images), f"{root.name} ({len(images)} images)")


@ganzoo.hookimpl
def register_datasets(register):
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
        "image-folder",
        image_folder,
        needs_path=True,
        description="a folder of image files, centre-cropped (CelebA crop for 178x218) and resized",
    )
