"""Class-conditional families (issue 15): cGAN, ACGAN (Mod), projection D with conditional batch norm."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import ganzoo
from ganzoo.cli import main
from ganzoo.plugins._conditional_blocks import ConditionalBatchNorm2d
from ganzoo.plugins.conditional import ACGANMethod

TINY = {"z_dim": 8, "image_size": 16, "g_width": 4, "d_width": 4}


def _labelled(n: int = 40) -> ganzoo.InMemoryData:
    g = torch.Generator().manual_seed(0)
    return ganzoo.InMemoryData(
        torch.randint(0, 256, (n, 1, 16, 16), generator=g, dtype=torch.uint8), torch.arange(n) % 10
    )


@pytest.mark.parametrize("architecture", ["cgan", "acgan", "projection"])
def test_families_sample_by_label(architecture):
    """sample(n, labels=...) takes a sequence or one label; labels are required and range-checked."""
    g = ganzoo.create(architecture, seed=0, **TINY)
    assert [s.name for s in g.inputs] == ["z", "labels"]
    assert g.sample(10, seed=0, labels=range(10)).shape == (10, 1, 16, 16)
    assert g.sample(3, seed=0, labels=7).shape == (3, 1, 16, 16)
    with pytest.raises(ValueError, match="class-conditional"):
        g.sample(2, seed=0)
    with pytest.raises(ValueError, match=r"\[0, 9\]"):
        g.sample(2, seed=0, labels=[0, 10])


def test_label_changes_the_sample():
    """The same latent with two labels gives two images: the label reaches G."""
    for architecture in ("cgan", "projection"):
        g = ganzoo.create(architecture, seed=0, **TINY)
        if architecture == "projection":  # conditional batch norm starts label-free (gamma 1, beta 0): perturb it
            with torch.no_grad():
                for m in g.module.modules():
                    if isinstance(m, ConditionalBatchNorm2d):
                        m.beta.weight.normal_()
        z = g.latents(1, seed=3).repeat(2, 1)
        a, b = g.sample(z=z, labels=[0, 5], output="raw")
        assert (a - b).abs().max() > 1e-3 * a.abs().max()


def test_conditional_batch_norm_starts_as_batch_norm():
    """gamma starts at 1 and beta at 0: before training it is plain (affine-free) batch norm."""
    cbn = ConditionalBatchNorm2d(4, 3).train()
    x, y = torch.randn(6, 4, 5, 5), torch.tensor([0, 1, 2, 0, 1, 2])
    torch.testing.assert_close(cbn(x, y), torch.nn.functional.batch_norm(x, None, None, training=True))
    with torch.no_grad():
        cbn.gamma.weight[1] = 2.0
    assert torch.allclose(cbn(x, y)[1], 2 * torch.nn.functional.batch_norm(x, None, None, training=True)[1])


def test_projection_discriminator_is_psi_plus_the_label_projection():
    """D(x, y) = psi(phi(x)) + <embed(y), phi(x)>."""
    arch = ganzoo.get_registry().architectures["projection"]
    cfg = arch.make_config(**TINY)
    d = arch.discriminator(cfg).eval()
    x, y = torch.rand(3, 1, 16, 16) * 2 - 1, torch.tensor([0, 4, 9])
    phi = torch.nn.functional.leaky_relu(d.body(x), 0.2).sum((2, 3))
    expected = d.psi(phi).reshape(-1) + (d.embed(y) * phi).sum(1)
    torch.testing.assert_close(d(x, y), expected)


def test_acgan_classifies_real_samples_only(monkeypatch):
    """The Mod variant: D's class loss sees the real half of the joint pass; G's class loss its fakes."""
    seen = {}
    original = ACGANMethod.extra_discriminator_loss

    def spy(self, batch, fake):
        seen["d"] = (self._real_classes.shape, batch["label"].shape)
        return original(self, batch, fake)

    monkeypatch.setattr(ACGANMethod, "extra_discriminator_loss", spy)
    rows = []
    ganzoo.train(
        "acgan",
        _labelled(),
        steps=2,
        batch_size=8,
        progress=False,
        log_every=1,
        callbacks=[lambda s, m, _: rows.append(m)],
        **TINY,
    )
    assert seen["d"] == ((8, 10), (8,))  # class logits of the 8 real samples, not of the 16 in the joint pass
    assert {"d_class_loss", "d_class_acc", "g_class_loss"} <= set(rows[-1])


def test_acgan_rejects_unknown_options():
    with pytest.raises(TypeError, match="aux_weight"):
        ganzoo.train("acgan", _labelled(), steps=1, batch_size=8, progress=False, method_options={"x": 1}, **TINY)


def test_conditional_preview_is_a_class_grid(tmp_path):
    """The progress picture has one column per class."""
    ganzoo.train("cgan", _labelled(), steps=1, batch_size=8, progress=False, out_dir=tmp_path, **TINY)
    width, _ = Image.open(tmp_path / "samples.png").size
    assert width == 10 * 16 + 11 * 2  # 10 columns of 16 px with 2 px padding


def test_cli_grid_by_class_and_labels(tmp_path):
    """`ganzoo sample --grid-by-class` draws one row per class; --label picks a class; neither is an error."""
    ganzoo.save(ganzoo.create("cgan", seed=0, **TINY), tmp_path / "g")
    out = tmp_path / "grid.png"
    result = CliRunner().invoke(main, ["sample", str(tmp_path / "g"), "--grid-by-class", "-n", "4", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert Image.open(out).size == (4 * 16 + 5 * 2, 10 * 16 + 11 * 2)
    grid = np.asarray(Image.open(out).convert("L"))
    rows = [grid[2 + k * 18 : 2 + k * 18 + 16] for k in range(10)]
    assert not all(np.array_equal(rows[0], r) for r in rows[1:])  # rows differ by class
    result = CliRunner().invoke(main, ["sample", str(tmp_path / "g"), "--label", "3", "-o", str(out)])
    assert result.exit_code == 2 and "exists; pass --overwrite" in result.output  # never clobbered silently
    result = CliRunner().invoke(main, ["sample", str(tmp_path / "g"), "--label", "3", "-o", str(out), "--overwrite"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["sample", str(tmp_path / "g"), "-o", str(out), "--overwrite"])
    assert result.exit_code == 2 and "--grid-by-class" in result.output


def test_trains_on_fashion_mnist_with_its_labels(tmp_path):
    """The README's command shape: a conditional family on Fashion-MNIST 32 px with the file's labels."""
    from .conftest import FASHION

    if not FASHION.is_file():
        pytest.skip(f"{FASHION} not found")
    g = ganzoo.train(
        "projection", f"fashion-mnist:{FASHION}", steps=2, batch_size=8, progress=False, z_dim=8, g_width=4, d_width=4
    )
    assert g.sample(10, seed=0, labels=range(10)).shape == (10, 1, 32, 32)


def test_infogan_codes_are_inputs_drawn_from_the_seed_or_given():
    """InfoGAN's codes are in the input spec: drawn from their priors by seed, or fixed with codes=."""
    g = ganzoo.create("infogan", seed=0, **TINY)
    assert [(s.name, s.prior) for s in g.inputs] == [
        ("z", "normal"),
        ("code", "categorical"),
        ("continuous", "uniform"),
    ]
    a, b = g.sample(4, seed=0, output="raw"), g.sample(4, seed=0, output="raw")
    assert torch.equal(a, b)
    fixed = g.sample(4, seed=0, codes={"code": 3}, output="raw")
    assert not torch.equal(a, fixed)
    with pytest.raises(ValueError, match=r"code must lie in \[0, 9\]"):
        g.sample(2, seed=0, codes={"code": 12})
    with pytest.raises(ValueError, match="takes no input"):
        g.sample(2, seed=0, codes={"style": 1.0})


