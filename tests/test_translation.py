"""Image-to-image families (issue 16): pix2pix and CycleGAN networks and methods, the built-in paired and unpaired
tasks, translation metrics and ``ganzoo translate``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import ganzoo
from ganzoo.cli import main
from ganzoo.config import ConfigError
from ganzoo.errors import DataError
from ganzoo.plugins._blocks import ImagePool, PatchDiscriminator, UNet, patch_receptive_field
from ganzoo.plugins.paired_tasks import sobel_edges, to_grey

P2P_TINY = {"image_size": 32, "in_channels": 1, "channels": 3, "g_width": 4, "d_width": 4, "depth": 5}
CYCLE_TINY = {"image_size": 16, "channels": 1, "in_channels": 1, "g_width": 4, "d_width": 4, "blocks": 1, "d_layers": 2}


@pytest.fixture
def celeba_file(tmp_path):
    """A CelebA-layout .npz: 6 faces with train ids, 2 validation, 3 test (CelebA's official partition)."""
    ids = ["000001", "050000", "100000", "150000", "160000", "162770", "162771", "182637", "182638", "190000", "202599"]
    images = np.random.default_rng(0).integers(0, 256, (len(ids), 64, 64, 3), dtype=np.uint8)
    path = tmp_path / "celeba.npz"
    np.savez(path, images=images, ids=np.array(ids))
    return path


@pytest.fixture
def fashion_file(tmp_path):
    """A Keras-layout Fashion-MNIST .npz: 8 sandals (5), 12 sneakers (7), 4 bags (8)."""
    labels = np.array([5] * 8 + [7] * 12 + [8] * 4, np.uint8)
    images = np.random.default_rng(0).integers(0, 256, (len(labels), 28, 28), dtype=np.uint8)
    path = tmp_path / "fashion.npz"
    np.savez(path, x_train=images, y_train=labels, x_test=images[:6], y_test=labels[:6])
    return path


# -- networks ------------------------------------------------------------------------------------------------------


def test_patchgan_receptive_field_and_output_grid():
    """3 layers: the papers' 70x70 patches; at 64 px a 6x6 grid of logits (one per overlapping patch)."""
    assert [patch_receptive_field(n) for n in (1, 2, 3, 4)] == [16, 34, 70, 142]
    assert PatchDiscriminator(4, width=8, layers=3)(torch.zeros(2, 4, 64, 64)).shape == (2, 1, 6, 6)


def test_unet_skips_carry_the_input_to_the_output():
    """A U-Net's outermost skip: with every layer but the last up-conv zeroed, the output still depends on the
    input through the skip concatenation (a plain encoder-decoder would lose it at the 1x1 bottleneck)."""
    net = UNet(1, 1, depth=5, width=4).eval()
    levels = [m for m in net.modules() if type(m).__name__ == "UNetLevel"]
    assert len(levels) == 5
    with pytest.raises(ValueError, match="at least 5"):
        UNet(1, 1, depth=4)
    x = torch.rand(1, 1, 32, 32) * 2 - 1
    assert net(x).shape == (1, 1, 32, 32)
    dropouts = [m for m in UNet(1, 1, depth=8, width=2).modules() if isinstance(m, torch.nn.Dropout)]
    assert len(dropouts) == 3  # the three 8x-width decoder levels above the bottom, as the paper's CD512 x 3


def test_pix2pix_config_checks():
    with pytest.raises(ConfigError, match="power of two"):
        ganzoo.create("pix2pix", image_size=48)
    with pytest.raises(ConfigError, match="depth must be from 5 to log2"):
        ganzoo.create("pix2pix", image_size=32, depth=6)
    assert ganzoo.create("pix2pix", image_size=64, g_width=2, d_width=2).config.unet_depth == 6
    with pytest.raises(ConfigError, match="same channels"):
        ganzoo.create("cyclegan", in_channels=1, channels=3)


def test_pix2pix_test_dropout_is_random_and_refuses_export(tmp_path):
    """test_dropout=True keeps the paper's noisy inference in PyTorch; export refuses it with the fix named."""
    # depth 5 has no 8x-width middle level, so no dropout: 64 px and depth 6 has one
    noisy = ganzoo.create("pix2pix", seed=0, **{**P2P_TINY, "image_size": 64, "depth": 6}, test_dropout=True)
    x = torch.rand(2, 1, 64, 64) * 2 - 1
    assert not torch.equal(noisy.translate(x, output="raw"), noisy.translate(x, output="raw"))
    calm = ganzoo.create("pix2pix", seed=0, **{**P2P_TINY, "image_size": 64, "depth": 6})
    assert torch.equal(calm.translate(x, output="raw"), calm.translate(x, output="raw"))
    from ganzoo.exporters.onnx import ExportError, export_onnx

    with pytest.raises(ExportError, match="test_dropout=False"):
        export_onnx(noisy, tmp_path / "noisy.onnx")


# -- methods -------------------------------------------------------------------------------------------------------


def _pairs(n: int = 8) -> ganzoo.InMemoryData:
    target = torch.randint(0, 256, (n, 3, 32, 32), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    return ganzoo.InMemoryData({"source": target[:, :1].clone(), "target": target})


def test_pix2pix_l1_alone_never_touches_d():
    """adversarial=False is the paper's L1-only ablation: D gets no gradient and its optimiser never steps."""
    states = []
    ganzoo.train(
        "pix2pix",
        _pairs(),
        steps=2,
        batch_size=4,
        progress=False,
        log_every=1,
        method_options={"adversarial": False},
        callbacks=[lambda s, m, st: states.append((m, st))],
        **P2P_TINY,
    )
    metrics, state = states[-1]
    assert all(p.grad is None for p in state.modules["discriminator"].parameters())
    assert not state.optimizers["discriminator"].state and state.optimizers["generator"].state
    assert float(metrics["l1"]) > 0


def test_pix2pix_refuses_sources_of_the_wrong_shape():
    colour = torch.zeros(4, 3, 32, 32, dtype=torch.uint8)
    with pytest.raises(DataError, match="set in_channels=3"):
        ganzoo.train("pix2pix", ganzoo.InMemoryData({"source": colour, "target": colour}), steps=1, **P2P_TINY)


def test_image_pool_fills_then_swaps_half_and_round_trips():
    """Until full every fake passes and is kept; then about half are swapped for stored ones; state restores."""
    pool = ImagePool(4, (1, 2, 2), torch.device("cpu"), seed=0)
    first = torch.arange(4.0).reshape(4, 1, 1, 1).expand(4, 1, 2, 2).clone()
    assert torch.equal(pool.query(first), first) and pool.filled == 4
    swapped = 0
    for k in range(50):
        new = torch.full((4, 1, 2, 2), 100.0 + k)
        swapped += int((pool.query(new)[:, 0, 0, 0] != 100.0 + k).sum())
    assert 60 < swapped < 140  # ~ 100 of 200 swapped
    tensors, extra = pool.state("p")
    twin = ImagePool(4, (1, 2, 2), torch.device("cpu"), seed=99)
    twin.load("p", {k: v.clone() for k, v in tensors.items()}, extra)
    probe = torch.full((4, 1, 2, 2), -1.0)
    assert torch.equal(pool.query(probe.clone()), twin.query(probe.clone()))
    assert torch.equal(ImagePool(0, (1,), torch.device("cpu")).query(probe), probe)


def test_cyclegan_publishes_both_directions_by_alias(tmp_path):
    model = ganzoo.create("cyclegan", seed=0, **CYCLE_TINY)
    assert model.roles == ("g_ab", "g_ba")
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    assert torch.equal(
        model.translate(x, direction="a2b", output="raw"), model.translate(x, direction="g_ab", output="raw")
    )
    assert not torch.equal(
        model.translate(x, direction="a2b", output="raw"), model.translate(x, direction="b2a", output="raw")
    )
    with pytest.raises(ValueError, match=r"g_ab \(a2b\), g_ba \(b2a\)"):
        model.translate(x)


# -- built-in tasks ------------------------------------------------------------------------------------------------


def test_celeba_tasks_split_by_the_official_partition(celeba_file):
    counts = {
        s: len(ganzoo.resolve_data(f"celeba-colorize:{celeba_file}", split=s)) for s in ("train", "val", "test", "all")
    }
    assert counts == {"train": 6, "val": 2, "test": 3, "all": 11}
    data = ganzoo.resolve_data(f"celeba-colorize:{celeba_file}", split="test")
    source, target = data.fields["source"], data.fields["target"]
    assert source.shape == (3, 1, 64, 64) and target.shape == (3, 3, 64, 64)
    # the source is PIL's "L" conversion (BT.601 luma) of the target
    pil_grey = np.asarray(Image.fromarray(target[0].permute(1, 2, 0).numpy()).convert("L")).astype(int)
    assert np.abs(source[0, 0].numpy().astype(int) - pil_grey).max() <= 1
    edges = ganzoo.resolve_data(f"celeba-edges:{celeba_file}", split="val", image_size=32, resize=True)
    assert edges.fields["source"].shape == (2, 1, 32, 32) and edges.fields["target"].shape == (2, 3, 32, 32)
    with pytest.raises(DataError, match="choose one of train, val, test, all"):
        ganzoo.resolve_data(f"celeba-colorize:{celeba_file}", split="dev")


def test_celeba_tasks_need_ids(tmp_path):
    np.savez(tmp_path / "faces.npz", images=np.zeros((2, 64, 64, 3), np.uint8))
    with pytest.raises(DataError, match="needs 'images' and 'ids'"):
        ganzoo.resolve_data(f"celeba-colorize:{tmp_path / 'faces.npz'}")


def test_sobel_edges_known_answers():
    """Flat pictures have no edges (all white); a vertical step gives a dark line along it, nowhere else."""
    flat = np.full((1, 8, 8, 3), 90, np.uint8)
    assert (sobel_edges(flat) == 255).all()
    step = np.zeros((1, 8, 8, 1), np.uint8)
    step[:, :, 4:] = 200
    edges = sobel_edges(step)[0, :, :, 0]
    assert (edges[:, 3:5] == 0).all() and (edges[:, :2] == 255).all() and (edges[:, 6:] == 255).all()
    assert to_grey(np.array([[[[255, 0, 0]]]], np.uint8))[0, 0, 0, 0] == 76  # 0.299 * 255


def test_fashion_unpaired_picks_two_classes(fashion_file):
    data = ganzoo.resolve_data(f"fashion-mnist-unpaired:{fashion_file}", image_size=32)
    assert data.unpaired and data.fields["a"].shape == (8, 1, 32, 32) and data.fields["b"].shape == (12, 1, 32, 32)
    bags = ganzoo.resolve_data(f"fashion-mnist-unpaired:{fashion_file}", a="Bag", b=5)
    assert len(bags.fields["a"]) == 4 and len(bags.fields["b"]) == 8
    with pytest.raises(DataError, match="two different classes"):
        ganzoo.resolve_data(f"fashion-mnist-unpaired:{fashion_file}", a=7, b="sneaker")
    with pytest.raises(DataError, match="unknown Fashion-MNIST class 'boot'"):
        ganzoo.resolve_data(f"fashion-mnist-unpaired:{fashion_file}", a="boot")


def test_cyclegan_trains_on_the_fashion_task_and_resumes(fashion_file, tmp_path):
    """The README's command shape, 2 + 2 steps with a resume in between: the pools come back with the run."""
    common = {"batch_size": 4, "progress": False, "log_every": 1, **CYCLE_TINY, "image_size": 32, "d_layers": 2}
    data = f"fashion-mnist-unpaired:{fashion_file}"
    ganzoo.train("cyclegan", data, steps=2, out_dir=tmp_path / "run", method_options={"pool_size": 3}, **common)
    resumed = ganzoo.train(
        "cyclegan", data, steps=4, out_dir=tmp_path / "run", resume=True, method_options={"pool_size": 3}, **common
    )
    whole = ganzoo.train("cyclegan", data, steps=4, method_options={"pool_size": 3}, **common)
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    for direction in ("a2b", "b2a"):
        assert torch.equal(resumed.translate(x, direction=direction), whole.translate(x, direction=direction))


# -- metrics -------------------------------------------------------------------------------------------------------


def test_pixel_scores_match_the_definitions():
    """PSNR = 10 log10(1 / MSE) per image; identical images: L1 0, SSIM 1."""
    from ganzoo.plugins.metrics import pixel_scores

    g = torch.Generator().manual_seed(0)
    a = torch.randint(0, 256, (4, 3, 16, 16), generator=g, dtype=torch.uint8)
    b = (a.int() + torch.randint(-20, 21, a.shape, generator=g)).clamp(0, 255).to(torch.uint8)
    scores = pixel_scores(a, b)
    mse = ((a.double() - b.double()) / 255).pow(2).flatten(1).mean(1)
    assert scores["psnr"] == pytest.approx(float((10 * torch.log10(1 / mse)).mean()), rel=1e-6)
    assert scores["l1"] == pytest.approx(float(((a.double() - b.double()).abs() / 255).mean()), rel=1e-6)
    same = pixel_scores(a, a.clone())
    assert same["l1"] == 0 and same["ssim"] == pytest.approx(1.0)


def test_evaluate_translation_pixel_fidelity_and_baseline(celeba_file):
    """A colouriser scored on the test split, with the grey input as the baseline (its scores do not depend on the
    model)."""
    model = ganzoo.create("pix2pix", seed=0, **{**P2P_TINY, "image_size": 64, "depth": 6})
    result = ganzoo.evaluate_translation(
        model, f"celeba-colorize:{celeba_file}", "pixel-fidelity", data_options={"split": "test"}
    )
    fidelity = result["metrics"]["pixel-fidelity"]
    assert fidelity["n"] == 3 and result["protocol"]["n"] == 3
    assert 0 < fidelity["l1"] < 1 and fidelity["input_baseline"]["ssim"] > fidelity["ssim"] - 1
    with pytest.raises(ganzoo.errors.EvaluationError, match="needs paired data"):
        ganzoo.evaluate_translation(
            ganzoo.create("cyclegan", **{**CYCLE_TINY, "image_size": 32}),
            _two_class_data(),
            "pixel-fidelity",
            direction="a2b",
        )


def _two_class_data():
    return ganzoo.InMemoryData(
        {"a": torch.zeros(4, 1, 32, 32, dtype=torch.uint8), "b": torch.full((4, 1, 32, 32), 255, dtype=torch.uint8)},
        unpaired=True,
    )


def test_translation_accuracy_on_real_sneakers():
    """Real Fashion-MNIST test sneakers passed through an identity 'translator' score the classifier's own
    accuracy on sneakers (about 0.97), and 0 as sandals."""
    from .conftest import FASHION

    if not FASHION.is_file():
        pytest.skip(f"{FASHION} not found")
    from ganzoo.evaluation.translation import TranslationBatch
    from ganzoo.plugins.metrics import TranslationAccuracy

    data = ganzoo.resolve_data(f"fashion-mnist-unpaired:{FASHION}", split="test", image_size=32)
    sneakers = data.fields["b"][:300]
    metric = TranslationAccuracy(target_class="sneaker")
    metric.update_pairs(TranslationBatch(sneakers, sneakers))
    assert metric.compute()["accuracy"] > 0.9
    metric = TranslationAccuracy(target_class="sandal")
    metric.update_pairs(TranslationBatch(sneakers, sneakers))
    assert metric.compute()["accuracy"] < 0.1


# -- CLI -----------------------------------------------------------------------------------------------------------


def test_cli_translate_pairs_folder_and_errors(tmp_path):
    ganzoo.save(ganzoo.create("pix2pix", seed=0, **P2P_TINY), tmp_path / "m")
    pictures = tmp_path / "pics"
    pictures.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (32, 64, 3), dtype=np.uint8)).save(pictures / f"{i}.png")
    out = tmp_path / "grid.png"
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["translate", str(tmp_path / "m"), str(pictures), "-o", str(out), "--pairs", "--each", str(tmp_path / "each")],
    )
    assert result.exit_code == 0, result.output
    assert Image.open(out).size == (9 * 32 + 10 * 2, 32 + 2 * 2)  # one row: 3 x (source | output | target)
    assert sorted(p.name for p in (tmp_path / "each").iterdir()) == ["0.png", "1.png", "2.png"]
    again = ["translate", str(tmp_path / "m"), str(pictures), "-o", str(tmp_path / "z.png"), "--pairs"]
    result = runner.invoke(main, [*again, "--each", str(tmp_path / "each")])
    assert result.exit_code == 2 and "--each" in result.output and "0.png exists" in result.output
    result = runner.invoke(main, ["translate", str(tmp_path / "m"), str(pictures), "-o", str(out)])
    assert result.exit_code == 2 and "exists; pass --overwrite" in result.output
    result = runner.invoke(main, ["translate", str(tmp_path / "m"), str(pictures), "-o", str(out), "--overwrite"])
    assert result.exit_code == 1 and "Pass --resize" in result.output
    result = runner.invoke(
        main, ["translate", str(tmp_path / "m"), str(tmp_path / "missing"), "-o", str(tmp_path / "y.png")]
    )
    assert result.exit_code == 2 and "no such file or folder" in result.output
    ganzoo.save(ganzoo.create("dcgan", seed=0, z_dim=4, image_size=16, g_width=2, d_width=2), tmp_path / "g")
    result = runner.invoke(main, ["translate", str(tmp_path / "g"), str(pictures), "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 1 and "does not translate" in result.output


# -- export and serving ---------------------------------------------------------------------------------------------


def test_pix2pix_serves_grey_uploads_and_oip_requests(tmp_path):
    """A grey -> colour pix2pix exported and served: a PNG upload (colour pictures are converted to the model's one
    channel) comes back as the RGB translation; an OIP infer request gives the same pixels as OnnxTranslator."""
    import io

    from starlette.testclient import TestClient

    from ganzoo.exporters.runtime import OnnxTranslator
    from ganzoo.exporters.server import create_app

    model = ganzoo.create("pix2pix", seed=0, **P2P_TINY)
    path = ganzoo.export(model, tmp_path / "p2p.onnx")
    runtime = OnnxTranslator(path)
    app = create_app({"colorize": runtime}, max_batch_size=8, max_queue_delay=0.0)
    picture = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    with TestClient(app) as client:
        response = client.post("/v2/models/colorize/translate.png", content=buffer.getvalue())
        assert response.status_code == 200, response.text
        got = np.asarray(Image.open(io.BytesIO(response.content)))
        grey = np.asarray(Image.fromarray(picture).convert("L"))[None, :, :, None]
        assert got.shape == (32, 32, 3)
        np.testing.assert_array_equal(got, runtime.translate(grey)[0])
        x = np.random.default_rng(1).uniform(-1, 1, (2, 1, 32, 32)).astype(np.float32)
        body = {"inputs": [{"name": "images", "shape": [2, 1, 32, 32], "datatype": "FP32", "data": x.ravel().tolist()}]}
        out = client.post("/v2/models/colorize/infer", json=body).json()["outputs"][0]
        assert out["shape"] == [2, 3, 32, 32]
        want = model.translate(x, output="raw").numpy()
        np.testing.assert_allclose(np.asarray(out["data"], np.float32).reshape(out["shape"]), want, atol=1e-5)
        body["inputs"][0]["shape"] = [2, 3, 32, 32]
        assert client.post("/v2/models/colorize/infer", json=body).status_code == 400


def test_cli_trains_pix2pix_on_the_colourisation_task(celeba_file, tmp_path):
    """The README's `ganzoo train pix2pix --data celeba-colorize:FILE` shape, on a tiny config, then translate."""
    runner = CliRunner()
    args = ["train", "pix2pix", "--data", f"celeba-colorize:{celeba_file}", "--steps", "2", "--batch-size", "2"]
    args += ["--set", "image_size=32", "--set", "in_channels=1", "--set", "g_width=4", "--set", "d_width=4"]
    args += ["--set", "depth=5", "--resize", "--lr-decay", "linear", "-o", str(tmp_path / "run"), "-q"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    model = ganzoo.load(tmp_path / "run")
    assert isinstance(model, ganzoo.Translator) and model.training["method"] == "pix2pix"
    assert model.translate(np.zeros((1, 32, 32, 1), np.uint8)).shape == (1, 3, 32, 32)


def test_cyclegan_adversarial_weight_matches_the_papers_mse():
    """With least squares (Mao et al.'s 1/2 factor) G's adversarial terms are doubled to the paper's plain MSE
    against lambda = 10; with other losses they are not; the option overrides both."""
    seen = {}

    def weight(loss, **options):
        ganzoo.train(
            "cyclegan",
            _two_class_data(),
            steps=1,
            batch_size=2,
            progress=False,
            loss=loss,
            method_options=options or None,
            callbacks=[lambda s, m, st: seen.update(w=st.method.adversarial_weight)],
            **{**CYCLE_TINY, "image_size": 32},
        )
        return seen["w"]

    assert weight("least-squares") == 2.0 and weight("non-saturating") == 1.0
    assert weight("least-squares", adversarial_weight=1.0) == 1.0


def test_chroma_only_keeps_the_input_as_luma_and_exports(tmp_path):
    """chroma_only: the output's BT.601 luma is the input wherever no channel clips; it exports with parity."""
    model = ganzoo.create("pix2pix", seed=0, **P2P_TINY, chroma_only=True)
    x = torch.rand(3, 1, 32, 32) * 1.2 - 0.6  # mid-grey inputs: little clipping
    rgb = model.translate(x, output="tensor")  # [0, 1]
    luma = 0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2]
    inside = ((rgb > 0) & (rgb < 1)).all(1)
    assert inside.float().mean() > 0.5
    torch.testing.assert_close(luma[inside], ((x[:, 0] + 1) / 2)[inside], atol=1e-5, rtol=0)
    from ganzoo.exporters.onnx import export_onnx

    report = export_onnx(model, tmp_path / "chroma.onnx")
    assert max(report.parity.values()) <= 1e-4
    with pytest.raises(ConfigError, match="chroma_only colourises"):
        ganzoo.create("pix2pix", **{**P2P_TINY, "in_channels": 3}, chroma_only=True)


# -- the zoo models ------------------------------------------------------------------------------------------------


def test_colorize_zoo_model_loads_offline_and_keeps_the_luma():
    """pix2pix-celeba-colorize: bundled, sha256-checked, offline; RGB out whose luma is the grey picture in."""
    t = ganzoo.load("pix2pix-celeba-colorize")
    assert t.training["zoo_name"] == "pix2pix-celeba-colorize" and t.task == "image-to-image"
    assert t.config.chroma_only and tuple(t.inputs[0].shape) == (1, 64, 64)
    grey = np.tile(np.linspace(60, 200, 64, dtype=np.uint8), (2, 64, 1))[..., None]  # (2, 64, 64, 1) ramps
    rgb = t.translate(grey, output="tensor")
    luma = 0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2]
    inside = ((rgb > 0) & (rgb < 1)).all(1)
    torch.testing.assert_close(luma[inside], torch.from_numpy(grey[..., 0] / 255.0).float()[inside], atol=1e-3, rtol=0)


def test_cyclegan_zoo_model_turns_real_sandals_into_sneakers():
    """cyclegan-fashion-sandal2sneaker: both directions ship; the classifier calls most translated test sandals
    sneakers (95.8 % on all 1,000, benchmarks/README.md) and most translated sneakers sandals."""
    from ganzoo.evaluation.translation import TranslationBatch
    from ganzoo.plugins.metrics import TranslationAccuracy

    from .conftest import FASHION

    shoes = ganzoo.load("cyclegan-fashion-sandal2sneaker")
    assert shoes.roles == ("g_ab", "g_ba")
    if not FASHION.is_file():
        pytest.skip(f"{FASHION} not found")
    test = ganzoo.resolve_data(f"fashion-mnist-unpaired:{FASHION}", split="test", image_size=32)
    for field, direction, target in (("a", "a2b", "sneaker"), ("b", "b2a", "sandal")):
        images = test.fields[field][:200]
        out = torch.from_numpy(shoes.translate(images.float() / 127.5 - 1, direction=direction, output="numpy"))
        metric = TranslationAccuracy(target_class=target)
        metric.update_pairs(TranslationBatch(images, out.permute(0, 3, 1, 2).contiguous()))
        assert metric.compute()["accuracy"] > 0.8
