"""Training data: batches of named fields, drawn fast and resumably.

A batch is a dict of tensors keyed by field name. The fields a data source yields say what it can train:

- ``{"image"}``: unconditional samples (images ``(N, C, H, W)``, or points ``(N, d)`` for 2-D toy data);
- ``{"image", "label"}``: class-conditional data (``label`` int64 ``(N,)``);
- ``{"source", "target"}``: aligned image pairs (pix2pix, restoration);
- ``{"a", "b"}``: two unpaired image streams (CycleGAN), each shuffled on its own.

``data`` may be a registered dataset name (``ring-8``), a ``.npz`` file, an image folder, or any torch
``Dataset`` (items: a tensor, an ``(image, label)`` tuple or a dict of fields). Built-in sources return an
``InMemoryData``: every field held as one tensor (uint8 images or float points), so a batch is one index-select
per field and one conversion, with no per-sample Python and no worker processes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from ganzoo.errors import DataError

IMAGE = "image"
LABEL = "label"
#: Fields a method may ask for, with what they hold (``ganzoo list`` and error messages show these).
KNOWN_FIELDS = {
    "image": "samples: images (N, C, H, W) in [-1, 1] or points (N, d)",
    "label": "class indices, int64 (N,)",
    "source": "input images of aligned pairs",
    "target": "output images of aligned pairs",
    "a": "images of domain A (unpaired)",
    "b": "images of domain B (unpaired)",
}


class InMemoryData(Dataset):
    """A whole data set held as tensors, one per named field.

    ``InMemoryData(images)`` or ``InMemoryData(images, labels)`` for the common cases;
    ``InMemoryData({"source": x, "target": y})`` for any fields. Image fields are uint8 ``(N, C, H, W)`` in
    [0, 255] (scaled to [-1, 1] per batch), sample fields float ``(N, ...)`` already in model units, label fields
    int64 ``(N,)``. Fields of one set share their length and are drawn together (aligned pairs stay aligned);
    with ``unpaired=True`` every field is its own stream with its own length and shuffle (CycleGAN's ``a``/``b``).
    """

    def __init__(
        self,
        data: torch.Tensor | Mapping[str, torch.Tensor],
        labels: torch.Tensor | None = None,
        *,
        description: str = "",
        unpaired: bool = False,
    ) -> None:
        fields = dict(data) if isinstance(data, Mapping) else {IMAGE: data}
        if labels is not None:
            if LABEL in fields:
                raise DataError("labels are given twice: as labels= and as a 'label' field")
            fields[LABEL] = labels
        if not fields:
            raise DataError(f"{description or 'data set'} has no fields")
        for name, tensor in fields.items():
            if not isinstance(tensor, torch.Tensor):
                raise DataError(f"field {name!r} must be a torch.Tensor, got {type(tensor).__name__}")
            if len(tensor) == 0:
                raise DataError(f"{description or 'data set'} is empty (field {name!r} has no rows)")
        lengths = {name: len(t) for name, t in fields.items()}
        if not unpaired and len(set(lengths.values())) > 1:
            raise DataError(
                f"{description or 'data set'}: fields have different lengths {lengths}; aligned fields need one "
                "row each per example. For independent streams (CycleGAN's a/b) pass unpaired=True."
            )
        self.fields = fields
        self.unpaired = unpaired
        self.description = description

    @property
    def data(self) -> torch.Tensor:
        """The main field: ``image`` if there is one, else the first field."""
        return self.fields.get(IMAGE, next(iter(self.fields.values())))

    @property
    def labels(self) -> torch.Tensor | None:
        """The ``label`` field, or None."""
        return self.fields.get(LABEL)

    def __len__(self) -> int:
        return max(len(t) for t in self.fields.values())

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one sample of the main field, e.g. ``(3, 64, 64)`` or ``(2,)``."""
        return tuple(self.data.shape[1:])

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Shape of one row of every field."""
        return {name: tuple(t.shape[1:]) for name, t in self.fields.items()}

    @staticmethod
    def convert(batch: torch.Tensor) -> torch.Tensor:
        """Raw stored values -> model inputs: uint8 images to float in [-1, 1], floats as float32, ints kept."""
        if batch.dtype == torch.uint8:
            return batch.float().div_(127.5).sub_(1.0)
        if batch.is_floating_point():
            return batch.float()
        return batch.long()

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {name: self.convert(t[index % len(t) : index % len(t) + 1])[0] for name, t in self.fields.items()}


def field_shapes(dataset: Dataset) -> dict[str, tuple[int, ...]]:
    """The fields one batch of ``dataset`` will hold, with one row's shape (reads one item if it must)."""
    if isinstance(dataset, InMemoryData):
        return dataset.shapes()
    return {name: tuple(torch.as_tensor(value).shape) for name, value in as_fields(dataset[0]).items()}


def as_fields(item: Any) -> dict[str, Any]:
    """One item (or collated batch) of a torch Dataset as named fields: a tensor is ``image``, a tuple is
    ``(image, label)``, a dict is kept."""
    if isinstance(item, Mapping):
        return dict(item)
    if isinstance(item, (list, tuple)):
        if len(item) == 1:
            return {IMAGE: item[0]}
        if len(item) == 2:
            return {IMAGE: item[0], LABEL: item[1]}
        raise DataError(
            f"dataset items are {len(item)}-tuples; return a tensor, an (image, label) pair or a dict of fields"
        )
    return {IMAGE: item}


def check_fields(needs: Any, available: Mapping[str, Any], *, method: str, data: str) -> None:
    """A clear error, before any step, when the data lacks a field the method needs."""
    missing = sorted(set(needs) - set(available))
    if missing:
        described = "; ".join(f"{name}: {KNOWN_FIELDS.get(name, 'a field')}" for name in missing)
        raise DataError(
            f"method {method!r} needs batch field(s) {', '.join(missing)} ({described}), but {data} yields "
            f"{', '.join(sorted(available)) or 'nothing'}. Use a data source with those fields (see the README, "
            "'Data'), or another method."
        )


class BatchSampler:
    """Endless shuffled batches of named fields, epoch by epoch, with a state checkpoints resume exactly.

    In-memory data: aligned fields share one permutation; with ``unpaired=True`` each field has its own.
    """

    def __init__(
        self, dataset: Dataset, batch_size: int, *, seed: int, device: torch.device, rank: int = 0, world_size: int = 1
    ) -> None:
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.dataset, self.device = dataset, device
        # Data-parallel runs: every rank draws the same global batch (one permutation, one RNG) and keeps its rows,
        # so N ranks x batch b see exactly what 1 process x batch N*b sees.
        self.rows = slice(rank * batch_size, (rank + 1) * batch_size)
        self.local_batch_size, self.batch_size = batch_size, batch_size * world_size
        self.generator = torch.Generator().manual_seed(seed)
        self.in_memory = isinstance(dataset, InMemoryData)
        if self.in_memory:
            # streams: groups of fields drawn with one permutation
            names = list(dataset.fields)
            self.streams = [[n] for n in names] if dataset.unpaired else [names]
            for stream in self.streams:
                size = len(dataset.fields[stream[0]])
                if size < self.batch_size:
                    raise DataError(
                        f"the data set has {size} samples (field {stream[0]!r}), fewer than batch_size="
                        f"{batch_size}{f' x {world_size} ranks' if world_size > 1 else ''}"
                    )
            # Copy the whole set to the device once; batches are then gathered there.
            self.data = {name: t.to(device) for name, t in dataset.fields.items()}
            self.permutations = [
                torch.randperm(len(dataset.fields[s[0]]), generator=self.generator) for s in self.streams
            ]
            self.positions = [0] * len(self.streams)
        else:
            self._iterator: Iterator[Any] | None = None

    def __iter__(self) -> BatchSampler:
        return self

    def __next__(self) -> dict[str, torch.Tensor]:
        if not self.in_memory:
            return self._next_from_loader()
        batch = {}
        for i, stream in enumerate(self.streams):
            if self.positions[i] + self.batch_size > len(self.permutations[i]):
                self.permutations[i] = torch.randperm(len(self.permutations[i]), generator=self.generator)
                self.positions[i] = 0
            index = self.permutations[i][self.positions[i] : self.positions[i] + self.batch_size][self.rows]
            index = index.to(self.device)
            self.positions[i] += self.batch_size
            for name in stream:
                batch[name] = InMemoryData.convert(self.data[name].index_select(0, index))
        return batch

    @property
    def position(self) -> int:
        """Samples drawn in the current epoch of the first stream."""
        return self.positions[0] if self.in_memory else 0

    def _next_from_loader(self) -> dict[str, torch.Tensor]:
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
        out = {}
        for name, value in as_fields(batch).items():
            value = torch.as_tensor(value)[self.rows].to(self.device, non_blocking=True)
            out[name] = value.float() if value.is_floating_point() or value.dtype == torch.uint8 else value.long()
        return out

    def state_dict(self) -> dict[str, torch.Tensor]:
        """RNG and epoch positions, as tensors (checkpoints are safetensors)."""
        state = {"generator": self.generator.get_state()}
        if self.in_memory:
            for i, (permutation, position) in enumerate(zip(self.permutations, self.positions, strict=True)):
                state[f"permutation.{i}"] = permutation.clone()
                state[f"position.{i}"] = torch.tensor(position)
        return state

    def check_state(self, state: dict[str, torch.Tensor]) -> str | None:
        """What is wrong with a saved ``state_dict`` for this data (``None``: nothing): the RNG state's shape,
        each stream's permutation (of this data's length, every index once) and position (within the epoch)."""
        if "permutation" in state:  # format 1: one stream
            state = {
                "generator": state.get("generator"),
                "permutation.0": state["permutation"],
                "position.0": state.get("position"),
            }
        reference = self.generator.get_state()
        rng = state.get("generator")
        if rng is None or rng.dtype != reference.dtype or rng.shape != reference.shape:
            return "has no valid RNG state"
        if not self.in_memory:
            return None
        for i, stream in enumerate(self.streams):
            size = len(self.dataset.fields[stream[0]])
            permutation, position = state.get(f"permutation.{i}"), state.get(f"position.{i}")
            if permutation is None or position is None:
                return f"has no permutation/position for stream {i}"
            if permutation.dtype != torch.int64 or permutation.shape != (size,):
                return f"permutes {list(permutation.shape)} {permutation.dtype} rows, but the data has {size}"
            if not torch.equal(permutation.sort().values, torch.arange(size)):
                return f"permutation {i} is not an order of the data's {size} rows (an index out of range or twice)"
            if position.numel() != 1 or position.is_floating_point() or not 0 <= int(position) <= size:
                return f"position {position.flatten()[:1].tolist()} is not within the epoch (0 to {size})"
        return None

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore what ``state_dict`` returned (also a format-1 checkpoint's ``permutation``/``position``)."""
        self.generator.set_state(state["generator"])
        if self.in_memory:
            if "permutation" in state:  # format 1: one stream
                state = {"permutation.0": state["permutation"], "position.0": state["position"]}
            self.permutations = [state[f"permutation.{i}"].clone() for i in range(len(self.streams))]
            self.positions = [int(state[f"position.{i}"]) for i in range(len(self.streams))]


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
            raise DataError(
                f"dataset {text!r} reads files: pass {text}:PATH (e.g. --data {text}:data/file.npz), naming the "
                "file or folder it should read"
            )
        return entry.factory(**options)
    name, sep, rest = text.partition(":")
    if sep and name in registry.datasets and registry.datasets[name].needs_path:  # "paired-npz:FILE" and the like
        path = Path(rest).expanduser()
        if not path.exists():
            raise DataError(f"no such file or folder: {path} (for dataset {name!r})")
        return registry.datasets[name].factory(path=path, **options)
    path = Path(text).expanduser()
    if path.is_file() and path.suffix == ".npz":
        return registry.get("dataset", "npz").factory(path=path, **options)
    if path.is_dir():
        return registry.get("dataset", "image-folder").factory(path=path, **options)
    if path.exists():
        raise DataError(f"{path} is neither a .npz file nor a folder of images")
    if "/" in text or "\\" in text or path.suffix or text.startswith(("~", ".")):
        raise DataError(f"no such file or folder: {path}")
    return registry.get("dataset", text)  # raises UnknownNameError with close matches
