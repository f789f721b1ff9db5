"""xICFG (Johnson and Zhang 2018): functional gradient steps, the stage, the published G_T, export and limits."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from torch import nn

import ganzoo
from ganzoo.errors import GanzooError, ModelFileError
from ganzoo.plugins.xicfg import FunctionalGradientGenerator, XICFGExitCriterionError, functional_gradient_steps

TINY = {"steps": 3, "pairs": 16, "approx_epochs": 2}


class Linear2D(nn.Module):
    """D(x) = w . x: its gradient with respect to x is w for every sample."""

    def __init__(self, w: list[float]) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.w


def test_each_step_moves_the_samples_along_the_discriminators_gradient():
    x = torch.zeros(4, 2)
    out = functional_gradient_steps(x, [Linear2D([1.0, 0.0]), Linear2D([0.0, 2.0])], eta=0.5)
    assert torch.allclose(out, torch.tensor([0.5, 1.0]).expand(4, 2))
    assert not out.requires_grad
    with torch.no_grad():  # sampling runs under no_grad: the steps still take their gradients
        assert torch.allclose(functional_gradient_steps(x, [Linear2D([1.0, 1.0])], eta=2.0), torch.full((4, 2), 2.0))


def test_a_sample_does_not_depend_on_its_batch():
    torch.manual_seed(0)
    d = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1), nn.Flatten(0))
    generator = FunctionalGradientGenerator(nn.Linear(3, 2), [d, d], eta=0.3).eval()
    z = torch.randn(6, 3)
    assert torch.allclose(generator(z)[:2], generator(z[:2]), atol=1e-6)


def _batch_norm_d() -> nn.Module:
    return nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 1), nn.Flatten(0))


def test_batch_statistics_steps_normalise_with_the_moved_batch_in_any_mode():
    """The authors' steps: D's batch norm uses the batch being moved (D was trained on such batches), never its
    running statistics, in eval mode too, and nothing in D changes; without the option, the running statistics."""
    torch.manual_seed(0)
    d = _batch_norm_d()
    with torch.no_grad():
        d(torch.randn(64, 2) * 3 + 5)  # running statistics far from the batches below
    reference = copy.deepcopy(d).train()
    x = torch.randn(16, 2)
    x_ = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(reference(x_).sum(), x_)

    stepped = FunctionalGradientGenerator(nn.Identity(), [copy.deepcopy(d)], eta=0.5, batch_statistics=True).eval()
    assert torch.allclose(stepped(x), x + 0.5 * grad, atol=1e-6)
    assert "0.1.running_mean" not in stepped.discriminators[0].state_dict()  # neither used nor saved
    running = FunctionalGradientGenerator(nn.Identity(), [copy.deepcopy(d)], eta=0.5).eval()
    assert not torch.allclose(running(x), stepped(x), atol=1e-3)
    assert torch.allclose(running(x)[:2], running(x[:2]), atol=1e-6)  # per sample, as before the option


def test_models_saved_before_the_option_keep_stepping_with_running_statistics(tmp_path):
    model = _train(tmp_path, batch_statistics=False)
    assert model.training["method_settings"]["batch_statistics"] is False
    folder = tmp_path / "run"
    config = json.loads((folder / "config.json").read_text())
    del config["training"]["method_settings"]["batch_statistics"]  # as written before the option existed
    (folder / "config.json").write_text(json.dumps(config))
    assert ganzoo.load(folder).module.batch_statistics is False
    config["training"]["method_settings"]["batch_statistics"] = "yes"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match="batch_statistics"):
        ganzoo.load(folder)


def _train(tmp_path, name="run", steps=2, **options):
    return ganzoo.train(
        "mlp",
        "ring-8",
        method="xicfg",
        method_options={**TINY, **options},
        steps=steps,
        batch_size=16,
        progress=False,
        out_dir=tmp_path / name,
        seed=3,
        checkpoint_every=1,
        hidden=32,
        layers=2,
    )


def test_one_stage_snapshots_d_after_each_update_and_fits_the_approximator(tmp_path):
    from ganzoo.plugins.xicfg import XICFGMethod

    seen = []
    original = XICFGMethod.fit_approximator

    def spy(self, z, targets):
        seen.append({"snapshots": [dict(s.state_dict()) for s in self.snapshots], "d": self.D.state_dict()})
        loss, lr = original(self, z, targets)
        with torch.no_grad():
            seen[-1]["after"] = float(((self.G(z) - targets) ** 2).sum() / 2 / len(z))
        seen[-1]["targets"] = targets
        return loss, lr

    XICFGMethod.fit_approximator = spy
    try:
        model = _train(tmp_path, steps=1, approx_epochs=6)
    finally:
        XICFGMethod.fit_approximator = original
    _initial, stage = seen  # the random-projection fit, then the stage's
    last = stage["snapshots"][-1]
    assert all(torch.equal(last[k], stage["d"][k]) for k in last)  # D_T is D at the end of the stage
    first = stage["snapshots"][0]
    assert not all(torch.equal(first[k], last[k]) for k in first)  # each snapshot is D after its own update
    # the approximator ends near its targets, much nearer than the targets are to G~'s start (the projection fit)
    assert stage["after"] < 0.5 * float(stage["targets"].square().sum() / 2 / len(stage["targets"]))
    assert isinstance(model.module, FunctionalGradientGenerator) and len(model.module.discriminators) == 3
    assert model.training["ema"] == 0.0
    assert model.training["method_settings"] == {"steps": 3, "eta": 0.5, "batch_statistics": True}


def test_the_saved_model_is_the_full_generator_and_the_onnx_file_its_approximator(tmp_path):
    pytest.importorskip("onnxruntime")
    from ganzoo.exporters.onnx import read_metadata
    from ganzoo.exporters.runtime import OnnxGenerator

    model = _train(tmp_path)
    loaded = ganzoo.load(tmp_path / "run")
    assert torch.equal(loaded.sample(32, seed=1), model.sample(32, seed=1))
    z = loaded.latents(32, seed=1)
    with torch.no_grad():
        approximator_only = loaded.module.approximator(z)
    assert not torch.allclose(loaded.sample(32, seed=1), approximator_only)  # the steps change the samples

    path = ganzoo.export(loaded, tmp_path / "g.onnx")
    assert "approximator alone" in read_metadata(path)["ganzoo.exported_part"]
    onnx_out = torch.from_numpy(OnnxGenerator(path).sample(32, seed=1, output="raw"))
    assert torch.allclose(onnx_out, approximator_only, atol=1e-4)


def test_tampered_method_settings_are_refused_before_anything_is_built(tmp_path):
    _train(tmp_path)
    folder = tmp_path / "run"
    config = json.loads((folder / "config.json").read_text())
    for bad in ({"steps": 10**6, "eta": 0.5}, {"steps": 3, "eta": "big"}, {"steps": True, "eta": 0.5}):
        config["training"]["method_settings"] = bad
        (folder / "config.json").write_text(json.dumps(config))
        with pytest.raises(ModelFileError, match="method_settings"):
            ganzoo.load(folder)
    config["training"]["method_settings"] = {"steps": 2, "eta": 0.5}  # fewer snapshots than the weights hold
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError):
        ganzoo.load(folder)
    config["training"]["method"] = "not-installed"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match="install the plugin"):
        ganzoo.load(folder)


def test_the_exit_criterion_stops_with_a_message_and_keeps_the_checkpoint(tmp_path):
    with pytest.raises(XICFGExitCriterionError, match="diff_max=1e-06"):
        _train(tmp_path, steps=3, diff_max=1e-6, diff_after=1)
    from ganzoo.training.checkpoint import read_checkpoint

    _, metadata = read_checkpoint(tmp_path / "run" / "checkpoint.safetensors", with_tensors=False)
    assert metadata["step"] == "1"  # the stage before the stop, as checkpointed (checkpoint_every 1 here)


def test_bad_options_and_a_loss_are_refused():
    for options, match in (
        ({"steps": 0}, "steps"),
        ({"eta": -1.0}, "eta"),
        ({"eta": float("nan")}, "eta"),
        ({"pairs": 2.5}, "pairs"),
        ({"unknown": 1}, "unknown"),
        ({"batch_statistics": 1}, "batch_statistics"),
    ):
        with pytest.raises((TypeError, ValueError), match=match):
            ganzoo.train("mlp", "ring-8", method="xicfg", method_options=options, steps=1, progress=False)
    with pytest.raises(GanzooError, match="uses no adversarial loss"):
        ganzoo.train("mlp", "ring-8", method="xicfg", loss="hinge", steps=1, progress=False)
