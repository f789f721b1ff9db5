"""The zoo and the Hub: zoo entries, bundled weights with sha256 checks, model cards, and failures that are clear.

Downloads and uploads through a real Hub endpoint (olah on 127.0.0.1) are in ``test_hub_remote.py``.
"""

from __future__ import annotations

import json
import socket
import time

import pytest
from huggingface_hub import ModelCard

import ganzoo
from ganzoo.fileio import sha256_file
from ganzoo.hub import HubError, HubName
from ganzoo.hub.cards import CardInfo, Metric, render_card

TINY = {"z_dim": 8, "image_size": 16, "g_width": 4, "d_width": 4}


def _zoo_plugin(name, folder, sha256, **extra):
    class Zoo:
        @ganzoo.hookimpl
        def register_pretrained(self, register):
            register(
                name,
                architecture="dcgan",
                repo_id="tests/tiny",
                revision="v1",
                sha256=sha256,
                bundled=str(folder),
                dataset="noise",
                resolution=16,
                **extra,
            )

    return Zoo()


def test_builtin_zoo_lists_dcgan_celeba():
    entry = ganzoo.get_registry().pretrained["dcgan-celeba"]
    assert entry.architecture == "dcgan" and entry.resolution == 64
    assert entry.repo_id == "ganzoo/dcgan-celeba" and entry.revision
    assert len(entry.sha256) == 64
    assert "dcgan-celeba" in ganzoo.list_models()


def test_zoo_entry_loads_from_its_bundled_folder_and_checks_the_hash(host, register_plugin, tmp_path):
    g = ganzoo.create("dcgan", seed=0, **TINY)
    g.save(tmp_path / "tiny")
    digest = sha256_file(tmp_path / "tiny" / "model.safetensors")
    register_plugin(_zoo_plugin("tiny-zoo", tmp_path / "tiny", digest), "testzoo")
    loaded = ganzoo.load("tiny-zoo")
    assert loaded.training["zoo_name"] == "tiny-zoo"
    assert (loaded.sample(4, seed=0) == g.sample(4, seed=0)).all()


def test_sha256_mismatch_is_an_error_and_the_file_is_not_used(host, register_plugin, tmp_path):
    ganzoo.create("dcgan", seed=0, **TINY).save(tmp_path / "tiny")
    register_plugin(_zoo_plugin("tiny-zoo", tmp_path / "tiny", "ab" * 32), "testzoo")
    with pytest.raises(ganzoo.ModelFileError, match=r"sha256 .* expected abab.*not used"):
        ganzoo.load("tiny-zoo")


def test_unknown_zoo_name_suggests_close_matches():
    with pytest.raises(ganzoo.UnknownNameError, match="dcgan-celeba"):
        ganzoo.load("dcgan-celba")


@pytest.mark.parametrize("text", ["hf-hub:not a repo", "hf-hub:owner/na--me/x", "hf-hub:single"])
def test_malformed_repo_id(text):
    with pytest.raises(HubError, match="not a Hub model id"):
        ganzoo.load(text)


def test_hub_name_parsing():
    assert HubName.parse("hf-hub:ganzoo/dcgan-celeba") == HubName("ganzoo/dcgan-celeba", None)
    assert HubName.parse("hf-hub:ganzoo/dcgan-celeba@v1") == HubName("ganzoo/dcgan-celeba", "v1")
    assert HubName.parse("ganzoo/x", revision="abc") == HubName("ganzoo/x", "abc")
    with pytest.raises(HubError, match="also given"):
        HubName.parse("hf-hub:ganzoo/x@v1", revision="v2")


def test_offline_and_not_cached_is_a_clear_error():
    """HF_HUB_OFFLINE=1 (the test default) and an empty cache: an error that says so, at once."""
    start = time.monotonic()
    with pytest.raises(HubError, match="HF_HUB_OFFLINE is set"):
        ganzoo.load("hf-hub:ganzoo/not-cached")
    assert time.monotonic() - start < 5


def test_unreachable_hub_fails_within_seconds(monkeypatch):
    """No network: huggingface_hub alone retries for ~20 s; ganzoo's preflight answers in seconds."""
    from huggingface_hub import constants

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{port}")
    start = time.monotonic()
    with pytest.raises(HubError, match="could not be reached"):
        ganzoo.load("hf-hub:ganzoo/dcgan-celeba", revision="v1")
    assert time.monotonic() - start < 5


def test_missing_architecture_plugin_names_the_package(tmp_path):
    ganzoo.create("dcgan", seed=0, **TINY).save(tmp_path / "g")
    config = json.loads((tmp_path / "g" / "config.json").read_text())
    config["architecture"] = "stylegan9"
    config["plugin"] = {"name": "stylegan9", "distribution": "ganzoo-stylegan9", "version": "1.0"}
    (tmp_path / "g" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ganzoo.UnknownNameError, match="pip install ganzoo-stylegan9"):
        ganzoo.load(tmp_path / "g")


