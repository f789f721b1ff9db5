"""The built-in zoo: named, pretrained generators for ``ganzoo.load(name)``.

Each entry pins a Hub repo at a revision and the sha256 of its ``model.safetensors`` and of its ``config.json``
(from which the network is built: both are checked before anything is built). ``dcgan-celeba`` also ships
inside the package (``plugins/zoo/dcgan-celeba/``: config.json + fp16 safetensors, a few MB), and so does
``cgan-fashion`` (0.8 MB), ``pix2pix-celeba-colorize`` (8.2 MB), ``cyclegan-fashion-sandal2sneaker`` (2.0 MB),
``srgan-celeba-x4`` (1.1 MB) and ``inpaint-celeba-center`` (7.0 MB), so their first use needs no network; the
hashes are checked on that path too. Each bundled ``config.json`` carries the model's licence, datasets and measured
results in its ``training`` metadata (``python -m model_cards.stamp_zoo_metadata`` writes them from the cards and
prints the ``config_sha256`` to pin here). How each model was trained: ``model_cards/<name>.md``.
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
        revision="v2",  # v2: v1 with standing batch-norm statistics (FID 109.3 -> 104.0, half-pixel resize)
        sha256="3601d05e84f3d86c2990226d9e33f35c7ce812e7d479eca64235e085c164258b",
        config_sha256="d158fc3b6756523cf86a09c7f3925ce3570006a67cd10edf69f28bc26ca71b19",
        card=card_path("dcgan-celeba"),
        description="DCGAN faces, 64x64, trained with ganzoo on 10k CelebA images (non-commercial research only)",
        dataset="CelebA-64 (10k)",
        resolution=64,
        # 5,000 samples against 9,000 CelebA-64 images (benchmarks/eval_celeba.py), FID/KID re-measured under the
        # tf1-bilinear resize (model_cards/remeasured-tf1.json; 104.0 / 0.1049 under the old half-pixel resize)
        metrics={"fid": 101.1, "kid": 0.1014},
        bundled=bundled_folder("dcgan-celeba"),
    )
    register(
        "cgan-fashion",
        architecture="acgan",
        repo_id="ganzoo/cgan-fashion",
        revision="v1",
        sha256="45335ab3c62f99d1931d585f13a3019aba3e99322f9a981d023e36c233bd5bab",
        config_sha256="b952afb58706a1e93104d6969606912e2b0a0d2e893903b510578cbfd3d6d490",
        card=card_path("cgan-fashion"),
        description="class-conditional Fashion-MNIST garments, 32x32 greyscale, 10 classes (ACGAN)",
        dataset="Fashion-MNIST",
        resolution=32,
        task="class-conditional",
        # benchmarks/results/conditional_fashion.json: 1,000 samples per class, ganzoo's Fashion-MNIST classifier
        metrics={"conditional-accuracy": 0.9723, "classification-accuracy-score": 0.7748, "class-diversity": 0.9991},
        bundled=bundled_folder("cgan-fashion"),
    )
    register(
        "pix2pix-celeba-colorize",
        architecture="pix2pix",
        repo_id="ganzoo/pix2pix-celeba-colorize",
        revision="v1",
        sha256="8a0a8a9ef72a5fd6717e274151dcd993244ee770d622a6c3498dd2e256bbdf9a",
        config_sha256="08f776afb897bb8e3cac5935252964a60524acf6f297b60ae1654425e52d3e40",
        card=card_path("pix2pix-celeba-colorize"),
        description="greyscale -> colour faces, 64x64, pix2pix with chroma output (CelebA; non-commercial research)",
        dataset="CelebA-64 (train split)",
        resolution=64,
        task="image-to-image",
        # benchmarks/results/translation.json: CelebA's test split (988 faces); KID re-measured under the tf1-bilinear
        # resize (model_cards/remeasured-tf1.json; 0.0041 under the old half-pixel resize)
        metrics={"psnr": 25.30, "ssim": 0.932, "kid": 0.0042},
        bundled=bundled_folder("pix2pix-celeba-colorize"),
    )
    register(
        "cyclegan-fashion-sandal2sneaker",
        architecture="cyclegan",
        repo_id="ganzoo/cyclegan-fashion-sandal2sneaker",
        revision="v1",
        sha256="4e784c24a289e9f14ee4361e4908c3e90190ead6e64403ee41a05e9cb5816aeb",
        config_sha256="e17239419b8a6b2cdc2b152a56baa67bc0364e163708e13e3d0e433e075a55f1",
        card=card_path("cyclegan-fashion-sandal2sneaker"),
        description="Fashion-MNIST sandals <-> sneakers, 32x32 greyscale, both directions (CycleGAN)",
        dataset="Fashion-MNIST sandals / sneakers",
        resolution=32,
        task="image-to-image",
        # benchmarks/results/translation.json: the classifier on the 1,000 test pictures of each class
        metrics={"sandal-to-sneaker": 0.958, "sneaker-to-sandal": 0.986, "cycle-l1": 0.037},
        bundled=bundled_folder("cyclegan-fashion-sandal2sneaker"),
    )
    register(
        "srgan-celeba-x4",
        architecture="srgan",
        repo_id="ganzoo/srgan-celeba-x4",
        revision="v1",
        sha256="c34f1a2b2bdeabc209a9dd4af9e936e331be01e3f64c022d88aa2deb5edadfd9",
        config_sha256="7776e77d35883831561d0923e5a4060d508d2a52e93464d51ed353abadfc15df",
        card=card_path("srgan-celeba-x4"),
        description="x4 face super-resolution, 16x16 -> 64x64, SRResNet (the SRGAN recipe's L1 phase; CelebA, "
        "non-commercial research)",
        dataset="CelebA-64 (train split)",
        resolution=64,
        task="image-to-image",
        # benchmarks/results/restoration.json: CelebA's test split (988 faces); bicubic: 22.36 dB, KID 0.162; KID
        # re-measured under the tf1-bilinear resize (model_cards/remeasured-tf1.json; 0.0408 before)
        metrics={"psnr": 24.99, "ssim": 0.798, "kid": 0.0414},
        bundled=bundled_folder("srgan-celeba-x4"),
    )
    register(
        "inpaint-celeba-center",
        architecture="context-encoder",
        repo_id="ganzoo/inpaint-celeba-center",
        revision="v1",
        sha256="1a68a106012998c9b14a3ea3cb1ead9ba62adc4d860d2c76b27b143c2eb13a9d",
        config_sha256="15173c233a8ac6e8fa466d5ed4407d4768df87314c289a0257680d6709a86a88",
        card=card_path("inpaint-celeba-center"),
        description="fills the central 32x32 of 64x64 faces, context encoder (CelebA, non-commercial research)",
        dataset="CelebA-64 (train split)",
        resolution=64,
        task="image-to-image",
        # benchmarks/results/restoration.json: CelebA's test split (988 faces), PSNR inside the hole
        # KID re-measured under the tf1-bilinear resize (model_cards/remeasured-tf1.json; 0.0074 before)
        metrics={"hole-psnr": 18.44, "kid": 0.0070},
        bundled=bundled_folder("inpaint-celeba-center"),
    )
