"""The contract tests for ganzoo's own tests and for plugin authors' test suites.

from ganzoo.testing import check_architecture, check_method

def test_my_architecture():
    check_architecture("stylegan2")

def test_my_method():
    check_method("pix2pix", "unet-patchgan", "paired-npz:pairs.npz")
"""

from __future__ import annotations

import tempfile
from typing import Any

import torch

from ganzoo.host.manager import get_registry
from ganzoo.loading import create
from ganzoo.models.folder import save
from ganzoo.models.reader import load_folder


def check_architecture(name: str, *, batch_size: int = 3, **overrides: Any) -> None:
    """Assert that a registered architecture keeps the contract, on its ``tiny`` config (plus ``overrides``).

    Checks: G maps ``(N, z_dim)`` (plus labels for class-conditional configs) to ``(N, *output_shape)`` (images
    within [-1, 1]); D maps that to logits ``(N,)``; a backward pass reaches every parameter of G and D with finite
    gradients (except those a network lists in ``method_only_parameters``: name prefixes of heads only its method's
    extra loss trains, such as ACGAN's class head); save -> load is bit-exact; the same seed gives the same
    samples and another seed different ones.
    """
    arch = get_registry().get("architecture", name)
    config = {**arch.tiny, **overrides}
    if arch.task == "image-to-image":
        _check_translator(name, batch_size, config)
        return
    generator = create(name, seed=0, **config)
    cfg = generator.config
    G, D = generator.module.train(), arch.discriminator(cfg).train()

    z = torch.randn(batch_size, cfg.z_dim)
    # a class-conditional model (``labels`` in its input spec) gets labels in G and D: G(z, y), D(x, y); codes
    # (InfoGAN) are drawn from their priors and reach G only
    from ganzoo.sampling import draw_codes

    labels = [
        torch.randint(int(s.value_range[0]), int(s.value_range[1]) + 1, (batch_size,))
        for s in cfg.inputs[1:]
        if s.kind == "label"
    ]
    codes = {k: torch.from_numpy(v) for k, v in draw_codes(cfg.inputs, batch_size, 0).items()}
    g_inputs = [labels[0] if s.kind == "label" else codes[s.name] for s in cfg.inputs[1:]]
    fake = G(z, *g_inputs)
    expected = (batch_size, *cfg.output_shape)
    assert tuple(fake.shape) == expected, f"{name}: generator output {tuple(fake.shape)}, expected {expected}"
    assert torch.isfinite(fake).all(), f"{name}: generator output is not finite"
    if cfg.is_image:
        assert fake.min() >= -1 and fake.max() <= 1, f"{name}: images must lie in [-1, 1]"
    logits = D(fake, *labels)
    assert tuple(logits.shape) == (batch_size,), (
        f"{name}: discriminator output {tuple(logits.shape)}, expected ({batch_size},)"
    )

    (logits.square().mean() + fake.mean()).backward()
    for module_name, module in (("generator", G), ("discriminator", D)):
        # heads that only a method's extra loss trains (ACGAN's class head) are declared by the network
        method_only = tuple(getattr(module, "method_only_parameters", ()))
        for param_name, p in module.named_parameters():
            if param_name.startswith(method_only) and method_only:
                continue
            assert p.grad is not None, f"{name}: {module_name} parameter {param_name} gets no gradient"
            assert torch.isfinite(p.grad).all(), (
                f"{name}: {module_name} parameter {param_name} has a non-finite gradient"
            )
    assert any(p.grad.abs().sum() > 0 for p in G.parameters()), f"{name}: all generator gradients are zero"

    generator.eval()
    y = {"labels": labels[0]} if labels else {}
    first = generator.sample(batch_size, seed=1, output="raw", **y)
    assert torch.equal(first, generator.sample(batch_size, seed=1, output="raw", **y)), f"{name}: same seed differs"
    assert not torch.equal(first, generator.sample(batch_size, seed=2, output="raw", **y)), f"{name}: seed ignored"

    with tempfile.TemporaryDirectory() as folder:
        save(generator, folder)
        loaded = load_folder(folder)
    assert loaded.config == cfg, f"{name}: config changed in save/load"
    saved_state, loaded_state = generator.module.state_dict(), loaded.module.state_dict()
    assert saved_state.keys() == loaded_state.keys(), f"{name}: save/load changed the parameter names"
    for key, value in saved_state.items():
        assert torch.equal(value, loaded_state[key]), f"{name}: save/load changed {key}"
    assert torch.equal(first, loaded.sample(batch_size, seed=1, output="raw", **y)), f"{name}: loaded samples differ"


