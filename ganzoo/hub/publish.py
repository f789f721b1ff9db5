"""Publishing to the Hugging Face Hub: a model folder with its card, samples and ONNX file.

Uploads are ``HfApi.create_repo(exist_ok=True)`` + ``upload_folder``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ganzoo.errors import GanzooError
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
    """
    import shutil

    from huggingface_hub import HfApi

    from ganzoo.models.folder import load_folder, save
    from ganzoo.models.generator import Generator

    name = HubName.parse(repo_id)
    with tempfile.TemporaryDirectory(prefix="ganzoo-push-") as tmp:
        staging = Path(tmp) / "model"
        if isinstance(generator_or_folder, Generator):
            generator = generator_or_folder
            save(generator, staging)
        else:
            source = Path(generator_or_folder)
            generator = load_folder(source)
            shutil.copytree(source, staging, ignore=shutil.ignore_patterns("checkpoint*", "progress", "*.csv"))
        if isinstance(card, (str, Path)):
            shutil.copyfile(card, staging / "README.md")
        _complete_folder(generator, staging, name.repo_id, card=bool(card), onnx=onnx, samples=samples)
        api = HfApi(token=token, library_name="ganzoo", library_version=library_version())
        api.create_repo(name.repo_id, repo_type="model", private=private, exist_ok=True)
        commit = api.upload_folder(
            repo_id=name.repo_id,
            folder_path=str(staging),
            repo_type="model",
            commit_message=commit_message or f"Upload {generator.architecture} generator with ganzoo",
        )
    return str(getattr(commit, "commit_url", commit))


def _complete_folder(
    generator: Generator, folder: Path, repo_id: str, *, card: bool, onnx: bool, samples: bool
) -> None:
    """Add the card, sample grid and ONNX file that a Hub folder should have, where missing and possible."""
    import warnings

    from ganzoo.sampling import save_grid

    if samples and generator.config.is_image and not (folder / "samples.png").exists():
        save_grid(generator.sample(64, seed=0, output="raw"), folder / "samples.png", nrow=8)
    if onnx and not (folder / "model.onnx").exists():
        try:
            from ganzoo.exporting import export

            export(generator, folder / "model.onnx", format="onnx")
        except (ImportError, GanzooError) as exc:  # ONNX is optional: no onnx/onnxruntime, or an unexportable model
            warnings.warn(f"pushing without model.onnx: {exc}", stacklevel=3)
    if card and not (folder / "README.md").exists():
        from ganzoo.hub.cards import render_card

        render_card(generator, repo_id=repo_id, has_samples=(folder / "samples.png").exists()).save(
            folder / "README.md"
        )