def test_infogan_traversal_varies_one_code_only():
    """traverse(): rows keep their latent and other codes, columns walk the chosen code."""
    g = ganzoo.create("infogan", seed=0, **TINY)
    values = np.linspace(-1, 1, 5)
    walk = g.traverse("continuous", values=values, n=2, seed=1, output="raw")
    assert walk.shape == (10, 1, 16, 16)
    # the same traversal by hand: sample()'s latents and codes for row 0, continuous[0] set to each value
    from ganzoo.sampling import draw_codes, latents

    codes = draw_codes(g.inputs, 2, 1)
    cont = np.repeat(codes["continuous"][:1], 5, axis=0)
    cont[:, 0] = values
    by_hand = g.sample(
        z=np.repeat(latents(2, 8, 1)[:1], 5, axis=0),
        codes={"code": np.repeat(codes["code"][:1], 5), "continuous": cont},
        output="raw",
    )
    torch.testing.assert_close(walk[:5], by_hand)
    with pytest.raises(ValueError, match="not a code"):
        g.traverse("z", values=[0, 1])


def test_cli_traverse_draws_a_code_walk(tmp_path):
    """`ganzoo sample --traverse code` has one column per category; continuous:1 walks element 1; bad codes fail."""
    g = ganzoo.create("infogan", seed=0, **TINY)
    ganzoo.save(g, tmp_path / "g")
    out = tmp_path / "walk.png"
    args = ["sample", str(tmp_path / "g"), "-n", "3", "-o", str(out), "--seed", "2", "--overwrite"]
    result = CliRunner().invoke(main, [*args, "--traverse", "code"])
    assert result.exit_code == 0, result.output
    assert Image.open(out).size == (10 * 16 + 11 * 2, 3 * 16 + 4 * 2)
    expected = g.traverse("code", values=range(10), n=3, seed=2, output="numpy")
    cell = np.asarray(Image.open(out).convert("L"))[2 + 18 : 2 + 18 + 16, 2 + 5 * 18 : 2 + 5 * 18 + 16]
    np.testing.assert_array_equal(cell, expected[1 * 10 + 5][..., 0])  # row 1, column 5
    result = CliRunner().invoke(main, [*args, "--traverse", "continuous:1", "--traverse-steps", "4"])
    assert result.exit_code == 0, result.output
    assert Image.open(out).size == (4 * 16 + 5 * 2, 3 * 16 + 4 * 2)
    result = CliRunner().invoke(main, [*args, "--traverse", "continuous:2"])
    assert result.exit_code == 2 and "INDEX must be 0 to 1" in result.output
    result = CliRunner().invoke(main, [*args, "--traverse", "style"])
    assert result.exit_code == 2 and "not a code" in result.output


