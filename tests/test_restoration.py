"""Restoration families (issue 17): super-resolution (SRGAN), the context encoder, latent-search inpainting,
tiling, masks, restoration metrics, ``ganzoo translate --tile`` / ``ganzoo inpaint``, and the mask input through
ONNX, ``OnnxTranslator``, the server and Triton."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from PIL import Image
from starlette.testclient import TestClient

import ganzoo
from ganzoo.cli import main
from ganzoo.config import ConfigError
from ganzoo.errors import ModelFileError
from ganzoo.evaluation.translation import evaluate_translation
from ganzoo.exporters.onnx import export_onnx
from ganzoo.exporters.runtime import OnnxTranslator
from ganzoo.exporters.server import create_app
from ganzoo.latent_inpainting import importance_weights, latent_inpaint, poisson_blend
from ganzoo.masks import as_masks, box_mask, center_mask, parse_hole, random_masks
from ganzoo.models.tiling import tile_starts, translate_tiled
from ganzoo.plugins._restoration import VGG19_LAYOUT, VGGFeatures, downscale
from ganzoo.plugins.inpainting import reconstruction_weights
from ganzoo.testing import check_method

SR_TINY = {"image_size": 16, "scale": 4, "g_width": 4, "blocks": 1, "d_width": 4}
CE_TINY = {"image_size": 32, "g_width": 4, "bottleneck": 8, "d_width": 4, "hole_size": 16}


@pytest.fixture
def celeba_file(tmp_path):
    """A CelebA-layout .npz: smooth random faces (so bicubic is a fair baseline), 4 train ids and 4 test ids."""
    ids = ["000001", "050000", "100000", "160000", "182638", "190000", "200000", "202599"]
    coarse = torch.rand(len(ids), 3, 8, 8, generator=torch.Generator().manual_seed(0))
    smooth = F.interpolate(coarse, size=64, mode="bilinear", align_corners=False)
    images = (smooth * 255).round().byte().permute(0, 2, 3, 1).numpy()
    path = tmp_path / "celeba.npz"
    np.savez(path, images=images, ids=np.array(ids))
    return path


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


# -- degradations and masks ------------------------------------------------------------------------------------------


def test_bicubic_downscale_is_pils_resize_on_8_bit_levels():
    """The training inputs are what PIL's bicubic resize makes of a picture (to one level), already quantised."""
    rng = np.random.default_rng(0)
    pictures = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    x = torch.from_numpy(pictures).permute(0, 3, 1, 2).float() / 127.5 - 1
    small = downscale(x, 4)
    assert small.shape == (3, 3, 8, 8)
    levels = (small + 1) * 127.5
    assert torch.equal(levels, levels.round())  # on the 256 levels of an 8-bit picture
    pil = np.stack([np.asarray(Image.fromarray(p).resize((8, 8), Image.BICUBIC)) for p in pictures])
    assert np.abs(levels.permute(0, 2, 3, 1).numpy() - pil).max() <= 1
    with pytest.raises(ValueError, match="kernel"):
        downscale(x, 4, "lanczos")
    with pytest.raises(ValueError, match="divide"):
        downscale(x, 3)


def test_masks_in_every_form_and_hole_texts():
    assert center_mask(2, 8, 4)[0, 0].sum() == 16 and center_mask(1, 8, 4)[0, 0, 2:6, 2:6].all()
    assert torch.equal(parse_hole("center", 8), center_mask(1, 8, 4))
    assert torch.equal(parse_hole("1,2,3,4", 8), box_mask(1, 8, (1, 2, 3, 4)))
    assert box_mask(1, 8, (1, 2, 3, 4))[0, 0, 2:6, 1:4].all()
    for bad in ("middle", "1,2,3", "6,6,4,4"):
        with pytest.raises(ValueError):
            parse_hole(bad, 8)
    one = np.zeros((8, 8), np.uint8)
    one[:2] = 255
    assert as_masks(one, 3, 8).shape == (3, 1, 8, 8) and as_masks(one, 3, 8)[2, 0, :2].all()
    assert torch.equal(as_masks(Image.fromarray(one), 1, 8), as_masks(one, 1, 8))
    assert torch.equal(as_masks(torch.ones(2, 8, 8, dtype=torch.bool), 2, 8), torch.ones(2, 1, 8, 8))
    with pytest.raises(ValueError, match="masks for"):
        as_masks(np.zeros((2, 8, 8)), 3, 8)
    with pytest.raises(ValueError, match="must be"):
        as_masks(np.zeros((9, 9)), 1, 8)
    r = random_masks(64, 16, generator=torch.Generator().manual_seed(0))
    sides = r[:, 0].amax(1).sum(1)  # width of each rectangle
    assert r.shape == (64, 1, 16, 16) and sides.min() >= 4 and sides.max() <= 8


