"""Forward super-resolution (Allen-Zhu & Li 2021): the per-resolution network, layer-wise / joint / random-frozen
training (freezing really freezes, each D sees reals pooled to its level), the per-resolution metrics, exact resume
across a level change, ONNX parity, the CLI and clear errors. Tiny configs on the CPU."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

import ganzoo
from ganzoo.config import ConfigError
from ganzoo.errors import EvaluationError, GanzooError, TrainingWarning
from ganzoo.plugins.fsr import FSRConfig, FSRDiscriminator, FSRGenerator, FSRMethod, upscale
from ganzoo.plugins.metrics.multiscale import downscale_uint8, patch_rows, position_sparsity
from ganzoo.testing import check_architecture, check_method

#: short layer-wise runs end below the final level on purpose; the warning has its own test
pytestmark = pytest.mark.filterwarnings("ignore:fsr layerwise")

TINY = {"z_dim": 8, "image_size": 16, "g_width": 4, "g_max": 16, "d_width": 4, "d_max": 16}  # levels 4, 8, 16 px


def _faces(n: int = 16) -> ganzoo.InMemoryData:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, 16, 16), generator=g, dtype=torch.uint8)
    return ganzoo.InMemoryData(images, description="noise faces")


def _train(steps: int, callbacks=(), **options):
    common = {"steps": steps, "batch_size": 4, "progress": False, "log_every": 1, "device": "cpu", **TINY}
    return ganzoo.train("fsr", _faces(), method_options=options, callbacks=callbacks, **common)


def _level_params(g_net: FSRGenerator, d_net: FSRDiscriminator, level: int) -> dict[str, torch.Tensor]:
    g = {f"g.{i}": p.detach().clone() for i, p in enumerate(g_net.level_parameters(level))}
    d = {f"d.{n}": p.detach().clone() for n, p in d_net.heads[level].named_parameters()}
    return {**g, **d}


def _equal(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# -- the network ---------------------------------------------------------------------------------------------------


def test_pyramid_shapes_and_forward_is_the_final_level():
    """pyramid(z) gives one image per resolution 4..S in [-1, 1]; G(z) is its last level; D judges every size."""
    torch.manual_seed(0)
    cfg = FSRConfig(**TINY)
    G, D = FSRGenerator(cfg).eval(), FSRDiscriminator(cfg).eval()
    z = torch.randn(3, 8)
    levels = G.pyramid(z)
    assert [tuple(x.shape) for x in levels] == [(3, 3, 4, 4), (3, 3, 8, 8), (3, 3, 16, 16)]
    assert all(x.min() >= -1 and x.max() <= 1 for x in levels)
    assert torch.equal(G(z), levels[-1])
    assert [tuple(x.shape) for x in G.pyramid(z, upto=1)] == [(3, 3, 4, 4), (3, 3, 8, 8)]
    assert all(D(x).shape == (3,) for x in levels)
    with pytest.raises(ValueError, match="levels of 4, 8, 16 px, not 32"):
        D(torch.zeros(1, 3, 32, 32))
    assert FSRConfig(image_size=64).resolutions == (4, 8, 16, 32, 64)
    assert [FSRConfig(image_size=64).g_channels(k) for k in range(5)] == [512, 512, 256, 128, 64]


def test_architecture_contract():
    """The registry's kit: shapes, gradients (the lower to-RGB and D heads are method-only), save/load, seeds."""
    check_architecture("fsr")


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("image_size", 24, "power of two from 16 to 128"),
        ("image_size", 8, "power of two from 16 to 128"),
        ("g_norm", "layer", "g_norm must be one of"),
        ("d_norm", "group", "d_norm must be one of"),
        ("g_width", 0, "g_width must be a positive integer"),
    ],
)
def test_bad_config_is_a_clear_error(field, value, match):
    """Config values outside what the network supports are refused, naming the field."""
    with pytest.raises(ConfigError, match=match):
        FSRConfig(**{**TINY, field: value})


# -- training modes ------------------------------------------------------------------------------------------------


