"""Hub transport: download model folders at pinned revisions (no model imports; ``loading`` builds the models).

Downloads go through ``hf_hub_download`` (its cache, its offline mode, ``HF_ENDPOINT``) with
``library_name="ganzoo"``. Uploads are ``HfApi.create_repo(exist_ok=True)`` + ``upload_folder``.

Why the preflight: when the Hub cannot be reached and the file is not cached, ``hf_hub_download`` retries with
back-off for ~20 s before it gives up. One ``model_info`` call with a short timeout (no retries) tells within
seconds whether the repo and revision exist, so a missing network, repo or revision is a clear error at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganzoo.errors import HubError, ModelFileError

HUB_PREFIX = "hf-hub:"
FILES = ("config.json", "model.safetensors")
OPTIONAL_FILES = ("README.md", "samples.png")
PREFLIGHT_TIMEOUT = float(os.environ.get("GANZOO_HUB_TIMEOUT", "5"))
#: The most bytes a hashed file may have when its format gives no exact size (config.json, README.md...).
MAX_PLAIN_FILE_BYTES = 64 << 20
#: The most bytes a ``.safetensors`` header may have (a JSON index of the tensors; ours are a few kB).
MAX_SAFETENSORS_HEADER = 16 << 20
#: The most bytes a ``.safetensors`` file may declare (``GANZOO_MAX_WEIGHTS_BYTES``; default 16 GiB).
MAX_WEIGHTS_BYTES = int(os.environ.get("GANZOO_MAX_WEIGHTS_BYTES", str(16 << 30)))


@dataclass(frozen=True)
class HubName:
    """``hf-hub:owner/name[@revision]`` taken apart."""

    repo_id: str
    revision: str | None = None

    @classmethod
    def parse(cls, text: str, revision: str | None = None) -> HubName:
        """Parse ``owner/name`` or ``owner/name@revision`` (with or without ``hf-hub:``); check the repo id."""
        from huggingface_hub.utils import HFValidationError, validate_repo_id

        body = text.removeprefix(HUB_PREFIX)
        repo_id, _, at_revision = body.partition("@")
        if at_revision and revision and at_revision != revision:
            raise HubError(f"{text!r} pins revision {at_revision!r} but revision={revision!r} was also given")
        try:
            validate_repo_id(repo_id)
        except HFValidationError as exc:
            raise HubError(f"{text!r} is not a Hub model id; expected hf-hub:owner/name[@revision] ({exc})") from exc
        if "/" not in repo_id:
            raise HubError(f"{text!r} is not a Hub model id: expected owner/name, e.g. hf-hub:ganzoo/dcgan-celeba")
        return cls(repo_id, at_revision or revision)


def library_version() -> str:
    """ganzoo's version, sent with every Hub request (``library_name="ganzoo"``)."""
    from ganzoo.version import __version__

    return __version__


def verify_sha256(path: str | Path, expected: str, source: str) -> None:
    """Raise ``ModelFileError`` unless ``path`` hashes to ``expected`` (never use a file that does not).

    Only a regular file is read (symlinks resolved, as the Hub cache links snapshots to blobs): a FIFO, a device
    such as ``/dev/zero`` or a folder is refused at once instead of hanging the check. The bytes read are bounded:
    a ``.safetensors`` file must be exactly 8 + its header's length + the data size its header declares (at most
    ``MAX_WEIGHTS_BYTES``), any other file at most ``MAX_PLAIN_FILE_BYTES``.
    """
    actual = bounded_sha256(path, source)
    if actual != expected.lower():
        raise ModelFileError(
            f"{source}: sha256 of {Path(path).name} is {actual}, expected {expected}. The file is corrupt, "
            "truncated or not the pinned one; it was not used. Delete it from the Hub cache (huggingface-cli "
            "delete-cache) and try again."
        )


def _file_kind(mode: int) -> str:
    for test, kind in (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
    ):
        if test(mode):
            return kind
    return "not a regular file"


def _refuse(source: str, path: Path, why: str) -> ModelFileError:
    return ModelFileError(
        f"{source}: {path.name} ({path}) {why}; it was not used. Replace it with the real file (for the Hub cache: "
        "huggingface-cli delete-cache, then download again)."
    )


def _safetensors_size(f: Any, size: int, path: Path, source: str) -> int:
    """The exact size a ``.safetensors`` file must have: 8 + header length + the data its header declares."""
    head = f.read(8)
    if len(head) < 8:
        raise _refuse(source, path, f"is {size} bytes, too short for a safetensors file")
    (header_len,) = struct.unpack("<Q", head)
    if header_len > min(MAX_SAFETENSORS_HEADER, size - 8):
        raise _refuse(source, path, f"declares a {header_len}-byte safetensors header in a {size}-byte file")
    try:
        header = json.loads(f.read(header_len))
        ends = [
            int(entry["data_offsets"][1])
            for name, entry in header.items()
            if name != "__metadata__" and isinstance(entry, dict)
        ]
    except (ValueError, KeyError, TypeError, IndexError, RecursionError) as exc:
        raise _refuse(source, path, f"has no readable safetensors header ({type(exc).__name__})") from exc
    expected = 8 + header_len + max(ends, default=0)
    if expected > MAX_WEIGHTS_BYTES:
        raise _refuse(source, path, f"declares {expected} bytes, over the {MAX_WEIGHTS_BYTES}-byte limit")
    return expected


