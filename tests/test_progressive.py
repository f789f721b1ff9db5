"""Progressive GAN (Karras et al. 2018): growth schedule, fade-in in G and D, equalised lr, pixel norm, minibatch
stddev, faded reals, optimiser resets, exact resume mid-fade, previews, the published model and its ONNX export."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import ganzoo
from ganzoo.plugins.progressive import (
    EqualizedConv2d,
    GrowthSchedule,
    Phase,
    ProGANConfig,
    ProGANDiscriminator,
    ProGANGenerator,
    fade_reals,
    minibatch_stddev,
    pixel_norm,
)
from ganzoo.testing import check_architecture, check_method
from ganzoo.training.checkpoint import read_checkpoint

TINY = {"z_dim": 8, "image_size": 16, "fmap_base": 32, "fmap_max": 8}
#: four real images a step; a level every 8 images: resumes at step 2 land mid-fade
FAST = {"stable_images": 8, "fade_images": 8, "batch_sizes": {}}


def _faces(n: int = 16) -> ganzoo.InMemoryData:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, 16, 16), generator=g, dtype=torch.uint8)
    return ganzoo.InMemoryData(images, description="noise faces")


def _nets(seed: int = 0) -> tuple[ProGANGenerator, ProGANDiscriminator]:
    torch.manual_seed(seed)
    config = ProGANConfig(**TINY)
    return ProGANGenerator(config).eval(), ProGANDiscriminator(config).eval()


def _train(steps: int, **kw):
    """A tiny progressive run; every one here stops before the growth ends, which the method warns about."""
    options = {"method": "progressive", "batch_size": 4, "progress": False, "device": "cpu", **TINY}
    options["method_options"] = kw.pop("method_options", FAST)
    with pytest.warns(ganzoo.errors.TrainingWarning, match="progressive: .* steps end at"):
        return ganzoo.train("progan", kw.pop("data", None) or _faces(), steps=steps, **options, **kw)


# -- schedule ---------------------------------------------------------------------------------------------------


def test_level_and_alpha_follow_the_images_seen() -> None:
    """Stable phase, then a linear fade of the next level, per (stable + fade) images; the final level stays."""
    s = GrowthSchedule(final_level=2, stable_images=10, fade_images=20)
    assert s.at(0) == Phase(0, 1.0, False) and s.at(9) == Phase(0, 1.0, False)
    assert s.at(10) == Phase(1, 0.0, True)
    assert s.at(15) == Phase(1, 0.25, True)
    assert s.at(29) == Phase(1, 19 / 20, True)
    assert s.at(30) == Phase(1, 1.0, False) and s.at(39) == Phase(1, 1.0, False)
    assert s.at(40) == Phase(2, 0.0, True)
    assert s.at(60) == s.at(10**12) == Phase(2, 1.0, False)
    assert s.growth_images == 60 and s.at(45).resolution == 16
    # steps until the growth is done when the batch depends on the resolution: 10/5 + 20/2 + 10/2 + 20/1
    assert s.steps_for(60, {4: 5, 8: 2, 16: 1}.__getitem__) == 2 + 10 + 5 + 20


# -- networks ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("level", "alpha"), [(0, 1.0), (1, 0.5), (1, 1.0), (2, 0.25), (2, 1.0)])
def test_generator_and_discriminator_shapes_at_every_level(level: int, alpha: float) -> None:
    """G makes (N, C, R, R) at level R = 4 * 2^level, in [-1, 1]; D scores R x R images as (N,)."""
    G, D = _nets()
    G.set_growth(level, alpha)
    D.set_growth(level, alpha)
    images = G(torch.randn(6, 8))
    side = 4 * 2**level
    assert images.shape == (6, 3, side, side) and images.abs().max() <= 1
    assert D(images).shape == (6,)
    with pytest.raises(ValueError, match=f"takes {side}x{side} images"):
        D(torch.zeros(6, 3, 2 * side, 2 * side))


def test_fresh_networks_run_at_the_final_level_with_alpha_one() -> None:
    """What the EMA copy, ``ganzoo.create`` and a loaded model start from."""
    G, D = _nets()
    assert (G.level, G.alpha, D.level, D.alpha) == (2, 1.0, 2, 1.0)
    assert G(torch.randn(2, 8)).shape == (2, 3, 16, 16)


@torch.no_grad()
def test_generator_fade_in_is_a_lerp_of_the_upsampled_lower_level_and_the_new_block() -> None:
    """alpha 0: exactly the lower level's output upsampled; alpha 1: the new toRGB alone; between: the lerp."""
    G, _ = _nets()
    z = torch.randn(5, 8)
    for level in (1, 2):
        G.set_growth(level - 1, 1.0)
        lower = G(z)
        G.set_growth(level, 0.0)
        assert torch.equal(G(z), F.interpolate(lower, scale_factor=2, mode="nearest"))
        raw = {}
        hooks = [
            G.to_rgb[k].register_forward_hook(lambda m, i, o, k=k, raw=raw: raw.__setitem__(k, o))
            for k in (level - 1, level)
        ]
        G.set_growth(level, 0.3)
        faded = G(z)
        for hook in hooks:
            hook.remove()
        up = F.interpolate(raw[level - 1], scale_factor=2, mode="nearest")
        assert torch.equal(faded, torch.lerp(up, raw[level], 0.3).clamp(-1, 1))
        G.set_growth(level, 1.0)
        assert torch.equal(G(z), raw[level].clamp(-1, 1))
        assert not torch.equal(G(z), F.interpolate(lower, scale_factor=2, mode="nearest"))


