"""Core v2: every registered method trains, logs, checkpoints, resumes bit-exactly, saves and loads; the toy
families (class-conditional, paired image-to-image, four networks on unpaired streams) run through the one loop."""

from __future__ import annotations

import csv

import pytest
import torch

import ganzoo
from ganzoo.testing import check_method

from . import toy_families
from .toy_families import paired_data, unpaired_data

DCGAN_TINY = {"z_dim": 8, "image_size": 16, "g_width": 4, "d_width": 4}


def _faces(n: int = 16) -> ganzoo.InMemoryData:
    return ganzoo.InMemoryData(torch.randint(0, 256, (n, 3, 16, 16), dtype=torch.uint8), description="noise faces")


def _faces32(n: int = 12) -> ganzoo.InMemoryData:
    return ganzoo.InMemoryData(torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8), description="noise faces")


def _labelled(n: int = 20) -> ganzoo.InMemoryData:
    images = torch.randint(0, 256, (n, 1, 16, 16), dtype=torch.uint8)
    return ganzoo.InMemoryData(images, torch.arange(n) % 10, description="noise with labels")


def _grey_to_colour(n: int = 12) -> ganzoo.InMemoryData:
    """pix2pix-shaped pairs at the tiny config's 32 px: 1-channel sources, RGB targets."""
    g = torch.Generator().manual_seed(0)
    target = torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8)
    return ganzoo.InMemoryData({"source": target[:, :1].clone(), "target": target}, description="grey -> colour")


def _two_domains() -> ganzoo.InMemoryData:
    """CycleGAN-shaped unpaired streams at the tiny config's 16 px, 1 channel, of different lengths."""
    g = torch.Generator().manual_seed(0)
    a = torch.randint(0, 100, (10, 1, 16, 16), generator=g, dtype=torch.uint8)
    b = torch.randint(150, 256, (14, 1, 16, 16), generator=g, dtype=torch.uint8)
    return ganzoo.InMemoryData({"a": a, "b": b}, unpaired=True, description="dark / bright")


#: every registered method with an architecture and data it trains; a new method must add a row
CASES = {
    "adversarial": [("mlp", "ring-8", {}), ("dcgan", _faces, {})],
    # fresh real batches for each unrolled step on the MLP: the resume check covers the sampler they advance
    "unrolled": [
        ("mlp", "ring-8", {"method_options": {"unroll_steps": 3, "fresh_batches": True}}),
        ("dcgan", _faces, {"method_options": {"unroll_steps": 2}}),
    ],
    # growth 4 -> 8 px with 8-image fades: the resume at step 2 falls inside the fade (level and alpha restored)
    "progressive": [("progan", _faces, {"method_options": {"stable_images": 4, "fade_images": 8, "batch_sizes": {}}})],
    # layer-wise with 2 steps per level: the resume at step 2 is the switch from level 0 to 1; joint: all levels
    "fsr": [
        ("fsr", _faces, {"method_options": {"level_steps": 2}}),
        ("fsr", _faces, {"method_options": {"mode": "joint"}}),
    ],
    # two stages of 3 gradient steps: the resume check covers the D snapshots and the approximator's regression
    "xicfg": [
        ("mlp", "ring-8", {"method_options": {"steps": 3, "pairs": 8, "approx_epochs": 2}}),
        ("dcgan", _faces, {"method_options": {"steps": 2, "pairs": 8, "approx_epochs": 2}}),
    ],
    "toy-conditional": [("toy-conditional", "ring-8", {})],
    "conditional": [("cgan", _labelled, {}), ("projection", _labelled, {"spectral_norm": True})],
    "acgan": [("acgan", _labelled, {})],
    "infogan": [("infogan", _labelled, {}), ("infogan", _labelled, {"categories": 0, "continuous": 1})],
    "toy-paired": [("toy-translator", paired_data, {})],
    "pix2pix": [
        ("pix2pix", _grey_to_colour, {}),
        ("pix2pix", _grey_to_colour, {"method_options": {"adversarial": False}}),
    ],
    # a pool of 2 fills in the first step, so the resume check covers the random swaps and the pool's own RNG
    "cyclegan": [("cyclegan", _two_domains, {"method_options": {"pool_size": 2}})],
    "toy-cycle": [("toy-cycle", unpaired_data, {})],
    # the resume at step 2 of 4 crosses the switch from pixel-loss pre-training to the adversarial phase
    "srgan": [("srgan", _faces, {"method_options": {"pretrain_steps": 3}})],
    "context-encoder": [
        ("context-encoder", _faces32, {"hole": "random"}),
        ("context-encoder", _faces32, {"method_options": {"adversarial": False, "reconstruction": "l1"}}),
    ],
}