def test_reconstruction_weights_stress_the_holes_border():
    """Pathak et al.'s overlap: the hole's outer 4 px weigh 10, its inside 1, the context 0."""
    mask = center_mask(1, 32, 16)
    w = reconstruction_weights(mask, 4, 10.0)[0, 0]
    assert w[16, 16] == 1 and w[8, 8] == 10 and w[11, 16] == 10 and w[12, 16] == 1 and w[7, 7] == 0


# -- super-resolution ------------------------------------------------------------------------------------------------


def test_srgan_config_and_input_spec():
    model = ganzoo.create("srgan", seed=0, **SR_TINY)
    assert model.inputs[0].shape == (3, 4, 4) and model.output_shape == (3, 16, 16) and model.scale == 4
    pixels = torch.randint(0, 256, (2, 3, 4, 4), dtype=torch.uint8)  # a uint8 tensor is torch's NCHW, 0..255
    assert torch.equal(model.translate(pixels), model.translate(pixels.float() / 127.5 - 1))
    for bad in ({"scale": 3}, {"in_channels": 1}, {"image_size": 24}, {"downscale": "nearest"}):
        with pytest.raises(ConfigError):
            ganzoo.create("srgan", **{**SR_TINY, **bad})


def test_untrained_srresnet_is_exactly_bicubic():
    """G learns a residual over the bicubic upscaling and starts at zero residual: a fresh model is bicubic."""
    model = ganzoo.create("srgan", seed=0, **SR_TINY).eval()
    x = torch.rand(2, 3, 4, 4) * 2 - 1
    expected = F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False).clamp(-1, 1)
    assert torch.allclose(model.translate(x, output="raw"), expected, atol=1e-6)


def test_srgan_pretrains_on_pixels_then_trains_d_and_resumes_across_the_switch(tmp_path):
    """Phase 1 (pretrain_steps) never touches D; phase 2 does; a resume from inside phase 1 to phase 2 equals
    one run (``check_method`` runs 2 steps, resumes to 4: the switch at step 3 falls in the resumed part)."""
    faces = ganzoo.InMemoryData(torch.randint(0, 256, (12, 3, 16, 16), dtype=torch.uint8), description="noise")
    result = check_method("srgan", "srgan", faces, method_options={"pretrain_steps": 3})
    assert {"l1", "g_adversarial", "d_loss"} <= set(result["metrics"])
    import csv

    run = tmp_path / "run"
    ganzoo.train(
        "srgan", faces, steps=4, batch_size=4, log_every=1, progress=False, out_dir=run,
        method_options={"pretrain_steps": 2}, **SR_TINY,
    )  # fmt: skip
    with open(run / "losses.csv") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["d_loss"]) == 0 for r in rows] == [True, True, False, False]
    assert all(float(r["feature_matching"]) > 0 for r in rows[2:])
    assert [float(r["g_adversarial"]) == 0 for r in rows] == [True, True, False, False]


def test_srgan_options_are_checked():
    faces = ganzoo.InMemoryData(torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8))
    for bad, error in (({"vgg": 1}, TypeError), ({"pretrain_steps": -1}, ValueError), ({"l1_weight": -1}, ValueError)):
        with pytest.raises(error):
            ganzoo.train("srgan", faces, steps=1, batch_size=4, progress=False, method_options=bad, **SR_TINY)


