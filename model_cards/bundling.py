"""What every zoo builder does with a finished run: save its published weights in fp16 into the package's zoo
folder, print the size and the sha256 to pin in ``plugins/zoo.py``, and read the bundle back (its pictures and
card are made from the bundle, so they show what users get)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def bundle_run(run: Path, repo_root: Path, name: str) -> Any:
    """Save the model in ``run`` as ``plugins/zoo/<name>/`` (fp16 safetensors + config.json) and load it back."""
    import torch

    from ganzoo.fileio import sha256_file
    from ganzoo.models.folder import save
    from ganzoo.models.reader import load_folder

    folder = repo_root / "plugins" / "zoo" / name
    save(load_folder(run), folder, dtype=torch.float16)
    weights = folder / "model.safetensors"
    print(f"{name}: {weights.stat().st_size / 1e6:.2f} MB, sha256 {sha256_file(weights)}")
    return load_folder(folder)