@torch.no_grad()
def test_discriminator_fade_in_at_alpha_zero_is_the_lower_level_on_downscaled_images() -> None:
    """D at (level k, alpha 0) scores x exactly as D at level k-1 scores avgpool(x); alpha 1 differs."""
    _, D = _nets()
    for level in (1, 2):
        x = torch.rand(4, 3, 4 * 2**level, 4 * 2**level) * 2 - 1
        D.set_growth(level - 1, 1.0)
        lower = D(F.avg_pool2d(x, 2))
        D.set_growth(level, 0.0)
        assert torch.equal(D(x), lower)
        D.set_growth(level, 1.0)
        assert not torch.equal(D(x), lower)


def test_equalised_learning_rate_scales_n01_weights_by_he_constant_at_run_time() -> None:
    """Weights are N(0, 1) parameters; the layer uses w * gain / sqrt(fan_in) (§4.1)."""
    torch.manual_seed(0)
    conv = EqualizedConv2d(64, 128, 3)
    assert abs(float(conv.weight.detach().std()) - 1) < 0.02 and float(conv.bias.detach().abs().max()) == 0
    assert conv.scale == pytest.approx(math.sqrt(2) / math.sqrt(64 * 9))
    x = torch.randn(2, 64, 8, 8)
    assert torch.allclose(conv(x), F.conv2d(x, conv.weight * conv.scale, conv.bias, padding=1))
    G, D = _nets()
    assert G.to_rgb[0].scale == pytest.approx(1 / math.sqrt(8))  # toRGB: gain 1
    assert G.input.scale == pytest.approx(math.sqrt(2) / 4 / math.sqrt(8))  # the 4x4 dense: gain sqrt(2)/4
    assert D.blocks[0]["out"].scale == pytest.approx(1 / math.sqrt(8))  # the score: gain 1
    assert all(p.requires_grad for p in G.parameters()) and not list(G.buffers())  # nothing but the N(0,1) weights


def test_pixel_norm_gives_every_pixel_a_unit_feature_vector() -> None:
    """§4.2: b = a / sqrt(mean_j a_j^2 + 1e-8) over channels, per pixel."""
    x = torch.randn(2, 16, 4, 4) * 7
    assert torch.allclose(pixel_norm(x).square().mean(dim=1), torch.ones(2, 4, 4), atol=1e-5)


def test_minibatch_stddev_appends_the_mean_std_over_each_group() -> None:
    """§3: one extra map per sample, the std over its group (strided: i, i+M, ...) averaged over features/pixels."""
    x = torch.randn(8, 3, 4, 4)
    out = minibatch_stddev(x, group_size=4)
    assert out.shape == (8, 4, 4, 4) and torch.equal(out[:, :3], x)
    for i in range(8):
        group = x[i % 2 :: 2]  # M = 2 groups: samples {0, 2, 4, 6} and {1, 3, 5, 7}
        expected = (group.var(dim=0, unbiased=False) + 1e-8).sqrt().mean()
        assert torch.allclose(out[i, 3], expected.expand(4, 4), atol=1e-6)
    # a batch the group size does not divide forms one group
    odd = minibatch_stddev(x[:5], group_size=4)
    assert torch.allclose(odd[:, 3], (x[:5].var(0, unbiased=False) + 1e-8).sqrt().mean().expand(5, 4, 4))


def test_real_images_are_downscaled_and_faded_like_the_generator() -> None:
    """At level k the reals are box-filtered to 4*2^k; during a fade, lerp(upsample(downsample(x)), x, alpha)."""
    x = torch.rand(3, 3, 16, 16) * 2 - 1
    at8 = F.avg_pool2d(x, 2)
    assert torch.equal(fade_reals(x, 2, 1.0, 2), x)
    assert torch.equal(fade_reals(x, 1, 1.0, 2), at8)
    blurred = F.interpolate(F.avg_pool2d(at8, 2), scale_factor=2, mode="nearest")
    assert torch.equal(fade_reals(x, 1, 0.0, 2), blurred)
    assert torch.allclose(fade_reals(x, 1, 0.25, 2), 0.75 * blurred + 0.25 * at8, atol=1e-6)
    assert fade_reals(x, 0, 1.0, 2).shape == (3, 3, 4, 4)