def test_layerwise_freezes_the_levels_below_bit_for_bit():
    """Layer-wise: once level l is done, its G layer, output layer, D head and Adam moments never change again."""
    seen: dict[int, dict] = {}

    def snapshot(step, _metrics, state):
        m = state.method
        seen[step] = {k: _level_params(m.G, m.D, k) for k in range(3)} | {
            "adam0": {k: v.clone() for k, v in m.optimizers["generator_level0"].state_dict()["state"][0].items()}
        }

    init = ganzoo.create("fsr", seed=0, **TINY).module
    _train(6, [snapshot], mode="layerwise", level_steps=2)  # steps 0-1: level 0, 2-3: level 1, 4-5: level 2
    init_levels = {k: {f"g.{i}": p.detach() for i, p in enumerate(init.level_parameters(k))} for k in range(3)}
    # level 0 trained, then frozen from step 2 on
    g0 = {k: v for k, v in seen[2][0].items() if k.startswith("g.")}
    assert not _equal(g0, init_levels[0])
    for step in (3, 4, 5, 6):
        assert _equal(seen[step][0], seen[2][0]), f"level 0 moved at step {step}"
        assert _equal(seen[step]["adam0"], seen[2]["adam0"]), "a frozen level's Adam state moved"
    # level 1: untouched before its turn, trained during it, frozen after
    g1 = {k: v for k, v in seen[2][1].items() if k.startswith("g.")}
    assert _equal(g1, init_levels[1])
    assert not _equal(seen[4][1], seen[2][1])
    assert _equal(seen[6][1], seen[4][1])
    # level 2 only trains in the last two steps
    g2 = {k: v for k, v in seen[4][2].items() if k.startswith("g.")}
    assert _equal(g2, init_levels[2]) and not _equal(seen[6][2], seen[4][2])


def test_random_frozen_control_keeps_lower_layers_at_their_random_init():
    """The control: hidden layers 0..L-1 (and their output layers) stay at the initialisation, in the trained
    network and in the published EMA model; the top level trains."""
    last = {}
    init = ganzoo.create("fsr", seed=0, **TINY).module
    model = _train(3, [lambda s, m, state: last.update(G=state.method.G)], mode="random-frozen")
    for name, module in (("trained", last["G"]), ("published", model.module)):
        for k in (0, 1):
            for p, q in zip(module.level_parameters(k), init.level_parameters(k), strict=True):
                assert torch.equal(p, q), f"{name}: level {k} left its random init"
    top = [
        p for p, q in zip(last["G"].level_parameters(2), init.level_parameters(2), strict=True) if not torch.equal(p, q)
    ]
    assert top, "the top level did not train"