def bounded_sha256(path: str | Path, source: str) -> str:
    """sha256 of a regular file, read up to the bound its format allows (see ``verify_sha256``)."""
    path = Path(path)
    real = Path(os.path.realpath(path))
    try:
        # O_NONBLOCK: opening a FIFO returns at once (a plain open waits for a writer); fstat on the open
        # descriptor says what it really is, with no race between a check and the open
        fd = os.open(real, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError as exc:
        raise _refuse(source, path, "does not exist") from exc
    except OSError as exc:
        raise _refuse(source, path, f"cannot be opened ({exc.strerror or exc})") from exc
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _refuse(source, path, f"is {_file_kind(info.st_mode)}, not a regular file")
        size = info.st_size
        if path.suffix == ".safetensors":
            bound = _safetensors_size(f, size, path, source)
            if size != bound:
                what = "larger" if size > bound else "smaller"
                raise _refuse(source, path, f"is {size} bytes, {what} than the {bound} its safetensors header declares")
            f.seek(0)
        elif size > MAX_PLAIN_FILE_BYTES:
            raise _refuse(source, path, f"is {size} bytes, over the {MAX_PLAIN_FILE_BYTES}-byte limit for this file")
        else:
            bound = size
        digest = hashlib.sha256()
        left = bound
        while left > 0:
            block = f.read(min(1 << 20, left))
            if not block:
                break
            digest.update(block)
            left -= len(block)
        if left != 0 or f.read(1):  # shrank or grew while it was read
            raise _refuse(source, path, "changed size while it was being hashed")
    return digest.hexdigest()


def _offline() -> bool:
    """huggingface_hub's offline switch; the environment is read again, as it may be set after import."""
    from huggingface_hub import constants

    env = os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}
    return bool(constants.HF_HUB_OFFLINE) or env


def _preflight(name: HubName) -> str | None:
    """Ask the Hub whether the repo and revision exist (short timeout, no retries); returns the commit sha.

    Returns ``None`` when the Hub cannot be reached, so the caller can still try the local cache.
    """
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError

    api = HfApi(library_name="ganzoo", library_version=library_version())
    try:
        info = api.model_info(name.repo_id, revision=name.revision, timeout=PREFLIGHT_TIMEOUT)
    except RevisionNotFoundError as exc:
        raise HubError(f"{name.repo_id} has no revision {name.revision!r} on {api.endpoint}") from exc
    except RepositoryNotFoundError as exc:
        raise HubError(
            f"no model repo {name.repo_id!r} on {api.endpoint} (or it is private: log in with `hf auth login`)"
        ) from exc
    except HfHubHTTPError as exc:
        raise HubError(f"the Hub at {api.endpoint} refused {name.repo_id}: {exc}") from exc
    except Exception:  # the HTTP client's transport errors (connect, DNS, timeout): the Hub is unreachable
        return None
    return info.sha


def download_folder(name: HubName, *, files: tuple[str, ...] = FILES, cache_dir: str | None = None) -> Path:
    """Download (or find in the cache) a generator folder's files at ``name.revision``; returns the folder.

    Works offline (``HF_HUB_OFFLINE=1``) from the cache. Every failure is a ``HubError`` saying what to do.
    """
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError

    offline = _offline()
    commit = None if offline else _preflight(name)
    reachable = offline or commit is not None
    kwargs: dict[str, Any] = {
        "repo_id": name.repo_id,
        "revision": commit or name.revision,
        "library_name": "ganzoo",
        "library_version": library_version(),
        "cache_dir": cache_dir,
        # unreachable Hub: use the cache only, instead of ~20 s of retries
        "local_files_only": offline or not reachable,
    }
    paths = []
    for filename in files:
        try:
            paths.append(Path(hf_hub_download(filename=filename, **kwargs)))
        except LocalEntryNotFoundError as exc:
            from huggingface_hub import constants

            why = (
                "HF_HUB_OFFLINE is set: unset it to download"
                if offline
                else f"the Hub ({constants.ENDPOINT}) could not be reached: check the network or HF_ENDPOINT"
            )
            raise HubError(
                f"{name.repo_id}@{name.revision or 'main'}: {filename} is not in the local Hub cache and {why}."
            ) from exc
        except EntryNotFoundError as exc:
            raise HubError(
                f"{name.repo_id}@{name.revision or 'main'} has no {filename}; is it a ganzoo model?"
            ) from exc
        except HfHubHTTPError as exc:
            raise HubError(f"downloading {filename} from {name.repo_id} failed: {exc}") from exc
    folder = paths[0].parent
    if any(p.parent != folder for p in paths):  # files from one snapshot always share a folder
        raise HubError(f"{name.repo_id}: files came from different snapshots; clear the cache and retry")
    return folder


def is_hub_name(text: str) -> bool:
    """Whether ``text`` asks for the Hub (``hf-hub:...``)."""
    return text.startswith(HUB_PREFIX)


COMMIT_SHA = re.compile(r"[0-9a-f]{40}")
