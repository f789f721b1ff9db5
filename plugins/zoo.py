"""The built-in zoo: named, pretrained generators for ``ganzoo.load(name)``.

Each entry pins a Hub repo at a revision and the sha256 of its ``model.safetensors``. ``dcgan-celeba`` also ships
inside the package (``plugins/zoo/dcgan-celeba/``: config.json + fp16 safetensors, a few MB), so its first use
needs no network; the hash is checked on that path too. How each model was trained: ``model_cards/<name>.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources

from ganzoo.hookspecs import hookimpl


def bundled_folder(name: str) -> str:
    """The folder inside the installed package that holds zoo model ``name``'s files."""
    return str(resources.files("ganzoo.plugins").joinpath("zoo", name))


def card_path(name: str) -> str:
    """The packaged model card of zoo model ``name``."""
    return str(resources.files("ganzoo.model_cards").joinpath(f"{name}.md"))


@hookimpl
def register_pretrained(register: Callable[..., None]) -> None:
    """The zoo models that come with ganzoo."""
    register(
        "dcgan-celeba",
        architecture="dcgan",
        repo_id="ganzoo/dcgan-celeba",
        revision="v2",  # v2: v1 with standing batch-norm statistics (FID 109.3 -> 104.0)
        sha256="3601d05e84f3d86c2990226d9e33f35c7ce812e7d479eca64235e085c164258b",
        card=card_path("dcgan-celeba"),
        description="DCGAN faces, 64x64, trained with ganzoo on 10k CelebA images (non-commercial research only)",
        dataset="CelebA-64 (10k)",
        resolution=64,
        # benchmarks/results/eval_celeba_dcgan-celeba.json: 5,000 samples against 9,000 CelebA-64 images
        metrics={"fid": 104.0, "kid": 0.1049},
        bundled=bundled_folder("dcgan-celeba"),
    )