def test_each_level_discriminator_sees_reals_average_pooled_to_its_level(monkeypatch):
    """D_l judges reals average-pooled to 4*2^l px; layer-wise judges one level per step, joint all of them."""
    calls: list[tuple[int, torch.Tensor, torch.Tensor]] = []
    batches: list[torch.Tensor] = []
    original_judge, original_reals = FSRMethod.judge_level, FSRMethod.real_levels

    def spy_reals(self, batch):
        batches.append(batch["image"].clone())
        return original_reals(self, batch)

    def spy_judge(self, level, real, fake):
        calls.append((level, real.clone(), batches[-1]))
        return original_judge(self, level, real, fake)

    monkeypatch.setattr(FSRMethod, "real_levels", spy_reals)
    monkeypatch.setattr(FSRMethod, "judge_level", spy_judge)
    _train(3, mode="layerwise", level_steps=1)
    assert [level for level, _, _ in calls] == [0, 1, 2]
    for level, real, full in calls:
        size = 4 * 2**level
        assert real.shape[-1] == size
        torch.testing.assert_close(real, F.avg_pool2d(full, 16 // size))
    calls.clear()
    _train(1, mode="joint")
    assert sorted(level for level, _, _ in calls) == [0, 1, 2]


def test_a_fade_blends_the_new_level_with_the_one_below_for_fakes_and_reals(monkeypatch):
    """fade_steps: in a level's first N steps D sees (1 - a) * up(level below) + a * new level, reals and fakes
    alike, a = (t + 1) / N; after the fade (and at level 0) the level's own images."""
    calls: list[tuple[int, float | None, torch.Tensor, torch.Tensor, torch.Tensor]] = []
    original_judge, original_reals = FSRMethod.judge_level, FSRMethod.real_levels
    seen = {}

    def spy_reals(self, batch):
        seen["batch"] = batch["image"].clone()
        return original_reals(self, batch)

    def spy_judge(self, level, real, fake):
        if not fake.requires_grad:  # D's step (detached fakes); G's step judges the same fakes again
            calls.append((level, self.alpha, real.clone(), fake.clone(), seen["batch"]))
        return original_judge(self, level, real, fake)

    monkeypatch.setattr(FSRMethod, "real_levels", spy_reals)
    monkeypatch.setattr(FSRMethod, "judge_level", spy_judge)
    _train(7, mode="layerwise", level_steps=3, fade_steps=2)  # levels 0 (steps 0-2), 1 (3-5), 2 (6)
    assert [(level, alpha) for level, alpha, *_ in calls] == [
        (0, None), (0, None), (0, None), (1, 0.5), (1, 1.0), (1, None), (2, 0.5)
    ]  # fmt: skip
    pool = F.avg_pool2d
    for level, alpha, real, _fake, full in calls:
        own = pool(full, 16 // (4 * 2**level))
        if alpha is None:
            torch.testing.assert_close(real, own)
        else:
            below = upscale(pool(full, 16 // (2 * 2**level)), 4 * 2**level)
            torch.testing.assert_close(real, (1 - alpha) * below + alpha * own)
    # a half-faded fake lies between the level below (upscaled) and the new level's own image
    _level, alpha, _real, fake, _full = calls[3]
    assert alpha == 0.5 and fake.shape[-1] == 8
    assert not torch.equal(fake, upscale(fake[..., ::2, ::2], 8)), "no detail of the new level in the blend"


def test_resume_is_exact_in_the_middle_of_a_fade():
    """4 steps + resume to 8 equals 8 in one go, the resume inside level 1's fade (steps 3-5, a = 1/3, 2/3, 1)."""
    options = {"level_steps": 3, "fade_steps": 3}
    result = check_method("fsr", "fsr", _faces(), method_options=options, steps=4)
    assert "alpha" in result["metrics"]


def test_joint_trains_every_level_and_logs_per_level_losses(tmp_path):
    """Joint multi-scale training: every level's G and D move each step; losses.csv has one loss per level."""
    import csv

    init = ganzoo.create("fsr", seed=0, **TINY).module
    last = {}
    _train(2, [lambda s, m, state: last.update(G=state.method.G)], mode="joint")
    for k in range(3):
        moved = [
            not torch.equal(p, q) for p, q in zip(last["G"].level_parameters(k), init.level_parameters(k), strict=True)
        ]
        assert any(moved), f"level {k} did not train in joint mode"
    common = {"steps": 2, "batch_size": 4, "progress": False, "log_every": 1, "device": "cpu", **TINY}
    ganzoo.train("fsr", _faces(), method_options={"mode": "joint"}, out_dir=tmp_path, **common)
    with open(tmp_path / "losses.csv", newline="") as f:
        header = next(csv.reader(f))
    assert {"d4_loss", "d8_loss", "d16_loss", "g4_loss", "g8_loss", "g16_loss", "level"} <= set(header)


def test_preview_shows_the_current_level_upscaled():
    """At level 0 the preview is the 4x4 output upscaled to 16 px: constant 4x4 blocks."""
    pictures = []

    def grab(step, _metrics, state):
        pictures.append(state.method.preview({"z": torch.randn(2, 8)}))

    _train(1, [grab], mode="layerwise", level_steps=5)
    picture = pictures[0]
    assert picture.shape == (2, 3, 16, 16)
    assert torch.equal(picture, upscale(picture[..., ::4, ::4], 16))


def test_preview_during_a_fade_shows_the_blend_d_sees():
    """Mid-fade the preview is (1 - a) * up(level below) + a * new level of the EMA generator, upscaled."""
    pictures = []

    def grab(step, _metrics, state):
        m, z = state.method, torch.randn(2, 8)
        G = m.ema[m.published[0]]
        levels = G.outputs(z, (0, 1))
        pictures.append((m.fade_alpha(m.steps_done), m.preview({"z": z}), levels))

    common = {
        "steps": 3,
        "batch_size": 4,
        "progress": False,
        "log_every": 1,
        "device": "cpu",
        "callbacks": [grab],
        **TINY,
    }
    options = {"mode": "layerwise", "level_steps": 2, "fade_steps": 2}  # step 2: level 1, a = 0.5
    ganzoo.train("fsr", _faces(), method_options=options, ema=0, **common)
    alpha, picture, levels = pictures[1]  # after step 1: the next step fades level 1 in
    assert alpha == 0.5
    expected = upscale(0.5 * upscale(levels[0], 8) + 0.5 * levels[1], 16)
    torch.testing.assert_close(picture, expected)


@pytest.mark.parametrize(
    "options",
    [
        # the resume at step 2 of 4 is inside level 0; level 1 starts at step 3, in the resumed part
        {"mode": "layerwise", "level_steps": 3, "measure_every": 1},
        {"mode": "random-frozen"},
    ],
)
def test_resume_is_exact_across_a_level_change(options):
    """2 steps + resume to 4 equals 4 in one go, bit for bit (weights, EMA, every level's optimiser, state)."""
    result = check_method("fsr", "fsr", _faces(), method_options=options)
    if options.get("measure_every"):
        assert {"mean_dist_4px", "cov_dist_16px", "zeros_8px", "zeros_init_16px"} <= set(result["metrics"])


def test_a_resume_with_another_schedule_is_refused(tmp_path):
    """The checkpoint's mode and level are checked: other method options are refused, not re-derived."""
    common = {"batch_size": 4, "progress": False, "device": "cpu", "out_dir": tmp_path, **TINY}
    ganzoo.train("fsr", _faces(), steps=2, method_options={"mode": "layerwise", "level_steps": 1}, **common)
    with pytest.raises(GanzooError, match="method_options"):
        ganzoo.train(
            "fsr", _faces(), steps=4, resume=True, method_options={"mode": "layerwise", "level_steps": 2}, **common
        )


# -- measurements --------------------------------------------------------------------------------------------------


def test_measurement_building_blocks():
    """Per-position sparsity, patch rows and uint8 pooling on hand-made tensors."""
    a = torch.zeros(1, 4, 1, 2)
    a[0, 0, 0, 0] = 1.0  # position 0: 1 of 4 channels active
    a[0, :, 0, 1] = 2.0  # position 1: all 4 active
    s = position_sparsity(a, tau=0.0)
    assert s["zero_fraction"] == pytest.approx(0.375) and s["active_channels"] == pytest.approx(2.5)
    assert position_sparsity(a + 0.001, tau=0.01)["zero_fraction"] == pytest.approx(0.375)  # near-zero counts
    images = torch.arange(2 * 3 * 8 * 8, dtype=torch.uint8).reshape(2, 3, 8, 8)
    rows = patch_rows(images, 4)
    assert rows.shape == (2 * 4, 48) and rows.min() >= -1 and rows.max() <= 1
    pooled = downscale_uint8(torch.tensor([[[[0, 255], [255, 255]]]], dtype=torch.uint8), 1)
    assert pooled.dtype == torch.uint8 and int(pooled) == 191


def test_per_resolution_metrics_on_a_tiny_model():
    """fid-per-resolution (pixel features), moments-per-resolution and patch-sparsity run through evaluate();
    the final level's FID is the usual FID of the same samples."""
    model = _train(2, mode="joint")
    data = _faces(40)
    fid_options = {"extractor": "pixels", "min_samples": 2}
    result = ganzoo.evaluate(
        model,
        data,
        ["fid-per-resolution", "moments-per-resolution", "patch-sparsity"],
        n=32,
        metric_options={"fid-per-resolution": fid_options, "patch-sparsity": {"n": 16}},
        progress=False,
        cache=False,
    )["metrics"]
    fids = result["fid-per-resolution"]
    assert [row["resolution"] for row in fids["levels"]] == [4, 8, 16]
    assert all(np.isfinite(row["fid"]) and row["fid"] >= 0 for row in fids["levels"])
    plain = ganzoo.evaluate(
        model, data, ["fid"], n=32, extractor="pixels", metric_options={"fid": {"min_samples": 2}}, cache=False
    )
    assert fids["fid_final"] == pytest.approx(plain["metrics"]["fid"]["fid"], rel=1e-9)
    moments = result["moments-per-resolution"]["levels"]
    assert [row["resolution"] for row in moments] == [4, 8, 16]
    assert all(row["cov_distance_relative"] >= 0 for row in moments)
    sparsity = result["patch-sparsity"]
    assert [row["shape"][1] for row in sparsity["layers"]] == [4, 8, 16]  # one hidden ReLU layer per level
    assert all(0 <= row["zero_fraction"] <= 1 and 0 <= row["zero_fraction_init"] <= 1 for row in sparsity["layers"])


def test_per_resolution_reference_features_are_cached(tmp_path, monkeypatch):
    """The pooled reference of every level goes to the reference-feature cache, and a second evaluation reads it."""
    from ganzoo.evaluation.extractors import PixelExtractor

    monkeypatch.setattr(PixelExtractor, "cacheable", True)  # pixels stand in for Inception (never cached for real)
    model, data = _train(2, mode="joint"), _faces(40)
    options = {"fid-per-resolution": {"extractor": "pixels", "min_samples": 2}}

    def run() -> dict:
        return ganzoo.evaluate(model, data, ["fid-per-resolution"], n=32, metric_options=options, cache=tmp_path)

    first = run()["metrics"]["fid-per-resolution"]["fid"]
    files = sorted((tmp_path / "reference-features").glob("*.npy"))
    assert len(files) == 3  # levels 4, 8 and 16 px
    stamps = [f.stat().st_mtime_ns for f in files]
    assert run()["metrics"]["fid-per-resolution"]["fid"] == first
    assert [f.stat().st_mtime_ns for f in files] == stamps  # read back, not rewritten


def test_too_few_samples_for_inception_fid_fail_before_any_feature():
    """fid-per-resolution with Inception features refuses n < 2048 at once, not after a level's passes."""
    model = _train(2, mode="joint")
    weights = "/nonexistent/inception.pth"  # never opened: the refusal comes first
    options = {"fid-per-resolution": {"weights": weights}}
    with pytest.raises(EvaluationError, match="at least 2048 generated"):
        ganzoo.evaluate(model, _faces(40), ["fid-per-resolution"], n=32, metric_options=options, cache=False)


def test_per_resolution_metrics_need_a_pyramid():
    """A generator without pyramid(z) gets an error that says which architecture has one."""
    dcgan = ganzoo.create("dcgan", seed=0, z_dim=8, image_size=16, g_width=4, d_width=4)
    with pytest.raises(EvaluationError, match="architecture 'fsr'"):
        ganzoo.evaluate(dcgan, _faces(8), ["moments-per-resolution"], n=4, progress=False, cache=False)
    # patch-sparsity works on any ReLU generator
    out = ganzoo.evaluate(dcgan, _faces(8), ["patch-sparsity"], n=4, progress=False, cache=False)
    assert out["metrics"]["patch-sparsity"]["layers"]


# -- export, CLI, errors ------------------------------------------------------------------------------------------


def test_trained_model_exports_to_onnx_with_parity(tmp_path):
    """The published generator (after training: running statistics set) exports with one z input and matches."""
    from ganzoo.exporters.onnx import export_onnx
    from ganzoo.exporters.runtime import OnnxGenerator

    model = _train(2, mode="joint")
    report = export_onnx(model, tmp_path / "fsr.onnx")
    assert max(report.parity.values()) <= 1e-4 and list(report.inputs) == ["z"]
    raw = OnnxGenerator(report.path).sample(3, seed=1, output="raw")
    np.testing.assert_allclose(raw, model.sample(3, seed=1, output="raw").numpy(), atol=1e-5)


def test_trains_from_the_cli(tmp_path):
    """`ganzoo train fsr --method-option mode=... --method-option level_steps=...` on an .npz file."""
    from ganzoo.cli import main

    path = tmp_path / "faces.npz"
    np.savez(path, images=_faces(8).data.numpy())
    args = ["train", "fsr", "--data", str(path), "--steps", "2", "--batch-size", "4", "-o", str(tmp_path / "run")]
    args += ["--method-option", "mode=layerwise", "--method-option", "level_steps=1", "--quiet", "--device", "cpu"]
    for key, value in TINY.items():
        args += ["--set", f"{key}={value}"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert ganzoo.load(tmp_path / "run").sample(2, seed=0).shape == (2, 3, 16, 16)


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"mode": "progressive"}, ValueError, "mode must be one of 'layerwise', 'joint', 'random-frozen'"),
        ({"level_steps": 0}, ValueError, "level_steps must be an integer >= 1"),
        ({"level_steps": 2.5}, ValueError, "level_steps must be an integer >= 1"),
        ({"measure_every": 3}, ValueError, "multiple of log_every=2"),
        ({"sparsity_tau": 1.5}, ValueError, r"sparsity_tau must be a number in \[0, 1\)"),
        ({"fade_steps": -1}, ValueError, "fade_steps must be an integer >= 0"),
        ({"level_steps": 2, "fade_steps": 3}, ValueError, "fade_steps=3 must be at most level_steps=2"),
        ({"mode": "joint", "fade_steps": 2}, ValueError, "mode 'joint' has no new levels"),
        ({"levels": 3}, TypeError, "unknown"),
    ],
)
def test_bad_options_are_clear_errors(options, error, match):
    """Bad method options fail before any step, naming the option and what it accepts."""
    with pytest.raises(error, match=match):
        ganzoo.train("fsr", _faces(), method_options=options, steps=1, log_every=2, progress=False, **TINY)


def test_the_method_needs_the_fsr_architecture():
    """Another architecture has no per-resolution layers: refused with the name to use."""
    with pytest.raises(ValueError, match="train architecture 'fsr', not 'dcgan'"):
        ganzoo.train(
            "dcgan", _faces(), method="fsr", steps=1, progress=False, z_dim=8, image_size=16, g_width=4, d_width=4
        )


def test_an_ema_slower_than_a_level_warns_and_a_fast_one_does_not():
    """Layer-wise levels shorter than the EMA's horizon would publish mostly random-init weights: a warning."""
    with pytest.warns(TrainingWarning, match="ema=0.999 averages over about 1000 steps") as caught:
        _train(2, mode="layerwise", level_steps=1)
    assert "Use ema=0 for" in str(caught[0].message)  # no decay fits one-step levels (not a negative one)
    with pytest.warns(TrainingWarning, match=r"Use a smaller decay \(ema=0.95\) or ema=0"):
        _train(1, mode="layerwise", level_steps=100)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingWarning)
        common = {"steps": 3, "batch_size": 4, "progress": False, "device": "cpu", **TINY}
        ganzoo.train("fsr", _faces(), method_options={"mode": "layerwise", "level_steps": 1}, ema=0, **common)
        _train(3, mode="joint", level_steps=1)  # every level trains all run: the EMA catches up as usual


def test_too_few_layerwise_steps_warn_that_the_top_is_untrained():
    """A layer-wise run that ends below the final level says so (its published top layers would be random)."""
    with pytest.warns(TrainingWarning, match="end at level 0"):
        _train(1, mode="layerwise", level_steps=5)
