"""Training data: resolving what the user passed, and drawing batches fast.

``data`` may be a registered dataset name (``ring-8``), a ``.npz`` file, an image folder, or any torch
``Dataset``. Built-in sources return an ``InMemoryData``: the whole set as one tensor (uint8 images or float
points), so a batch is one index-select and one conversion, with no per-sample Python and no worker processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from ganzoo.errors import DataError


class InMemoryData(Dataset):
    """A whole data set held as one tensor.

    ``data`` is either uint8 images ``(N, C, H, W)`` in [0, 255] (scaled to [-1, 1] per batch) or float samples
    ``(N, ...)`` already in model units. ``labels`` are optional int64 class indices.
    """

    def __init__(self, data: torch.Tensor, labels: torch.Tensor | None = None, *, description: str = "") -> None:
        if len(data) == 0:
            raise DataError(f"{description or 'data set'} is empty")
        self.data = data
        self.labels = labels
        self.description = description

    def __len__(self) -> int:
        return len(self.data)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one sample, e.g. ``(3, 64, 64)`` or ``(2,)``."""
        return tuple(self.data.shape[1:])

    def convert(self, batch: torch.Tensor) -> torch.Tensor:
        """Raw stored values -> model inputs (uint8 images to float in [-1, 1])."""
        if batch.dtype == torch.uint8:
            return batch.float().div_(127.5).sub_(1.0)
        return batch.float()

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.convert(self.data[index : index + 1])[0]


class BatchSampler:
    """Endless shuffled batches, epoch by epoch, with a state that checkpoints resume exactly."""

    def __init__(self, dataset: Dataset, batch_size: int, *, seed: int, device: torch.device) -> None:
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.dataset, self.batch_size, self.device = dataset, batch_size, device
        self.generator = torch.Generator().manual_seed(seed)
        self.in_memory = isinstance(dataset, InMemoryData)
        if self.in_memory:
            if len(dataset) < batch_size:
                raise DataError(f"the data set has {len(dataset)} samples, fewer than batch_size={batch_size}")
            # Copy the whole set to the device once; batches are then gathered there.
            self.data = dataset.data.to(device)
            self.permutation = torch.randperm(len(dataset), generator=self.generator)
            self.position = 0
        else:
            self._iterator: Iterator[Any] | None = None

    def __next__(self) -> torch.Tensor:
        if not self.in_memory:
            return self._next_from_loader()
        if self.position + self.batch_size > len(self.permutation):
            self.permutation = torch.randperm(len(self.permutation), generator=self.generator)
            self.position = 0
        index = self.permutation[self.position : self.position + self.batch_size].to(self.device)
        self.position += self.batch_size
        return self.dataset.convert(self.data.index_select(0, index))

    def _next_from_loader(self) -> torch.Tensor:
        while True:
            if self._iterator is None:
                loader = DataLoader(
                    self.dataset, self.batch_size, shuffle=True, drop_last=True, generator=self.generator
                )
                self._iterator = iter(loader)
            try:
                batch = next(self._iterator)
                break
            except StopIteration:
                self._iterator = None
        if isinstance(batch, (list, tuple)):  # (images, labels) data sets
            batch = batch[0]
        return batch.to(self.device, non_blocking=True).float()

    def state_dict(self) -> dict[str, torch.Tensor]:
        """RNG and epoch position, as tensors (checkpoints are safetensors)."""
        state = {"generator": self.generator.get_state()}
        if self.in_memory:
            state["permutation"] = self.permutation.clone()
            state["position"] = torch.tensor(self.position)
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore what ``state_dict`` returned."""
        self.generator.set_state(state["generator"])
        if self.in_memory:
            self.permutation = state["permutation"].clone()
            self.position = int(state["position"])


def resolve_data(data: Any, **options: Any) -> Dataset:
    """Turn what the user passed as ``data`` into a Dataset.

    A registered dataset name, a ``.npz`` file, an image folder, or a Dataset (returned as is). ``options`` go
    to the dataset factory (``image_size``, ``channels``, ``key``, ...).
    """
    if isinstance(data, Dataset):
        return data
    from ganzoo.host.manager import get_registry

    registry = get_registry()
    text = str(data)
    if not isinstance(data, Path) and text in registry.datasets:
        entry = registry.datasets[text]
        if entry.needs_path:
            raise DataError(f"dataset {text!r} reads files: pass a path to a .npz file or an image folder")
        return entry.factory(**options)
    path = Path(text).expanduser()
    if path.is_file() and path.suffix == ".npz":
        return registry.get("dataset", "npz").factory(path=path, **options)
    if path.is_dir():
        return registry.get("dataset", "image-folder").factory(path=path, **options)
    if path.exists():
        raise DataError(f"{path} is neither a .npz file nor a folder of images")
    if "/" in text or "\\" in text or path.suffix:
        raise DataError(f"no such file or folder: {path}")
    return registry.get("dataset", text)  # raises UnknownNameError with close matches