def test_infogan_generator_lr_sets_only_g(tmp_path):
    """generator_lr sets G's optimiser only (None: the run's rate); without it G takes an explicit --lr, and the
    paper's 1e-3 only when no lr was given."""

    def rates(tmp: str, **options: Any) -> dict[str, float]:
        ganzoo.train(
            "infogan", _labelled(), steps=1, batch_size=8, progress=False, out_dir=tmp_path / tmp, **options, **TINY
        )
        return ganzoo.load(tmp_path / tmp).training["learning_rates"]

    assert rates("default") == {"generator": 1e-3, "discriminator": 2e-4}
    assert rates("explicit-lr", lr=5e-4) == {"generator": 5e-4, "discriminator": 5e-4}
    assert rates("ttur", lr=5e-4, lr_d=1e-4) == {"generator": 5e-4, "discriminator": 1e-4}
    assert rates("option", lr=2e-4, method_options={"generator_lr": 3e-3}) == {
        "generator": 3e-3,
        "discriminator": 2e-4,
    }
    assert rates("same", lr=2e-4, method_options={"generator_lr": None}) == {"generator": 2e-4, "discriminator": 2e-4}
    with pytest.raises(ValueError, match="generator_lr must be > 0"):
        ganzoo.train("infogan", _labelled(), steps=1, progress=False, method_options={"generator_lr": 0}, **TINY)


def test_infogan_information_term_is_logged_and_the_control_turns_it_off(tmp_path):
    """info / q_code_acc / q_continuous_mse reach losses.csv; info_weight=0 leaves Q untrained."""
    import csv

    common = {"steps": 3, "batch_size": 8, "progress": False, "log_every": 1, **TINY}
    ganzoo.train("infogan", _labelled(), out_dir=tmp_path / "a", **common)
    with open(tmp_path / "a" / "losses.csv", newline="") as f:
        assert {"info", "q_code_acc", "q_continuous_mse"} <= set(next(csv.DictReader(f)))
    states = []
    ganzoo.train(
        "infogan",
        _labelled(),
        method_options={"info_weight": 0.0},
        callbacks=[lambda s, m, st: states.append(st)],
        **common,
    )
    d = states[-1].modules["discriminator"]
    assert all(p.grad is None or p.grad.abs().sum() == 0 for n, p in d.named_parameters() if n.startswith("q_"))


