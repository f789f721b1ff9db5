"""Push and pull through a real Hub endpoint: olah on 127.0.0.1 (+ the write emulation), the unmodified client."""

from __future__ import annotations

import os
import time

import pytest
import torch
from click.testing import CliRunner
from huggingface_hub import ModelCard

import ganzoo
from ganzoo.cli import main
from ganzoo.fileio import sha256_file
from ganzoo.hub import HubError

TINY = {"z_dim": 8, "image_size": 16, "g_width": 4, "d_width": 4}


def _tiny(seed):
    return ganzoo.create("dcgan", seed=seed, **TINY)


def _files_of(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_push_then_load_back_through_the_client(hub):
    g = _tiny(0)
    url = ganzoo.push(g, "tests/tiny")
    assert "tests/tiny" in url
    files = hub.files("tests/tiny")
    assert {"config.json", "model.safetensors", "README.md", "model.onnx", "samples.png"} <= set(files)
    card = ModelCard(hub.read("tests/tiny", "README.md").decode())
    assert card.data.library_name == "ganzoo"
    assert 'ganzoo.load("hf-hub:tests/tiny")' in card.text
    loaded = ganzoo.load("hf-hub:tests/tiny")
    assert torch.equal(loaded.sample(4, seed=1), g.sample(4, seed=1))
    assert loaded.training["revision"] == hub.resolve("tests/tiny")


def test_pinned_older_revision_gives_the_older_weights(hub):
    first, second = _tiny(0), _tiny(1)
    ganzoo.push(first, "tests/tiny")
    old = hub.resolve("tests/tiny")
    hub.tag("tests/tiny", "v1")
    ganzoo.push(second, "tests/tiny")
    assert hub.resolve("tests/tiny") != old
    assert torch.equal(ganzoo.load("hf-hub:tests/tiny", revision=old).sample(2, seed=0), first.sample(2, seed=0))
    assert torch.equal(ganzoo.load(f"hf-hub:tests/tiny@{old}").sample(2, seed=0), first.sample(2, seed=0))
    assert torch.equal(ganzoo.load("hf-hub:tests/tiny@v1").sample(2, seed=0), first.sample(2, seed=0))
    assert torch.equal(ganzoo.load("hf-hub:tests/tiny").sample(2, seed=0), second.sample(2, seed=0))


def test_zoo_entry_downloads_its_pinned_revision_and_checks_sha256(hub, host, register_plugin, tmp_path):
    g = _tiny(3)
    g.save(tmp_path / "g")
    sha = hub.make_repo("tests/zoo", _files_of(tmp_path / "g"))
    hub.commit("tests/zoo", {"model.safetensors": b"newer, different weights"})
    digest = sha256_file(tmp_path / "g" / "model.safetensors")

    class Zoo:
        @ganzoo.hookimpl
        def register_pretrained(self, register):
            common = {"architecture": "dcgan", "repo_id": "tests/zoo", "revision": sha}
            register("tiny-hub", sha256=digest, **common)
            register("tiny-bad-hash", sha256="cd" * 32, **common)

    register_plugin(Zoo(), "testzoo")
    assert torch.equal(ganzoo.load("tiny-hub").sample(2, seed=0), g.sample(2, seed=0))
    with pytest.raises(ganzoo.ModelFileError, match="not used"):
        ganzoo.load("tiny-bad-hash")


def test_truncated_download_is_a_clear_error(hub, tmp_path):
    _tiny(0).save(tmp_path / "g")
    files = _files_of(tmp_path / "g")
    files["model.safetensors"] = files["model.safetensors"][:-100]
    hub.make_repo("tests/truncated", files)
    with pytest.raises(ganzoo.ModelFileError, match="corrupt or truncated"):
        ganzoo.load("hf-hub:tests/truncated")


@pytest.mark.parametrize(
    ("name", "revision", "message"),
    [
        ("hf-hub:tests/nothing-here", None, "no model repo 'tests/nothing-here'"),
        ("hf-hub:tests/exists", "no-such-branch", "has no revision 'no-such-branch'"),
        ("hf-hub:tests/exists", "0" * 40, "has no revision"),
        ("hf-hub:tests/no-weights", None, "has no model.safetensors"),
    ],
)
def test_missing_repo_revision_or_file_fail_fast(hub, name, revision, message):
    hub.make_repo("tests/exists", {"config.json": b"{}"})
    hub.make_repo("tests/no-weights", {"config.json": b"{}"})
    start = time.monotonic()
    with pytest.raises(HubError, match=message):
        ganzoo.load(name, revision=revision)
    assert time.monotonic() - start < 5


def test_cli_push_and_sample(hub, tmp_path):
    _tiny(0).save(tmp_path / "g")
    runner = CliRunner()
    result = runner.invoke(main, ["push", str(tmp_path / "g"), "--repo", "tests/cli", "--no-onnx"])
    assert result.exit_code == 0, result.output
    assert "model.onnx" not in hub.files("tests/cli")
    result = runner.invoke(main, ["sample", "hf-hub:tests/cli", "-n", "4", "-o", str(tmp_path / "s.png")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "s.png").is_file()


def test_dcgan_celeba_works_offline_from_the_package():
    """The README's main command: the built-in zoo model needs no network (HF_HUB_OFFLINE=1 here)."""
    g = ganzoo.load("dcgan-celeba")
    images = g.sample(16, seed=0, output="numpy")
    assert images.shape == (16, 64, 64, 3)
    assert images.std() > 20  # real pictures, not a flat colour
    assert (ganzoo.load("dcgan-celeba").sample(16, seed=0, output="numpy") == images).all()


@pytest.mark.skipif(not os.environ.get("HF_TOKEN"), reason="real Hub test: needs HF_TOKEN and network")
def test_real_hub_round_trip(monkeypatch):  # pragma: no cover - opt-in
    from huggingface_hub import HfApi, constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    user = HfApi().whoami()["name"]
    g = _tiny(0)
    ganzoo.push(g, f"{user}/ganzoo-test-tiny", private=True, onnx=False)
    assert torch.equal(ganzoo.load(f"hf-hub:{user}/ganzoo-test-tiny").sample(2, seed=0), g.sample(2, seed=0))