def test_model_card_renders_and_round_trips(tmp_path):
    g = ganzoo.create("dcgan", seed=0, **TINY)
    g.training.update({"loss": "non-saturating", "steps": 10, "data": "faces.npz"})
    info = CardInfo(
        datasets=["celeba"],
        license="other",
        license_name="celeba-non-commercial-research",
        data_license="non-commercial research only",
        training_command="ganzoo train dcgan --data faces.npz",
        metrics=[Metric("fid", 41.5, "10k samples vs 10k real", dataset="celeba", dataset_name="CelebA-64")],
    )
    card = render_card(g, repo_id="owner/tiny", info=info)
    card.save(tmp_path / "README.md")
    loaded = ModelCard.load(tmp_path / "README.md")
    data = loaded.data.to_dict()
    assert data["library_name"] == "ganzoo"
    assert data["pipeline_tag"] == "unconditional-image-generation"
    assert {"ganzoo", "gan", "dcgan"} <= set(data["tags"])
    assert data["datasets"] == ["celeba"] and data["license"] == "other"
    result = data["model-index"][0]["results"][0]
    assert result["metrics"][0] == {"type": "fid", "value": 41.5, "name": "FID"}
    assert result["dataset"] == {"name": "CelebA-64", "type": "celeba"}
    text = loaded.text
    assert 'ganzoo.load("hf-hub:owner/tiny")' in text
    assert "| loss | non-saturating |" in text and "| g_width | `4` |" in text
    assert "ganzoo train dcgan --data faces.npz" in text
    assert "non-commercial research only" in text
    assert "| FID | 41.50 | 10k samples vs 10k real |" in text


def test_card_without_metrics_says_so():
    card = render_card(ganzoo.create("mlp", seed=0), info=CardInfo())
    assert "No metrics measured yet" in card.text
    assert "model-index" not in card.data.to_dict()


def test_packaged_dcgan_celeba_card_matches_the_zoo_entry():
    entry = ganzoo.get_registry().pretrained["dcgan-celeba"]
    card = ModelCard.load(entry.card)
    assert card.data.library_name == "ganzoo"
    assert card.data.pipeline_tag == "unconditional-image-generation"
    assert "non-commercial" in card.text.lower()
    assert "ganzoo train dcgan" in card.text
    # the card's model-index and the zoo entry report the same measured numbers
    measured = {r.metric_type: r.metric_value for r in card.data.eval_results}
    assert measured["fid"] == entry.metrics["fid"] and measured["kid"] == entry.metrics["kid"]


def test_card_metrics_from_an_evaluation_result():
    """Headline numbers (plus recall and the high-quality share) become named, rounded card rows with the protocol."""
    from ganzoo.evaluation import card_metrics

    result = {
        "metrics": {
            "fid": {"fid": 109.34332, "mean_term": 57.2},
            "precision-recall": {"precision": 0.13, "recall": 0.2},
            "mode-coverage": {"modes": 25, "high_quality": 0.9764, "off_mode": 0.018},
        },
        "protocol": {
            "n_generated": 5000,
            "n_reference": 9000,
            "reference": {"split": "samples [0, 9000) of faces.npz"},
            "extractor": {"name": "inception-v3-2015-12-05", "weights_sha256": "7ff4a85c3a6378f0"},
            "seeds": {"latents": 0},
            "ganzoo_version": "0.1.0",
        },
    }
    rows = card_metrics(result, dataset="celeba")
    assert [(m.display_name, m.display_value) for m in rows] == [
        ("FID", "109.3"),
        ("precision", "0.1300"),  # 4 significant digits, trailing zeros kept
        ("recall", "0.2000"),
        ("modes covered", "25"),
        ("high-quality samples", "0.9764"),  # the share goes with the mode count; off_mode stays out
    ]
    result["metrics"]["fid"]["fid"] = 103.98
    assert card_metrics(result, only=["fid"])[0].display_value == "104.0"
    result["metrics"]["fid"]["fid"] = 104.0
    assert card_metrics(result, only=["fid"])[0].display_value == "104.0"
    assert all("5000 generated vs 9000 reference" in m.how and "7ff4a85c3a63" in m.how for m in rows)
    assert [m.name for m in card_metrics(result, only=["fid"])] == ["fid"]


def test_push_without_network_fails_fast_with_one_clear_line(monkeypatch, tmp_path):
    """`ganzoo push` to an unreachable endpoint: a HubError naming repo and endpoint in seconds, one CLI line."""
    from click.testing import CliRunner
    from huggingface_hub import constants

    from ganzoo.cli import main

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)  # HfApi() takes its default endpoint from here
    g = ganzoo.create("dcgan", seed=0, **TINY)
    g.save(tmp_path / "g")
    start = time.monotonic()
    with pytest.raises(HubError) as info:
        ganzoo.push(g, "me/tiny", token="hf_not_a_token")
    assert time.monotonic() - start < 5
    message = str(info.value)
    assert "me/tiny" in message and endpoint in message
    assert "network" in message and "HF_ENDPOINT" in message and "token" in message
    start = time.monotonic()
    args = ["push", str(tmp_path / "g"), "--repo", "me/tiny", "--token", "hf_not_a_token"]
    result = CliRunner().invoke(main, args)
    assert time.monotonic() - start < 5
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.startswith("Error: ") and len(result.output.strip().splitlines()) == 1
    assert "could not be reached" in result.output and endpoint in result.output