@pytest.fixture
def toys(register_plugin):
    """The toy families registered on a fresh plugin host."""
    return register_plugin(toy_families, "toys")


def _cases():
    return [(m, a, d, o) for m, rows in CASES.items() for a, d, o in rows]


def test_every_registered_method_has_a_case(toys):
    """A method registered without a row in CASES would escape the resume test: fail instead."""
    from ganzoo.host.manager import DEFAULT_PLUGINS

    ours = {m.name for m in ganzoo.get_registry().methods.values() if m.plugin in {*DEFAULT_PLUGINS, "toys"}}
    assert ours <= set(CASES)  # installed third-party plugins (ganzoo-example) bring their own tests


@pytest.mark.parametrize(("method", "architecture", "data", "options"), _cases())
def test_method_contract(toys, method, architecture, data, options):
    """Two steps with finite, logged metrics; a preview; exact resume; the published roles load back."""
    result = check_method(method, architecture, data() if callable(data) else data, **options)
    assert result["metrics"]


def test_paired_method_logs_its_own_metric_and_publishes_a_translator(toys, tmp_path):
    """pix2pix-shaped training: the L1 term reaches losses.csv and the published model is a Translator."""
    model = ganzoo.train(
        "toy-translator",
        paired_data(),
        steps=3,
        batch_size=4,
        progress=False,
        log_every=1,
        out_dir=tmp_path,
        method_options={"l1_weight": 10},
        image_size=8,
    )
    assert isinstance(model, ganzoo.Translator) and model.roles == ("generator",)
    with open(tmp_path / "losses.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {"l1", "g_adversarial", "d_loss", "g_loss"} <= set(rows[0]) and len(rows) == 3
    out = ganzoo.load(tmp_path).translate(paired_data(n=2)["source"] if False else torch.zeros(2, 3, 8, 8))
    assert out.shape == (2, 3, 8, 8) and out.min() >= 0 and out.max() <= 1


def test_cycle_method_state_is_checkpointed(toys, tmp_path):
    """The four-network toy publishes both directions; its image pool is in the checkpoint."""
    from ganzoo.training.checkpoint import read_checkpoint

    model = ganzoo.train(
        "toy-cycle", unpaired_data(), steps=2, batch_size=4, progress=False, out_dir=tmp_path, image_size=8
    )
    assert model.roles == ("g_ab", "g_ba")
    tensors, meta = read_checkpoint(tmp_path / "checkpoint.safetensors")
    assert "method.pool" in tensors and '"pool_filled": 8' in meta["method_state"]
    assert {k.split(".")[1] for k in tensors if k.startswith("modules.")} == {"g_ab", "g_ba", "d_a", "d_b"}
    with pytest.raises(ValueError, match="pass direction="):
        model.translate(torch.zeros(1, 3, 8, 8))
    assert model.translate(torch.zeros(1, 3, 8, 8), direction="g_ba").shape == (1, 3, 8, 8)


def test_conditional_generator_samples_by_label(toys):
    """A class-conditional model takes labels in sample(), checked against its input spec."""
    g = ganzoo.train("toy-conditional", "ring-8", steps=2, batch_size=8, progress=False, z_dim=4, hidden=16)
    assert [s.name for s in g.inputs] == ["z", "labels"]
    assert g.sample(4, seed=0, labels=[0, 1, 2, 3]).shape == (4, 2)
    with pytest.raises(ValueError, match="class-conditional"):
        g.sample(4, seed=0)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 7\]"):
        g.sample(2, seed=0, labels=[0, 8])


def test_method_data_mismatch_is_a_clear_error_before_any_step(toys):
    """A method that needs fields the data lacks fails at once, naming both."""
    with pytest.raises(ganzoo.DataError, match=r"needs batch field\(s\) source, target.*yields image"):
        ganzoo.train("toy-translator", _faces(), steps=1, batch_size=4, progress=False, image_size=16)
    with pytest.raises(ganzoo.GanzooError, match="trains image-to-image architectures"):
        ganzoo.train("mlp", "ring-8", method="toy-cycle", steps=1, progress=False)