def test_perceptual_loss_reads_a_users_vgg19_file(tmp_path):
    """No VGG weights can be downloaded here: the option reads a safetensors file with torchvision's names. A
    random one proves the plumbing (real ImageNet weights are the user's); a file lacking layers is refused."""
    from safetensors.torch import save_file

    convs = [c for c in VGG19_LAYOUT if c != "M"]
    tensors, c_in, index = {}, 3, 0
    for item in VGG19_LAYOUT:
        if item == "M":
            index += 1
            continue
        tensors[f"features.{index}.weight"] = torch.randn(int(item), c_in, 3, 3) * 0.05
        tensors[f"features.{index}.bias"] = torch.zeros(int(item))
        c_in, index = int(item), index + 2
    assert len(convs) == 16 and "features.34.weight" in tensors
    path = tmp_path / "vgg19.safetensors"
    save_file(tensors, str(path))
    vgg = VGGFeatures(path)
    assert vgg(torch.zeros(1, 3, 32, 32)).shape == (1, 512, 2, 2) and not any(p.requires_grad for p in vgg.parameters())
    faces = ganzoo.InMemoryData(torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8))
    run = tmp_path / "run"
    ganzoo.train(
        "srgan", faces, steps=2, batch_size=4, progress=False, log_every=1, out_dir=run,
        method_options={"perceptual_weights": str(path), "adversarial": False}, **SR_TINY,
    )  # fmt: skip
    assert "perceptual" in (run / "losses.csv").read_text().splitlines()[0]
    del tensors["features.34.weight"]
    save_file(tensors, str(tmp_path / "partial.safetensors"))
    with pytest.raises(ModelFileError, match="lacks VGG19 weights"):
        VGGFeatures(tmp_path / "partial.safetensors")
    with pytest.raises(ModelFileError, match="do not exist"):
        VGGFeatures(tmp_path / "missing.safetensors")


# -- tiling ----------------------------------------------------------------------------------------------------------


def test_tiles_cover_the_picture_and_blend_without_seams():
    """A local operation (nearest x4 upscaling) run in overlapping tiles equals it run on the whole picture, for
    sizes that do and do not divide, and for a picture smaller than one tile."""
    assert tile_starts(16, 8, 2) == [0, 6, 8] and tile_starts(5, 8, 2) == [0]

    def up(t):
        return F.interpolate(t, scale_factor=4, mode="nearest")

    for h, w in ((16, 16), (19, 23), (5, 7)):
        image = torch.rand(3, h, w)
        out = translate_tiled(up, image, tile=8, scale=4, overlap=2, batch_size=3)
        assert out.shape == (3, 4 * h, 4 * w)
        assert torch.allclose(out, up(image[None])[0], atol=1e-6)
    with pytest.raises(ValueError, match="overlap"):
        translate_tiled(up, torch.rand(3, 8, 8), tile=8, scale=4, overlap=8)


def test_translator_translates_a_large_picture_in_tiles_and_the_cli_writes_it(tmp_path):
    model = ganzoo.create("srgan", seed=0, **SR_TINY)
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 256, (10, 13, 3), dtype=np.uint8))
    out = model.translate_tiled(picture, output="pil")[0]
    assert out.size == (52, 40)
    # an untrained model is bicubic per tile: close to bicubic of the whole picture away from the tile seams
    model.save(tmp_path / "sr")
    picture.save(tmp_path / "photo.png")
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["translate", str(tmp_path / "sr"), str(tmp_path / "photo.png"), "-o", str(tmp_path / "big.png"), "--tile"],
    )
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "big.png").size == (52, 40)
    again = runner.invoke(
        main,
        ["translate", str(tmp_path / "sr"), str(tmp_path / "photo.png"), "-o", str(tmp_path / "big.png"), "--tile"],
    )
    assert again.exit_code != 0 and "--overwrite" in again.output
    two = runner.invoke(
        main,
        ["translate", str(tmp_path / "sr"), str(tmp_path / "photo.png"), str(tmp_path / "photo.png"), "-o",
         str(tmp_path / "x.png"), "--tile"],
    )  # fmt: skip
    assert two.exit_code != 0 and "exactly one INPUT" in two.output
    # without --tile: a grid of input (enlarged) | output at the output's size
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "small.png")
    grid = runner.invoke(
        main, ["translate", str(tmp_path / "sr"), str(tmp_path / "small.png"), "-o", str(tmp_path / "g.png")]
    )
    assert grid.exit_code == 0, grid.output
    assert Image.open(tmp_path / "g.png").size[1] == 16 + 4  # one row of 16-px pictures, 2-px padding


