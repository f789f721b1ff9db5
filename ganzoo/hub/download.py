"""Hub transport: download model folders at pinned revisions (no model imports; ``loading`` builds the models).

Downloads go through ``hf_hub_download`` (its cache, its offline mode, ``HF_ENDPOINT``) with
``library_name="ganzoo"``. Uploads are ``HfApi.create_repo(exist_ok=True)`` + ``upload_folder``.

Why the preflight: when the Hub cannot be reached and the file is not cached, ``hf_hub_download`` retries with
back-off for ~20 s before it gives up. One ``model_info`` call with a short timeout (no retries) tells within
seconds whether the repo and revision exist, so a missing network, repo or revision is a clear error at once.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganzoo.errors import HubError, ModelFileError
from ganzoo.fileio import sha256_file

HUB_PREFIX = "hf-hub:"
FILES = ("config.json", "model.safetensors")
OPTIONAL_FILES = ("README.md", "samples.png")
PREFLIGHT_TIMEOUT = float(os.environ.get("GANZOO_HUB_TIMEOUT", "5"))


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
    """Raise ``ModelFileError`` unless ``path`` hashes to ``expected`` (never use a file that does not)."""
    actual = sha256_file(path)
    if actual != expected.lower():
        raise ModelFileError(
            f"{source}: sha256 of {Path(path).name} is {actual}, expected {expected}. The file is corrupt, "
            "truncated or not the pinned one; it was not used. Delete it from the Hub cache (huggingface-cli "
            "delete-cache) and try again."
        )


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