def test_relativistic_loss_sees_the_current_real_logits(monkeypatch):
    """generator_loss gets real logits from the D of this step (after its update), so RaGAN is exact."""
    from ganzoo.plugins.losses import RelativisticAverage

    seen = []
    original = RelativisticAverage.generator_loss

    def spy(self, fake_logits, real_logits=None):
        seen.append(real_logits)
        return original(self, fake_logits, real_logits)

    monkeypatch.setattr(RelativisticAverage, "generator_loss", spy)
    ganzoo.train(
        "mlp",
        "ring-8",
        loss="relativistic-average",
        steps=2,
        batch_size=8,
        progress=False,
        z_dim=4,
        hidden=16,
        layers=2,
    )
    assert len(seen) == 2 and all(r is not None and r.shape == (8,) for r in seen)


def test_format_1_checkpoint_resumes(tmp_path):
    """A checkpoint written by ganzoo 0.1 (format 1) reads as roles generator/discriminator and resumes."""
    import json

    import safetensors.torch

    from ganzoo.training.checkpoint import read_checkpoint

    common = {"progress": False, "batch_size": 8, "z_dim": 4, "hidden": 16, "layers": 2}
    ganzoo.train("mlp", "ring-8", steps=2, out_dir=tmp_path / "a", **common)
    tensors, meta = read_checkpoint(tmp_path / "a" / "checkpoint.safetensors")
    # rewrite it the way format 1 named things
    old = {}
    for key, value in tensors.items():
        for new, previous in (
            ("modules.generator.", "generator."),
            ("modules.discriminator.", "discriminator."),
            ("ema.generator.", "ema."),
            ("optim.generator.", "opt_g."),
            ("optim.discriminator.", "opt_d."),
        ):
            if key.startswith(new):
                key = previous + key[len(new) :]
                break
        old[key] = value
    config = json.loads(meta["train_config"])
    for key in ("method", "method_options", "track_moments", "standing_stats", "resize"):
        config.pop(key)
    optimizers = json.loads(meta["optimizers"])
    old_meta = {
        "format": "ganzoo-checkpoint-1",
        "step": meta["step"],
        "ema_updates": str(json.loads(meta["ema_updates"])["generator"]),
        "train_config": json.dumps(config),
        "optimizers": json.dumps({"opt_g": optimizers["generator"], "opt_d": optimizers["discriminator"]}),
    }
    old["sampler.permutation"] = old.pop("sampler.permutation.0")
    old["sampler.position"] = old.pop("sampler.position.0")
    safetensors.torch.save_file(old, str(tmp_path / "a" / "checkpoint.safetensors"), metadata=old_meta)
    resumed = ganzoo.train("mlp", "ring-8", steps=4, out_dir=tmp_path / "a", resume=True, **common)
    straight = ganzoo.train("mlp", "ring-8", steps=4, out_dir=tmp_path / "b", **common)
    for key, value in straight.module.state_dict().items():
        assert torch.equal(value, resumed.module.state_dict()[key])


@pytest.mark.parametrize("architecture", ["toy-translator", "toy-cycle", "toy-conditional"])
def test_check_architecture_covers_translators_and_conditional_models(toys, architecture):
    """The architecture kit runs on image-to-image (one or several roles) and class-conditional architectures."""
    from ganzoo.testing import check_architecture

    check_architecture(architecture)


def test_translator_card_shows_translate_and_both_directions(toys, tmp_path):
    """A translator's model card shows translate() (with a direction for CycleGAN) and the images input."""
    from huggingface_hub import ModelCard

    from ganzoo.hub.cards import render_card

    model = ganzoo.create("toy-cycle", image_size=8)
    card = render_card(model, repo_id="owner/cycle")
    card.save(tmp_path / "README.md")
    text = ModelCard.load(tmp_path / "README.md").text
    assert 't.translate(pictures, direction="g_ab"' in text and "`g_ab`, `g_ba`" in text
    assert "`images` float32 (N, 3, 8, 8)" in text and "OnnxTranslator" in text
    assert ModelCard.load(tmp_path / "README.md").data.pipeline_tag == "image-to-image"
    generator_card = render_card(ganzoo.create("mlp", z_dim=4)).text
    assert "g.sample(1000, seed=0)" in generator_card and "`z` float32 (N, 4)" in generator_card  # a 2-D model


def test_latent_only_diagnostics_are_refused_for_other_tasks(toys):
    """track_moments / standing_stats draw G(z) alone: a conditional or image-to-image run says so up front."""
    with pytest.raises(ValueError, match="is class-conditional: turn them off"):
        ganzoo.train("toy-conditional", "ring-8", steps=1, progress=False, standing_stats=2)