# -- context encoder -------------------------------------------------------------------------------------------------


def test_context_encoder_keeps_the_context_and_takes_masks():
    model = ganzoo.create("context-encoder", seed=0, **CE_TINY).eval()
    assert [s.name for s in model.inputs] == ["images", "mask"] and model.inputs[1].kind == "mask"
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    out = model.translate(x, output="raw")  # default: the centre hole it was trained for
    hole = center_mask(2, 32, 16).bool().expand_as(x)
    assert torch.equal(out[~hole], x[~hole]) and not torch.equal(out[hole], x[hole])
    box = np.zeros((32, 32), np.uint8)
    box[:4, :4] = 255
    out = model.translate(x, mask=box, output="raw")
    assert torch.equal(out[:, :, 4:], x[:, :, 4:]) and not torch.equal(out[:, :, :4, :4], x[:, :, :4, :4])
    # the hole's content never reaches the network
    y = x.clone()
    y[hole] = 0.5
    assert torch.equal(model.translate(y, output="raw"), model.translate(x, output="raw"))
    randomly = ganzoo.create("context-encoder", seed=0, **{**CE_TINY, "hole": "random"})
    with pytest.raises(ValueError, match="pass mask="):
        randomly.translate(x)
    with pytest.raises(ValueError, match="takes no mask"):
        ganzoo.create("srgan", **SR_TINY).translate(torch.zeros(1, 3, 4, 4), mask=box)
    with pytest.raises(ConfigError, match="hole"):
        ganzoo.create("context-encoder", **{**CE_TINY, "hole": "left"})