def test_infogan_exports_with_its_codes(tmp_path):
    """The ONNX file takes z, code and continuous; the same seed gives the same images as PyTorch."""
    from ganzoo.exporters.runtime import OnnxGenerator

    g = ganzoo.create("infogan", seed=0, **TINY)
    ganzoo.export(g, tmp_path / "info.onnx")
    onnx_g = OnnxGenerator(tmp_path / "info.onnx")
    assert list(onnx_g.inputs) == ["z", "code", "continuous"]
    np.testing.assert_allclose(
        onnx_g.sample(5, seed=2, output="raw"), g.sample(5, seed=2, output="raw").numpy(), atol=1e-5
    )
    fixed = onnx_g.sample(3, seed=2, codes={"code": 4}, output="raw")
    np.testing.assert_allclose(fixed, g.sample(3, seed=2, codes={"code": 4}, output="raw").numpy(), atol=1e-5)


def test_code_matching_numbers_have_known_answers():
    """Hungarian-matched accuracy and NMI: 1 for a permuted one-to-one table, chance / 0 for a uniform one."""
    from ganzoo.plugins.metrics.codes import matched_accuracy, normalised_mutual_information

    perm = np.random.default_rng(0).permutation(10)
    table = np.zeros((10, 10), np.int64)
    table[np.arange(10), perm] = 50
    accuracy, matching = matched_accuracy(table)
    assert accuracy == 1.0 and matching == perm.tolist()
    assert normalised_mutual_information(table) == pytest.approx(1.0)
    uniform = np.full((10, 10), 7)
    assert matched_accuracy(uniform)[0] == pytest.approx(0.1)
    assert normalised_mutual_information(uniform) == pytest.approx(0.0, abs=1e-12)


def test_infogan_codes_metric_runs_through_evaluate():
    """`infogan-codes` samples each code value, classifies, and reports matched accuracy and NMI in [0, 1]."""
    from .conftest import FASHION

    if not FASHION.is_file():
        pytest.skip(f"{FASHION} not found")
    g = ganzoo.create("infogan", seed=0, z_dim=8, g_width=4, d_width=4)
    result = ganzoo.evaluate(
        g,
        f"fashion-mnist:{FASHION}",
        ["infogan-codes"],
        n=20,
        progress=False,
        resize=True,
        metric_options={"infogan-codes": {"per_code": 5}},
    )
    found = result["metrics"]["infogan-codes"]
    assert 0.1 <= found["matched_accuracy"] <= 1 and 0 <= found["nmi"] <= 1
    assert np.asarray(found["table"]).sum() == 50
    with pytest.raises(ganzoo.GanzooError, match="categorical code"):
        ganzoo.evaluate(
            ganzoo.create("cgan", **{**TINY, "image_size": 32}),
            f"fashion-mnist:{FASHION}",
            ["infogan-codes"],
            n=20,
            progress=False,
            resize=True,
        )


def test_cgan_fashion_zoo_model_loads_offline_and_draws_the_asked_classes():
    """The bundled zoo model: loads offline with its sha256 checked; the shipped classifier agrees with its labels."""
    from ganzoo.plugins.metrics.fashion_classifier import load_fashion_classifier

    g = ganzoo.load("cgan-fashion")
    assert g.training["zoo_name"] == "cgan-fashion" and g.task == "class-conditional"
    labels = torch.arange(10).repeat_interleave(20)
    images = g.sample(200, seed=0, labels=labels, output="numpy")  # uint8 NHWC
    logits, _ = load_fashion_classifier().predict(torch.from_numpy(images.transpose(0, 3, 1, 2).copy()))
    assert (logits.argmax(1) == labels.numpy()).mean() > 0.85  # 97.2 % on 10,000 samples (benchmarks/README.md)