def test_progan_keeps_the_architecture_contract() -> None:
    """Shapes, range, gradients (the lower toRGB/fromRGB layers are method-only), save/load, seeds."""
    check_architecture("progan")


# -- the method -------------------------------------------------------------------------------------------------


def test_method_contract_resumes_bit_exactly_mid_fade_with_per_resolution_batches() -> None:
    """check_method: 2 steps + resume to 4 equals 4 steps. Batches {4: 8, 8: 4, 16: 4} on a run batch of 4
    (so batches are joined): the checkpoint at step 2 sits mid-fade (level 1, alpha 0.5) after 12 images,
    which a step * batch_size derivation (8 images: the fade's start) would get wrong."""
    options = {"stable_images": 8, "fade_images": 8, "batch_sizes": {"4": 8, "8": 4, "16": 4}}
    with pytest.warns(ganzoo.errors.TrainingWarning):
        result = check_method("progressive", "progan", _faces(), method_options=options)
    assert {"resolution", "alpha", "kimg", "drift"} <= set(result["metrics"])


def test_resume_restores_level_alpha_and_images_seen_exactly(tmp_path) -> None:
    """The checkpoint holds the growth state; a resumed run continues the fade where it stood, bit for bit."""
    options = {"stable_images": 8, "fade_images": 32, "batch_sizes": {"4": 8}}
    kw = {"method_options": options, "checkpoint_every": 1}
    _train(3, out_dir=tmp_path / "a", **kw)
    _, meta = read_checkpoint(tmp_path / "a" / "checkpoint.safetensors")
    state = json.loads(meta["method_state"])
    # step 0: 8 images at 4x4; steps 1, 2: 4 each into the 8x8 fade -> 16 seen, alpha (16 - 8) / 32
    assert state == {"images_seen": 16, "level": 1, "alpha": 0.25, "last_phase": [1, True]}
    _train(6, out_dir=tmp_path / "a", resume=True, **kw)
    _train(6, out_dir=tmp_path / "b", **kw)
    resumed, resumed_meta = read_checkpoint(tmp_path / "a" / "checkpoint.safetensors")
    straight, straight_meta = read_checkpoint(tmp_path / "b" / "checkpoint.safetensors")
    assert resumed.keys() == straight.keys()
    assert all(torch.equal(resumed[k], straight[k]) for k in straight)
    assert resumed_meta["method_state"] == straight_meta["method_state"]
    assert json.loads(straight_meta["method_state"])["alpha"] == 0.625  # 28 images: still fading


def test_a_checkpoint_whose_growth_disagrees_with_the_schedule_is_refused() -> None:
    """Never re-derived silently: a tampered level/alpha is a ModelFileError naming both."""
    captured = {}
    _train(2, method_options=FAST, callbacks=[lambda s, m, state: captured.setdefault("m", state.method)])
    method = captured["m"]
    with pytest.raises(ganzoo.errors.ModelFileError, match=r"alpha 0\.9"):
        method.load_state_dict({}, {"images_seen": 12, "level": 1, "alpha": 0.9, "last_phase": [1, True]})
    method.load_state_dict({}, {"images_seen": 12, "level": 1, "alpha": 0.5, "last_phase": [1, True]})
    assert (method.G.level, method.G.alpha, method.D.alpha, method.images_seen_count) == (1, 0.5, 0.5, 12)


def test_adam_state_is_reset_when_a_fade_or_a_stable_phase_starts() -> None:
    """The authors' reset_opt_for_new_lod: Adam's step count restarts with each phase (2 steps a phase here)."""

    def adam_steps(reset: bool) -> list[int]:
        counts: list[int] = []

        def record(step, metrics, state):
            opt = state.method.optimizers["generator"]
            counts.append(max(int(s["step"]) for s in opt.state.values()))

        options = {**FAST, "reset_optimizers": reset}
        _train(6, method_options=options, log_every=1, callbacks=[record])
        return counts

    assert adam_steps(True) == [1, 2, 1, 2, 1, 2]
    assert adam_steps(False) == [1, 2, 3, 4, 5, 6]


def test_paper_optimiser_and_one_critic_step_by_default() -> None:
    """Adam(1e-3, betas (0, 0.99)) (appendix A.1) and D_repeats = 1 unless loss_options sets d_steps."""
    captured = {}
    _train(1, callbacks=[lambda s, m, state: captured.setdefault("m", state.method)])
    method = captured["m"]
    group = method.optimizers["discriminator"].param_groups[0]
    assert group["lr"] == 1e-3 and tuple(group["betas"]) == (0.0, 0.99)
    assert method.d_steps == 1 and method.drift == 1e-3 and method.images_seen_count == 4


