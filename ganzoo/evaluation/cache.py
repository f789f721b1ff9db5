"""The reference-feature cache: features of real sets on disk, keyed by the data's hash and the extractor.

The cache lives in ``$GANZOO_CACHE`` or ``~/.cache/ganzoo`` (``reference-features/<key>.npy``); the key is the
sha256 of the reference data's hash (``tensor_sha256``) and the extractor's description (weights, resizing and its
convention, e.g. ``tf1-bilinear``), so features computed under another resize convention are never reused.
The protocol records the file portably: its path inside the cache folder and the features' sha256, never an
absolute local path.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ganzoo.fileio import atomic_path

if TYPE_CHECKING:  # torch is imported where it is used
    import torch


def tensor_sha256(x: torch.Tensor) -> str:
    """sha256 of a tensor's dtype, shape and bytes (identifies a reference set)."""
    digest = hashlib.sha256(f"{x.dtype}{tuple(x.shape)}".encode())
    digest.update(np.ascontiguousarray(x.numpy()).tobytes())
    return digest.hexdigest()


def cache_dir() -> Path:
    """``$GANZOO_CACHE`` or ``~/.cache/ganzoo`` (reference features live in its ``reference-features/``)."""
    return Path(os.environ.get("GANZOO_CACHE") or Path.home() / ".cache" / "ganzoo").expanduser()


def cached_features(
    extractor: Any, samples: torch.Tensor, data_sha: str, folder: Path | None, label: str
) -> tuple[np.ndarray, dict[str, Any]]:
    """Features of a real set, from the cache when the same data and extractor were seen before."""
    info: dict[str, Any] = {"cache": None, "cache_hit": False}
    if folder is None or not extractor.cacheable:
        features = extractor.features(samples, label=label)
    else:
        description = extractor.describe()
        key_text = json.dumps({"data": data_sha, "extractor": description}, sort_keys=True)
        key = hashlib.sha256(key_text.encode()).hexdigest()[:32]
        path = folder / "reference-features" / f"{key}.npy"
        if path.is_file():
            features = np.load(path, allow_pickle=False)  # plain arrays only
            info["cache_hit"] = True
        else:
            features = extractor.features(samples, label=label)
            with atomic_path(path) as tmp, open(tmp, "wb") as f:
                np.save(f, features, allow_pickle=False)
        info["cache"] = path.relative_to(folder).as_posix()  # portable: no local absolute path in eval.json
    info["sha256"] = hashlib.sha256(np.ascontiguousarray(features).tobytes()).hexdigest()
    return features, info
