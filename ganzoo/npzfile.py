"""Reading ``.npz`` archives safely: arrays only, sizes checked before anything is decompressed.

``np.load`` trusts the archive: a member whose header declares 122 GB is allocated, a 1 MB zip bomb inflates to
1.2 GB before anyone looks at its shape, a truncated archive surfaces as ``zipfile.BadZipFile`` and a zero-byte
file as ``EOFError`` (which click prints as "Aborted!"). ``NpzArchive`` reads each member's ``.npy`` header first
(shape, dtype; object arrays, i.e. pickles, are refused), lets the caller check the shape, bounds the size by the
memory available, then decompresses exactly the bytes the header promises, no more.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ganzoo.errors import DataError

#: Share of the available memory one array may take (the rest is for the training that reads it).
MEMORY_SHARE = 0.5


def available_memory() -> int:
    """Bytes of memory available now (``MemAvailable`` on Linux; physical memory elsewhere)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def _gb(n: float) -> str:
    return f"{n / 1e9:,.2f} GB"


class NpzArchive:
    """A ``.npz`` file opened for safe reading; use as a context manager.

    ``keys()`` lists the arrays, ``header(key)`` gives ``(shape, dtype)`` without reading data, ``archive[key]``
    reads one array after checking its declared size against ``max_bytes`` (default: half the available memory).
    Every failure is a ``DataError`` naming the file and the member.
    """

    def __init__(self, path: str | os.PathLike, *, max_bytes: int | None = None) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        if not self.path.is_file():
            raise DataError(f"{self.path} is not a regular file; pass a .npz archive written by np.savez")
        if self.path.stat().st_size == 0:
            raise DataError(f"{self.path} is empty (0 bytes); it was not written completely, or not by np.savez")
        try:
            self.zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
            raise DataError(
                f"cannot read {self.path} as a .npz archive ({exc}); it is truncated or not a .npz file "
                "(np.savez writes them; a single .npy array is not one)"
            ) from None
        self.members = {
            info.filename.removesuffix(".npy"): info for info in self.zip.infolist() if info.filename.endswith(".npy")
        }

    def __enter__(self) -> NpzArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.zip.close()

    def keys(self) -> list[str]:
        """The arrays' names, in archive order."""
        return list(self.members)

    def __contains__(self, key: object) -> bool:
        return key in self.members

    def _member(self, key: str) -> zipfile.ZipInfo:
        if key not in self.members:
            raise DataError(f"{self.path} has no array {key!r}; it has {self.keys()}")
        return self.members[key]

    def header(self, key: str) -> tuple[tuple[int, ...], np.dtype]:
        """``(shape, dtype)`` of one array, from its ``.npy`` header alone."""
        with self._open(key) as stream:
            return self._read_header(stream, key)[:2]

    def _open(self, key: str) -> Any:
        try:
            return self.zip.open(self._member(key))
        except (zipfile.BadZipFile, NotImplementedError, OSError, ValueError, RuntimeError) as exc:
            raise DataError(f"{self.path}[{key!r}] cannot be read ({exc}); the archive is damaged") from None

    def _read_header(self, stream: Any, key: str) -> tuple[tuple[int, ...], np.dtype, bool]:
        where = f"{self.path}[{key!r}]"
        try:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream, max_header_size=10_000)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream, max_header_size=10_000)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, SyntaxError, TypeError) as exc:
            raise DataError(f"{where} is not a valid .npy array ({exc}); the archive is damaged") from None
        if dtype.hasobject:
            raise DataError(f"{where} holds Python objects (a pickle); ganzoo reads plain numeric arrays only")
        if any(not isinstance(d, int) or d < 0 for d in shape):
            raise DataError(f"{where} declares an invalid shape {shape}")
        return tuple(shape), dtype, fortran

    def __getitem__(self, key: str) -> np.ndarray:
        """One array, read after its declared size was checked; the member must hold exactly those bytes."""
        where = f"{self.path}[{key!r}]"
        with self._open(key) as stream:
            shape, dtype, fortran = self._read_header(stream, key)
            count = int(np.prod(shape, dtype=object))
            size = count * dtype.itemsize
            limit = self.max_bytes if self.max_bytes is not None else int(MEMORY_SHARE * available_memory())
            if size > limit:
                raise DataError(
                    f"{where} declares {shape} {dtype} = {_gb(size)}, more than this reader allows ({_gb(limit)}: "
                    f"{MEMORY_SHARE:.0%} of the memory available now). Split the data set, or store smaller images."
                )
            array = np.empty(count, dtype=dtype)
            buffer, filled = memoryview(array).cast("B"), 0
            try:
                # decompress straight into the array, never more than the header promised
                while filled < size:
                    got = stream.readinto(buffer[filled:])
                    if not got:
                        break
                    filled += got
                trailing = stream.read(1)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
                raise DataError(f"{where} is damaged ({exc}); re-create the archive") from None
        if filled != size or trailing:
            raise DataError(
                f"{where} holds {filled}{'+' if trailing else ''} bytes of data but its header declares {size} "
                f"({shape} {dtype}); the archive is damaged or was tampered with"
            )
        return array.reshape(shape[::-1]).transpose() if fortran else array.reshape(shape)
