"""Publishing to the Hugging Face Hub: a model folder with its card, samples and ONNX file.

Uploads are ``HfApi.create_repo(exist_ok=True)`` + ``upload_folder``.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ganzoo.errors import GanzooError, HubError
from ganzoo.hub.download import HubName, library_version

if TYPE_CHECKING:
    from ganzoo.models.generator import Generator


def push(
    generator_or_folder: Generator | str | Path,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = False,
    commit_message: str | None = None,
    card: bool | str | Path = True,
    onnx: bool = True,
    samples: bool = True,
) -> str:
    """Upload a generator (or a saved folder) to the Hub repo ``repo_id``; returns the new commit's URL.

    The uploaded folder holds ``config.json``, ``model.safetensors``, ``README.md`` (the model card, rendered
    from ``model_cards/`` unless the folder has one), and ``model.onnx`` and ``samples.png`` when they can be made
    (ONNX needs the ``[cpu]`` or ``[gpu]`` extra). The token comes from the usual places (``HF_TOKEN``, ``hf auth
    login``) unless given. ``card`` may be the path of a ready model card to upload as ``README.md``.

    The repo is created first, so a missing network, a wrong ``HF_ENDPOINT`` or a bad token is a ``HubError``
    within seconds, before the ONNX export and the sample grid are made.
    """
    import shutil

    from huggingface_hub import HfApi

    from ganzoo.models.folder import save
    from ganzoo.models.generator import Generator
    from ganzoo.models.reader import load_folder

    name = HubName.parse(repo_id)
    source = None if isinstance(generator_or_folder, Generator) else Path(generator_or_folder)
    generator = generator_or_folder if source is None else load_folder(source)  # a bad folder fails before the Hub
    api = HfApi(token=token, library_name="ganzoo", library_version=library_version())
    with hub_errors("creating the repo", name.repo_id, api.endpoint):
        api.create_repo(name.repo_id, repo_type="model", private=private, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ganzoo-push-") as tmp:
        staging = Path(tmp) / "model"
        if source is None:
            save(generator, staging)
        else:
            shutil.copytree(source, staging, ignore=shutil.ignore_patterns("checkpoint*", "progress", "*.csv"))
        if isinstance(card, (str, Path)):
            shutil.copyfile(card, staging / "README.md")
        _complete_folder(generator, staging, name.repo_id, card=bool(card), onnx=onnx, samples=samples)
        with hub_errors("uploading to", name.repo_id, api.endpoint):
            commit = api.upload_folder(
                repo_id=name.repo_id,
                folder_path=str(staging),
                repo_type="model",
                commit_message=commit_message or f"Upload {generator.architecture} generator with ganzoo",
            )
    return str(getattr(commit, "commit_url", commit))


@contextlib.contextmanager
def hub_errors(action: str, repo_id: str, endpoint: str) -> Iterator[None]:
    """Turn huggingface_hub's HTTP and transport errors inside the block into one-line ``HubError``s.

    Each names the action, the repo and the endpoint, and says what to check (network, ``HF_ENDPOINT``, token).
    """
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    try:
        yield
    except OfflineModeIsEnabled as exc:
        raise HubError(
            f"{action} {repo_id} on {endpoint}: HF_HUB_OFFLINE is set, so nothing can be uploaded; unset it and try "
            "again"
        ) from exc
    except HfHubHTTPError as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            hint = (
                "check your token: log in with `hf auth login`, set HF_TOKEN or pass --token, with write access "
                f"to {repo_id.split('/')[0]!r}"
            )
        else:
            hint = "check the repo id, HF_ENDPOINT and your token (HF_TOKEN or `hf auth login`)"
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise HubError(f"{action} {repo_id} on {endpoint} failed (HTTP {status}): {detail}. {hint}") from exc
    except Exception as exc:
        if not _is_transport_error(exc):
            raise
        raise HubError(
            f"{action} {repo_id}: the Hub at {endpoint} could not be reached ({type(exc).__name__}: {exc}). Check "
            "the network, HF_ENDPOINT (unset it for huggingface.co) and your token (HF_TOKEN or `hf auth login`), "
            "then try again."
        ) from exc


def _is_transport_error(exc: BaseException) -> bool:
    """A connection, DNS or timeout error of the HTTP client (httpx, requests) or the OS, not a bug of ours."""
    clients = {"httpx", "httpx2", "httpcore", "requests", "urllib3"}
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    return any(cls.__module__.split(".")[0] in clients for cls in type(exc).__mro__)


def _complete_folder(
    generator: Generator, folder: Path, repo_id: str, *, card: bool, onnx: bool, samples: bool
) -> None:
    """Add the card, sample grid and ONNX file that a Hub folder should have, where missing and possible."""
    import warnings

    from ganzoo.sampling import save_grid

    if samples and generator.config.is_image and hasattr(generator, "sample") and not (folder / "samples.png").exists():
        label = next((s for s in generator.inputs if s.kind == "label"), None)
        if label is None:
            save_grid(generator.sample(64, seed=0, output="raw"), folder / "samples.png", nrow=8)
        else:  # a class grid: one row per class, the same 8 latents in every row
            import torch

            k = int(label.value_range[1]) + 1
            z = generator.latents(8, seed=0).repeat(k, 1)
            images = generator.sample(z=z, labels=torch.arange(k).repeat_interleave(8), output="raw")
            save_grid(images, folder / "samples.png", nrow=8)
    if onnx and not (folder / "model.onnx").exists():
        try:
            # the registry's exporter, not ganzoo.exporting: the hub layer sits below the package's top level
            from ganzoo.host.manager import get_registry

            get_registry().get("exporter", "onnx").export(generator, folder / "model.onnx")
        except (ImportError, GanzooError) as exc:  # ONNX is optional: no onnx/onnxruntime, or an unexportable model
            warnings.warn(f"pushing without model.onnx: {exc}", stacklevel=3)
    if card and not (folder / "README.md").exists():
        from ganzoo.hub.cards import render_card

        render_card(generator, repo_id=repo_id, has_samples=(folder / "samples.png").exists()).save(
            folder / "README.md"
        )