def test_context_encoder_learns_to_fill_a_constant_hole(tmp_path):
    """Faces that are one flat colour each: after a few dozen L2 steps the fill is far closer than grey."""
    colours = torch.randint(0, 256, (32, 3, 1, 1), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    flat = ganzoo.InMemoryData(colours.expand(-1, -1, 32, 32).contiguous(), description="flat colours")
    model = ganzoo.train(
        "context-encoder", flat, steps=60, batch_size=16, lr=2e-3, progress=False, ema=0,
        method_options={"adversarial": False}, **{**CE_TINY, "g_width": 8, "bottleneck": 32},
    )  # fmt: skip
    x = flat.fields["image"].float() / 127.5 - 1
    out = model.translate(x, output="raw")
    hole = center_mask(len(x), 32, 16).bool().expand_as(x)
    assert (out - x)[hole].abs().mean() < 0.5 * x[hole].abs().mean()


# -- metrics ---------------------------------------------------------------------------------------------------------


def test_restoration_metrics_on_clean_images(celeba_file):
    """A restoration model is scored on clean test faces: its config degrades them; SR reports PIL's bicubic
    upscaling of the same inputs as its baseline; inpainting reports PSNR in the hole."""
    data = f"celeba:{celeba_file}"
    sr = ganzoo.create("srgan", seed=0, image_size=64, scale=4, g_width=4, blocks=1, d_width=4)
    result = evaluate_translation(sr, data, ["pixel-fidelity"], data_options={"split": "test"})
    scores = result["metrics"]["pixel-fidelity"]
    assert scores["n"] == 4 and scores["input_baseline_kind"] == "bicubic"
    faces = np.load(celeba_file)["images"][4:]
    small = downscale(torch.from_numpy(faces).permute(0, 3, 1, 2).float() / 127.5 - 1, 4)
    small = ((small + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    big = np.stack([np.asarray(Image.fromarray(s).resize((64, 64), Image.BICUBIC)) for s in small]) / 255
    manual = np.mean([10 * np.log10(1 / np.mean((b - f / 255) ** 2)) for b, f in zip(big, faces, strict=True)])
    assert abs(scores["input_baseline"]["psnr"] - manual) < 1e-4
    assert scores["psnr"] > 25  # an untrained SRResNet is (torch's) bicubic: close to the baseline on smooth faces
    ce = ganzoo.create("context-encoder", seed=0, **{**CE_TINY, "image_size": 64, "hole_size": 32})
    scores = evaluate_translation(ce, data, ["pixel-fidelity"], data_options={"split": "test"})["metrics"]
    scores = scores["pixel-fidelity"]
    assert scores["hole_psnr"] < scores["psnr"]  # the copied context flatters the whole picture's PSNR
    # the input baseline is the grey hole: its hole PSNR is what a grey fill scores, measured by hand
    faces = np.load(celeba_file)["images"][4:].astype(np.float64) / 255
    grey = np.full_like(faces[:, 16:48, 16:48], 128 / 255)
    manual = np.mean(
        [10 * np.log10(1 / np.mean((g - f) ** 2)) for g, f in zip(grey, faces[:, 16:48, 16:48], strict=True)]
    )
    assert abs(scores["input_baseline"]["hole_psnr"] - manual) < 1e-4


# -- latent search ---------------------------------------------------------------------------------------------------


def test_poisson_blend_recovers_a_picture_from_its_gradients():
    """Seamless cloning of a fill that differs from the truth by a constant restores the truth."""
    images = torch.rand(2, 3, 16, 16) * 1.6 - 0.8
    mask = center_mask(2, 16, 8)
    blended = poisson_blend(images + 0.15, images, mask, iterations=2000)
    assert (blended - images).abs().max() < 1e-3


def test_latent_search_fits_the_context_and_keeps_it():
    generator = ganzoo.create("dcgan", seed=0, image_size=16, g_width=4, d_width=4, z_dim=8).eval()
    target = generator.sample(2, seed=5, output="raw")  # pictures the generator can make exactly
    mask = center_mask(2, 16, 8)
    assert importance_weights(mask)[0, 0, 8, 8] == 0 and importance_weights(mask)[0, 0, 3, 8] > 0
    short = latent_inpaint(generator, target, mask, steps=1, blend="paste")
    long = latent_inpaint(generator, target, mask, steps=150, lr=0.05, blend="paste")
    assert long.context_loss.mean() < short.context_loss.mean()
    known = ~mask.bool().expand_as(target)
    assert torch.equal(long.completed[known], target[known])
    with pytest.raises(ValueError, match="unconditional image generator"):
        latent_inpaint(ganzoo.create("srgan", **SR_TINY), torch.zeros(1, 3, 16, 16), mask[:1])


def test_cli_inpaint_with_a_context_encoder_and_by_latent_search(tmp_path):
    ce = ganzoo.create("context-encoder", seed=0, **CE_TINY)
    ce.save(tmp_path / "ce")
    ganzoo.create("dcgan", seed=0, image_size=32, g_width=4, d_width=4, z_dim=8).save(tmp_path / "dcgan")
    for i in range(2):
        Image.fromarray(np.full((32, 32, 3), 60 * i, np.uint8)).save(tmp_path / f"face{i}.png")
    runner = CliRunner()
    faces = [str(tmp_path / "face0.png"), str(tmp_path / "face1.png")]
    result = runner.invoke(main, ["inpaint", str(tmp_path / "ce"), *faces, "-o", str(tmp_path / "a.png"),
                                  "--hole", "4,4,8,8", "--each", str(tmp_path / "each")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "a.png").size == (3 * 2 * 34 + 2, 34 + 2) and (tmp_path / "each/face1.png").is_file()
    done = np.asarray(Image.open(tmp_path / "each/face1.png"))
    assert (done[12:, :] == 60).all() and not (done[4:12, 4:12] == 60).all()
    result = runner.invoke(main, ["inpaint", str(tmp_path / "dcgan"), faces[0], "-o", str(tmp_path / "b.png"),
                                  "--steps", "3"])  # fmt: skip
    assert result.exit_code == 0 and "latent search" in result.output, result.output
    bad = runner.invoke(main, ["inpaint", str(tmp_path / "ce"), faces[0], "-o", str(tmp_path / "c.png"), "--hole", "x"])
    assert bad.exit_code != 0 and "X,Y,W,H" in bad.output
    sr = ganzoo.create("srgan", **SR_TINY)
    sr.save(tmp_path / "sr")
    refused = runner.invoke(main, ["inpaint", str(tmp_path / "sr"), faces[0], "-o", str(tmp_path / "d.png")])
    assert refused.exit_code != 0 and "cannot inpaint" in refused.output


# -- export and serving ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("restoration")
    ce = ganzoo.create("context-encoder", seed=0, **CE_TINY).eval()
    sr = ganzoo.create("srgan", seed=0, **SR_TINY).eval()
    return {
        "ce": (ce, OnnxTranslator(export_onnx(ce, folder / "ce.onnx").path)),
        "sr": (sr, OnnxTranslator(export_onnx(sr, folder / "sr.onnx").path)),
        "folder": folder,
    }


def test_onnx_translators_match_pytorch_with_masks_and_scales(exported):
    ce, onnx_ce = exported["ce"]
    sr, onnx_sr = exported["sr"]
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    assert onnx_ce.mask_spec is not None and onnx_sr.mask_spec is None
    for mask in (None, box_mask(3, 32, (2, 3, 10, 12)).numpy()):
        ours = onnx_ce.translate(images, mask=mask).astype(int)
        theirs = ce.translate(images, mask=mask, output="numpy").astype(int)
        assert np.abs(ours - theirs).max() <= 1
    small = images[:, :4, :4]
    assert np.abs(onnx_sr.translate(small).astype(int) - sr.translate(small, output="numpy").astype(int)).max() <= 1
    assert onnx_sr.translate(small).shape == (3, 16, 16, 3)
    with pytest.raises(ValueError, match="takes no mask"):
        onnx_sr.translate(small, mask=np.zeros((4, 4)))
    assert onnx_ce.hole_mask("4,4,8,8", 1)[0, 0, 4:12, 4:12].all() and onnx_ce.hole_mask(None, 2).sum() == 2 * 256


def test_server_takes_mask_tensors_and_hole_queries(exported):
    ce, onnx_ce = exported["ce"]
    app = create_app({"ce": onnx_ce, "sr": exported["sr"][1]}, max_queue_delay=0.0)
    image = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    with TestClient(app) as c:
        meta = c.get("/v2/models/ce").json()
        assert [i["name"] for i in meta["inputs"]] == ["images", "mask"]
        mask = box_mask(1, 32, (0, 0, 8, 8)).numpy()
        body = {
            "inputs": [
                {"name": "images", "datatype": "UINT8", "shape": [1, 32, 32, 3], "data": image.ravel().tolist()},
                {"name": "mask", "datatype": "FP32", "shape": [1, 1, 32, 32], "data": mask.ravel().tolist()},
            ]
        }
        out = c.post("/v2/models/ce/infer", json=body)
        assert out.status_code == 200, out.text
        got = np.asarray(out.json()["outputs"][0]["data"], np.float32).reshape(1, 3, 32, 32)
        expected = ce.translate(image[None], mask=mask, output="raw").numpy()
        assert np.abs(got - expected).max() < 1e-4
        body["inputs"] = body["inputs"][:1]  # a centre model's mask may be left out: the centre hole
        assert c.post("/v2/models/ce/infer", json=body).status_code == 200
        body["inputs"].append({"name": "mask", "datatype": "FP32", "shape": [1, 32, 32], "data": [0.0] * 1024})
        bad = c.post("/v2/models/ce/infer", json=body)
        assert bad.status_code == 400 and "[n, 1, H, W]" in bad.json()["error"]
        png = c.post("/v2/models/ce/translate.png?hole=0,0,8,8", content=_png(image))
        assert png.status_code == 200
        filled = np.asarray(Image.open(io.BytesIO(png.content)))
        assert (filled[8:] == image[8:]).all() and not (filled[:8, :8] == image[:8, :8]).all()
        bad = c.post("/v2/models/ce/translate.png?hole=40,0,8,8", content=_png(image))
        assert bad.status_code == 400 and "inside" in bad.json()["error"]
        sr = c.post("/v2/models/sr/translate.png", content=_png(image[:4, :4]))
        assert sr.status_code == 200 and Image.open(io.BytesIO(sr.content)).size == (16, 16)


def test_triton_repository_declares_the_mask_input(exported):
    from ganzoo.exporters.triton import export_triton

    ce = exported["ce"][0]
    repo = exported["folder"] / "triton"
    export_triton(ce, repo, name="inpaint")
    text = (repo / "inpaint" / "config.pbtxt").read_text()
    assert 'name: "mask"' in text and "dims: [ 1, 32, 32 ]" in text.replace("[1, 32, 32]", "[ 1, 32, 32 ]")
    meta = json.loads(exported["ce"][1].metadata["ganzoo.inputs"])
    assert meta[1] == {"name": "mask", "dtype": "float32", "shape": [1, 32, 32], "kind": "mask", "prior": "",
                       "value_range": [0.0, 1.0]}  # fmt: skip


# -- the zoo models --------------------------------------------------------------------------------------------------


def _test_faces(n: int) -> torch.Tensor:
    from ganzoo.plugins.paired_tasks import celeba_faces

    from .conftest import CELEBA

    if not CELEBA.is_file():
        pytest.skip(f"{CELEBA} not found")
    return celeba_faces(CELEBA, split="test").fields["image"][:n].float() / 127.5 - 1


def test_sr_zoo_model_loads_offline_and_beats_bicubic():
    """srgan-celeba-x4: bundled and sha256-checked; on 64 test faces clearly above PIL's bicubic (24.99 against
    22.36 dB on all 988, benchmarks/README.md)."""
    sr = ganzoo.load("srgan-celeba-x4")
    assert sr.training["zoo_name"] == "srgan-celeba-x4" and sr.inputs[0].shape == (3, 16, 16)
    faces = _test_faces(64)
    scores = evaluate_translation(sr, ganzoo.InMemoryData(((faces + 1) * 127.5).round().byte()), ["pixel-fidelity"])
    scores = scores["metrics"]["pixel-fidelity"]
    assert scores["psnr"] > scores["input_baseline"]["psnr"] + 1.5


def test_inpainting_zoo_model_loads_offline_and_beats_a_flat_fill():
    """inpaint-celeba-center: bundled and sha256-checked; fills the centre of test faces far better than grey, and
    never touches the context."""
    ce = ganzoo.load("inpaint-celeba-center")
    assert ce.training["zoo_name"] == "inpaint-celeba-center" and [s.name for s in ce.inputs] == ["images", "mask"]
    faces = _test_faces(64)
    out = ce.translate(faces, output="raw")
    hole = center_mask(len(faces), 64, 32).bool().expand_as(faces)
    assert torch.equal(out[~hole], faces[~hole])
    mse = ((out - faces)[hole] / 2).pow(2).mean()
    grey = (faces[hole] / 2).pow(2).mean()  # grey (0) fill
    assert 10 * torch.log10(1 / mse) > 10 * torch.log10(1 / grey) + 3


def test_init_from_starts_a_second_phase_from_a_saved_model(tmp_path):
    """init_from copies a saved model into the published roles (D starts fresh): SRGAN's adversarial phase can
    branch from the pixel-loss model with other options. A model of another config is refused."""
    faces = ganzoo.InMemoryData(torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8))
    common = dict(batch_size=4, progress=False, log_every=1, **SR_TINY)
    first = ganzoo.train("srgan", faces, steps=3, out_dir=tmp_path / "l1", method_options={"adversarial": False},
                         lr=1e-2, **common)  # fmt: skip
    seen = {}

    def record(step, values, state):
        seen[step] = values

    second = ganzoo.train(
        "srgan", faces, steps=1, lr=1e-12, init_from=str(tmp_path / "l1"), callbacks=[record],
        out_dir=tmp_path / "gan", method_options={"feature_matching_weight": 0}, **common,
    )  # fmt: skip
    for name, p in first.module.state_dict().items():
        torch.testing.assert_close(second.module.state_dict()[name], p, atol=1e-6, rtol=0)
    assert json.loads((tmp_path / "gan" / "config.json").read_text())["training"]["init_from"].endswith("l1")
    assert seen[1]["d_loss"] > 0  # straight into the adversarial phase, with a fresh D
    with pytest.raises(ganzoo.GanzooError, match="same architecture and config"):
        ganzoo.train("srgan", faces, steps=1, init_from=str(tmp_path / "l1"), **{**common, "g_width": 8})