def test_preview_shows_the_current_resolution_upscaled_and_leaves_the_ema_at_the_final_level() -> None:
    """Growth is visible in the progress grids: at 4x4 every 4x4 block of the 16-px preview is one colour."""
    pictures = []

    def grab(step, metrics, state):
        method = state.method
        pictures.append(method.preview({"z": torch.randn(3, 8)}))
        assert (method.ema["generator"].level, method.ema["generator"].alpha) == (2, 1.0)

    _train(1, method_options={"stable_images": 100, "fade_images": 100, "batch_sizes": {}}, callbacks=[grab])
    picture = pictures[0]
    assert picture.shape == (3, 3, 16, 16)
    assert torch.equal(picture, F.interpolate(picture[:, :, ::4, ::4], scale_factor=4, mode="nearest"))


def test_published_model_samples_at_the_final_resolution_and_exports_with_parity(tmp_path) -> None:
    """Even stopped at 4x4, the published model makes 16-px images (alpha 1) and its ONNX file matches it."""
    from ganzoo.exporters.onnx import export_onnx
    from ganzoo.exporters.runtime import OnnxGenerator

    model = _train(1, out_dir=tmp_path / "run", method_options=FAST)
    assert (model.module.level, model.module.alpha) == (2, 1.0)
    assert model.sample(2, seed=0, output="raw").shape == (2, 3, 16, 16)
    loaded = ganzoo.load(tmp_path / "run")
    # the same weights (the in-memory copy may be channels_last: other kernels, other roundings)
    torch.testing.assert_close(
        loaded.sample(2, seed=0, output="raw"), model.sample(2, seed=0, output="raw"), atol=1e-4, rtol=1e-4
    )
    report = export_onnx(loaded, tmp_path / "progan.onnx")
    assert max(report.parity.values()) <= 1e-4 and list(report.inputs) == ["z"]
    raw = OnnxGenerator(report.path).sample(3, seed=1, output="raw")
    np.testing.assert_allclose(raw, loaded.sample(3, seed=1, output="raw").numpy(), atol=1e-5)


def test_cli_trains_progan(tmp_path) -> None:
    """`ganzoo train progan ... --method-option` as the README shows (JSON option values)."""
    from click.testing import CliRunner

    from ganzoo.cli import main

    images = np.random.default_rng(0).integers(0, 256, size=(8, 16, 16, 3), dtype=np.uint8)
    np.savez(tmp_path / "faces.npz", x_train=images)
    args = ["train", "progan", "--data", tmp_path / "faces.npz", "--steps", "4", "--batch-size", "4", "-q"]
    args += ["--set", "image_size=16", "--set", "z_dim=8", "--set", "fmap_base=32", "--set", "fmap_max=8"]
    args += ["--method-option", "stable_images=4", "--method-option", "fade_images=4"]
    args += ["--method-option", 'batch_sizes={"4": 4, "8": 4, "16": 4}', "-o", tmp_path / "run"]
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert ganzoo.load(tmp_path / "run").sample(1, output="raw").shape == (1, 3, 16, 16)
    assert len(list((tmp_path / "run" / "progress").glob("*.png"))) >= 1


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"stable_images": -1}, "stable_images must be an integer >= 0"),
        ({"stable_images": 0, "fade_images": 0}, "cannot both be 0"),
        ({"batch_sizes": {"12": 4}}, "not a resolution of this growth; use 4, 8, 16"),
        ({"batch_sizes": {"8": 0}}, r"batch_sizes\[8\] must be a positive integer"),
        ({"drift": "lots"}, "drift must be a number"),
        ({"reset_optimizers": "yes"}, "reset_optimizers must be true or false"),
    ],
)
def test_bad_options_are_clear_errors(options: dict, match: str) -> None:
    """A ValueError naming the option and what it accepts, before any step."""
    with pytest.raises(ValueError, match=match):
        ganzoo.train("progan", _faces(), method_options=options, steps=1, batch_size=4, progress=False, **TINY)


def test_bad_configs_and_other_architectures_are_refused() -> None:
    """image_size must be a power of two 8..128; the method grows progan only; unknown options are named."""
    with pytest.raises(ganzoo.ConfigError, match="power of two from 8 to 128"):
        ProGANConfig(image_size=48)
    with pytest.raises(ganzoo.ConfigError, match="fmap_base must be an integer >= 8"):
        ProGANConfig(image_size=16, fmap_base=4)
    with pytest.raises(ValueError, match="train architecture 'progan'"):
        ganzoo.train("dcgan", _faces(), method="progressive", steps=1, batch_size=4, progress=False, image_size=16)
    with pytest.raises(TypeError, match="unknown"):
        ganzoo.train("progan", _faces(), method_options={"fade": 3}, steps=1, progress=False, **TINY)