def _check_translator(name: str, batch_size: int, config: dict[str, Any]) -> None:
    """``check_architecture`` for image-to-image architectures: every published role maps images of the input
    spec to images of the output shape in [-1, 1], gradients reach every parameter, save -> load is bit-exact."""
    from ganzoo.models.reader import load_folder

    model = create(name, seed=0, **config)
    spec, out_shape = model.inputs[0], tuple(model.output_shape)
    images = torch.rand(batch_size, *spec.shape) * 2 - 1
    extra = []  # an inpainting model's mask: a centre hole of half the side
    for other in model.inputs[1:]:
        if other.kind != "mask":
            raise AssertionError(f"{name}: a translator's extra input {other.name!r} is not a mask")
        from ganzoo.masks import center_mask

        extra.append(center_mask(batch_size, other.shape[-1], other.shape[-1] // 2))
    for role, module in model.modules.items():
        module.train()
        out = module(images, *extra)
        assert tuple(out.shape) == (batch_size, *out_shape), f"{name}: {role} output {tuple(out.shape)}"
        assert torch.isfinite(out).all() and out.min() >= -1 and out.max() <= 1, f"{name}: {role} leaves [-1, 1]"
        out.mean().backward()
        for param_name, p in module.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), f"{name}: {role}.{param_name} gets no gradient"
    model.eval()
    mask = {"mask": extra[0]} if extra else {}
    first = {role: model.translate(images, direction=role, output="raw", **mask) for role in model.roles}
    with tempfile.TemporaryDirectory() as folder:
        save(model, folder)
        loaded = load_folder(folder)
    assert loaded.roles == model.roles and loaded.config == model.config, f"{name}: roles or config changed"
    for role in model.roles:
        again = loaded.translate(images, direction=role, output="raw", **mask)
        assert torch.equal(first[role], again), f"{name}: {role} translates differently after save/load"


def check_method(
    name: str,
    architecture: str,
    data: Any = "ring-8",
    *,
    steps: int = 2,
    batch_size: int = 4,
    loss: str | None = None,
    method_options: dict[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Assert that a registered training method keeps the contract on ``architecture``'s ``tiny`` config.

    The kit a method author runs (``ganzoo.testing.check_method("pix2pix", "unet-patchgan", "pairs.npz")``):

    - ``steps`` iterations train with finite metrics, and every metric the method returns reaches ``losses.csv``;
    - a preview picture is drawn (``progress/`` and ``samples.png``);
    - ``steps`` + resume to ``2 * steps`` equals ``2 * steps`` in one go, bit for bit: every network, EMA copy,
      optimiser state, the method's own state and the data position (on CPU);
    - the published roles load back with ``ganzoo.load`` and hold the returned model's weights.

    Returns what it measured (metric names, the loaded model) for further checks.
    """
    import csv
    import json
    import math
    from pathlib import Path

    from ganzoo.loading import load
    from ganzoo.training.checkpoint import read_checkpoint
    from ganzoo.training.loop import CHECKPOINT_NAME, LOG_NAME, train

    arch = get_registry().get("architecture", architecture)
    config = {**arch.tiny, **overrides}
    common = {
        "method": name,
        "loss": loss,
        "method_options": method_options,
        "batch_size": batch_size,
        "progress": False,
        "log_every": 1,
        "sample_every": 1,
        "checkpoint_every": steps,
        "device": "cpu",
        **config,
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        seen: list[dict[str, float]] = []
        model = train(
            architecture, data, steps=steps, out_dir=root / "run", callbacks=[lambda s, m, _: seen.append(m)], **common
        )
        assert len(seen) == steps, f"{name}: the callback saw {len(seen)} log rows for {steps} steps"
        for row in seen:
            bad = {k: v for k, v in row.items() if not math.isfinite(v)}
            assert not bad, f"{name}: non-finite metrics {bad}"
        with open(root / "run" / LOG_NAME, newline="") as f:
            header = next(csv.reader(f))
        missing = sorted(set(seen[-1]) - set(header))
        assert not missing, f"{name}: metrics {missing} never reached {LOG_NAME} (columns {header})"
        assert (root / "run" / "samples.png").is_file(), f"{name}: no preview picture (samples.png)"
        assert any((root / "run" / "progress").glob("*.png")), f"{name}: no progress pictures"

        loaded = load(root / "run")
        assert loaded.roles == model.roles, f"{name}: saved roles {loaded.roles}, published {model.roles}"
        for role in model.roles:
            mine, theirs = model.modules[role].state_dict(), loaded.modules[role].state_dict()
            assert mine.keys() == theirs.keys(), f"{name}: {role} lost parameters in save/load"
            for key, value in mine.items():
                assert torch.equal(value, theirs[key]), f"{name}: {role}.{key} changed in save/load"

        # resume: N steps, then on to 2N, against 2N in one go
        train(architecture, data, steps=2 * steps, out_dir=root / "run", resume=True, **common)
        train(architecture, data, steps=2 * steps, out_dir=root / "straight", **common)
        resumed, resumed_meta = read_checkpoint(root / "run" / CHECKPOINT_NAME)
        straight, straight_meta = read_checkpoint(root / "straight" / CHECKPOINT_NAME)
        assert resumed.keys() == straight.keys(), f"{name}: resumed checkpoint holds other tensors"
        differ = sorted(k for k in straight if not torch.equal(resumed[k], straight[k]))
        assert not differ, f"{name}: resume is not exact; these tensors differ: {differ[:8]}"
        for key in ("step", "ema_updates", "method_state", "optimizers"):
            assert json.loads(resumed_meta[key]) == json.loads(straight_meta[key]), f"{name}: resume changed {key}"
    return {"metrics": sorted(seen[-1]), "model": loaded}
