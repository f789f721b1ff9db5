"""Image-to-image data: aligned pairs (pix2pix) and two unpaired domains (CycleGAN), from folders or ``.npz``.

- ``paired-npz:FILE``: two aligned uint8 arrays ``source``/``target`` (or ``a``/``b``) -> ``{"source", "target"}``;
- ``paired-folder:DIR``: pix2pix's layout (Isola et al. 2017, "Image-to-Image Translation with Conditional
  Adversarial Networks"): every picture is the A and B pictures side by side -> ``{"source", "target"}``;
- ``unpaired-folder:DIR``: CycleGAN's layout (Zhu et al. 2017, "Unpaired Image-to-Image Translation using
  Cycle-Consistent Adversarial Networks"): ``trainA/`` and ``trainB/`` (``testA/``, ``testB/``) -> ``{"a", "b"}``;
- ``unpaired-npz:FILE``: arrays ``a`` and ``b`` of any lengths -> ``{"a", "b"}``.

Aligned pairs are one ``InMemoryData`` whose two fields share their rows, so every batch keeps each source with its
own target; unpaired domains are ``unpaired=True``: each field is its own stream with its own length and shuffle.
The readers are ``ganzoo.plugins.datasets``'s (array layouts, resize rules, parallel PIL decoding).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

import ganzoo
from ganzoo.data import InMemoryData
from ganzoo.errors import DataError
from ganzoo.pictures import open_picture
from ganzoo.plugins.datasets import _fit_images, _square, decode_all, image_folder, list_files, nhwc_images, open_npz

#: pix2pix and CycleGAN train at 256x256: the size folders are read at when the model does not say.
DEFAULT_FOLDER_SIZE = 256
DIRECTIONS = ("AtoB", "BtoA")


def _nchw(images: np.ndarray) -> torch.Tensor:
    """uint8 NHWC -> a contiguous uint8 NCHW tensor."""
    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))


def _read_arrays(path: Path, wanted: dict[str, tuple[str, ...]], layout: str) -> dict[str, tuple[str, np.ndarray]]:
    """For each field, the first of its candidate keys that ``path`` holds: ``{field: (key, NHWC uint8 array)}``."""
    with open_npz(path) as archive:
        keys = list(archive.keys())
        chosen = {field: next((k for k in candidates if k in keys), None) for field, candidates in wanted.items()}
        missing = [field for field, key in chosen.items() if key is None]
        if missing:
            asked = ", ".join(f"{field}: {' or '.join(map(repr, wanted[field]))}" for field in missing)
            raise DataError(f"{path} has arrays {keys}, missing {asked}. {layout}")
        arrays = {field: archive[key] for field, key in chosen.items()}
    return {field: (chosen[field], nhwc_images(array, f"{path}[{chosen[field]!r}]")) for field, array in arrays.items()}


def paired_npz(
    path: str | os.PathLike,
    *,
    source_key: str | None = None,
    target_key: str | None = None,
    image_size: int | None = None,
    channels: int | None = None,
    source_channels: int | None = None,
    resize: bool = False,
) -> InMemoryData:
    """Aligned image pairs (pix2pix-style data, Isola et al. 2017) from a ``.npz`` -> ``{"source", "target"}``.

    The file holds two uint8 arrays of the same length, row ``i`` of one paired with row ``i`` of the other:
    ``source`` and ``target`` (or ``a`` and ``b``; others by ``source_key=`` / ``target_key=``), each in any layout
    the ``.npz`` source reads (``(N, H, W)``, ``(N, H, W, C)``, ``(N, C, H, W)``). Both are fitted to
    ``image_size``; the target to ``channels``, the source to ``source_channels`` (kept as stored when not given,
    e.g. 1-channel sketches for 3-channel photos). Sizes and channels that differ from the model's need
    ``resize=True``, exactly as for the ``.npz`` source.
    """
    path = Path(path)
    wanted = {
        "source": (source_key,) if source_key else ("source", "a"),
        "target": (target_key,) if target_key else ("target", "b"),
    }
    layout = (
        "A paired .npz holds two aligned arrays 'source' and 'target' (or 'a' and 'b'); name others with "
        "source_key=... and target_key=... (CLI: --data-option source_key=NAME)."
    )
    arrays = _read_arrays(path, wanted, layout)
    (source_name, source), (target_name, target) = arrays["source"], arrays["target"]
    if source_name == target_name:
        raise DataError(f"{path}: source and target are both the array {source_name!r}; name two different arrays")
    if len(source) != len(target):
        raise DataError(
            f"{path}: {source_name!r} has {len(source)} images but {target_name!r} has {len(target)}; aligned pairs "
            "need one target per source, in the same order. For two unpaired domains use unpaired-npz:FILE."
        )
    source = _fit_images(source, image_size, source_channels, resize, f"{path}[{source_name!r}]")
    target = _fit_images(target, image_size, channels, resize, f"{path}[{target_name!r}]")
    return InMemoryData(
        {"source": _nchw(source), "target": _nchw(target)}, description=f"{path.name} ({len(source)} pairs)"
    )


def unpaired_npz(
    path: str | os.PathLike,
    *,
    a_key: str = "a",
    b_key: str = "b",
    image_size: int | None = None,
    channels: int | None = None,
    resize: bool = False,
) -> InMemoryData:
    """Two unpaired image domains (CycleGAN-style data, Zhu et al. 2017) from a ``.npz`` -> ``{"a", "b"}``.

    Arrays ``a`` and ``b`` (others by ``a_key=`` / ``b_key=``) of any lengths, in any ``.npz`` image layout, each
    fitted to ``image_size`` and ``channels`` (``resize=True`` when they differ, as for the ``.npz`` source). Each
    domain is its own stream with its own shuffle (``unpaired=True``).
    """
    path = Path(path)
    layout = "An unpaired .npz holds arrays 'a' and 'b' (any lengths); name others with a_key=... and b_key=..."
    arrays = _read_arrays(path, {"a": (a_key,), "b": (b_key,)}, layout)
    fields = {
        field: _nchw(_fit_images(images, image_size, channels, resize, f"{path}[{key!r}]"))
        for field, (key, images) in arrays.items()
    }
    return InMemoryData(
        fields, unpaired=True, description=f"{path.name} ({len(fields['a'])} A, {len(fields['b'])} B images)"
    )


def _read_pair(path: Path, image_size: int, modes: tuple[str, str], swap: bool) -> np.ndarray | Exception:
    """One pix2pix picture (A | B side by side) -> ``(source, target)`` as HWC uint8 arrays, or the error met."""
    from PIL import Image

    try:
        picture = open_picture(path)
        w, h = picture.size
        if w % 2:
            raise ValueError(f"it is {w}x{h}: an A|B pair is two pictures side by side, so its width is even")
        halves = [picture.crop((0, 0, w // 2, h)), picture.crop((w // 2, 0, w, h))]
        if swap:
            halves.reverse()
        return tuple(
            np.asarray(_square(half.convert(mode)).resize((image_size, image_size), Image.LANCZOS)).reshape(
                image_size, image_size, -1
            )
            for half, mode in zip(halves, modes, strict=True)
        )
    except Exception as exc:
        return exc


def paired_folder(
    path: str | os.PathLike,
    *,
    direction: str = "AtoB",
    image_size: int | None = None,
    channels: int | None = None,
    source_channels: int | None = None,
    resize: bool = True,
    progress: bool = True,
) -> InMemoryData:
    """pix2pix's aligned layout (Isola et al. 2017) -> ``{"source", "target"}``.

    Every picture under ``path`` (recursively; e.g. ``facades/train``) is an A picture and its B picture side by
    side (width 2W, height H). ``direction="AtoB"`` makes the left half the source and the right half the target;
    ``"BtoA"`` the other way round. Both halves get the same centre crop to a square and are resized to
    ``image_size`` (default 256, pix2pix's), so they stay aligned; the target gets ``channels`` (1: greyscale,
    else RGB), the source ``source_channels`` (default: the target's). Pictures in a folder are always fitted to the
    model (``resize`` is accepted and ignored, as for image folders). Unreadable files, and pictures of odd width,
    are skipped with a warning that counts them.
    """
    if direction not in DIRECTIONS:
        raise DataError(f"paired-folder: direction={direction!r}; choose 'AtoB' (left half -> right) or 'BtoA'")
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"paired-folder reads a folder of A|B pictures, and {root} is not a folder")
    image_size = image_size or DEFAULT_FOLDER_SIZE
    target_mode = "L" if channels == 1 else "RGB"
    source_mode = target_mode if source_channels is None else ("L" if source_channels == 1 else "RGB")
    pairs = decode_all(
        list_files(root),
        lambda p: _read_pair(p, image_size, (source_mode, target_mode), direction == "BtoA"),
        root,
        progress,
    )
    source, target = (np.stack(half) for half in zip(*pairs, strict=True))
    return InMemoryData(
        {"source": _nchw(source), "target": _nchw(target)},
        description=f"{root.name} ({len(pairs)} pairs, {direction})",
    )


def unpaired_folder(
    path: str | os.PathLike,
    *,
    split: str = "train",
    image_size: int | None = None,
    channels: int | None = None,
    resize: bool = True,
    progress: bool = True,
) -> InMemoryData:
    """CycleGAN's unpaired layout (Zhu et al. 2017) -> ``{"a", "b"}``, two independent streams.

    ``path`` holds ``trainA/`` and ``trainB/`` (``split="test"``: ``testA/`` and ``testB/``), each read like an
    image folder: every readable picture, centre-cropped and resized to ``image_size`` (default 256, CycleGAN's),
    ``channels`` 1 (greyscale) or 3. The domains may hold different numbers of pictures; each is shuffled on its
    own (``unpaired=True``). ``resize`` is accepted and ignored (folders are always fitted to the model).
    """
    if split not in ("train", "test"):
        raise DataError(f"unpaired-folder: split={split!r}; choose 'train' (trainA/trainB) or 'test' (testA/testB)")
    root = Path(path)
    folders = {field: root / f"{split}{field.upper()}" for field in ("a", "b")}
    for folder in folders.values():
        if not folder.is_dir():
            found = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
            raise DataError(
                f"{root} has no {folder.name}/ folder (subfolders: {found or 'none'}). unpaired-folder reads "
                f"CycleGAN's layout: {split}A/ and {split}B/ beside each other, one folder of pictures per domain."
            )
    image_size = image_size or DEFAULT_FOLDER_SIZE
    fields = {
        field: image_folder(folder, image_size=image_size, channels=channels, progress=progress).data
        for field, folder in folders.items()
    }
    return InMemoryData(
        fields,
        unpaired=True,
        description=f"{root.name} {split} ({len(fields['a'])} A, {len(fields['b'])} B images)",
    )


@ganzoo.hookimpl
def register_datasets(register):
    """Register the pix2pix and CycleGAN data sources."""
    register(
        "paired-npz",
        paired_npz,
        needs_path=True,
        description="aligned pairs {source, target} from a .npz with arrays source/target (or a/b)",
    )
    register(
        "paired-folder",
        paired_folder,
        needs_path=True,
        description="aligned pairs {source, target} from pix2pix's A|B side-by-side pictures (direction=AtoB|BtoA)",
    )
    register(
        "unpaired-folder",
        unpaired_folder,
        needs_path=True,
        description="two unpaired domains {a, b} from CycleGAN's trainA/ and trainB/ folders (split=train|test)",
    )
    register(
        "unpaired-npz",
        unpaired_npz,
        needs_path=True,
        description="two unpaired domains {a, b} from a .npz with arrays a and b (any lengths)",
    )
