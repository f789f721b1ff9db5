"""Integrity of what ganzoo measures and publishes: the FID resize convention, the reference cache's key and
portable record, licences and results carried by saved models into their cards, pinned zoo config hashes, and a
weights check that never hangs on a FIFO or an endless device."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from ganzoo.evaluation.inception import RESIZE, RESIZE_CONVENTION, preprocess, resize_bilinear_tf1

# -- the resize convention -------------------------------------------------------------------------------------


def tf1_resize_reference(image: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """TensorFlow 1's ``resize_bilinear(align_corners=False)`` written out plainly (float64, one pixel at a time):
    source = dst * in / out (no half-pixel centres), floor and floor + 1 clamped to the last pixel."""
    in_h, in_w = image.shape[-2:]
    out = np.empty((*image.shape[:-2], out_h, out_w))
    for i in range(out_h):
        y = i * in_h / out_h
        y0 = int(np.floor(y))
        y1, fy = min(y0 + 1, in_h - 1), y - y0
        for j in range(out_w):
            x = j * in_w / out_w
            x0 = int(np.floor(x))
            x1, fx = min(x0 + 1, in_w - 1), x - x0
            top = image[..., y0, x0] * (1 - fx) + image[..., y0, x1] * fx
            bottom = image[..., y1, x0] * (1 - fx) + image[..., y1, x1] * fx
            out[..., i, j] = top * (1 - fy) + bottom * fy
    return out


@pytest.mark.parametrize(
    ("in_size", "out_size"),
    [((5, 7), (11, 13)), ((8, 8), (29, 29)), ((6, 4), (6, 9)), ((9, 9), (4, 5)), ((3, 2), (7, 7))],
)
def test_tf1_resize_matches_a_plain_numpy_reference(in_size, out_size):
    rng = np.random.default_rng(sum(in_size) * 100 + sum(out_size))
    image = rng.integers(0, 256, size=(2, 3, *in_size)).astype(np.float64)
    ours = resize_bilinear_tf1(torch.from_numpy(image).float(), out_size).double().numpy()
    np.testing.assert_allclose(ours, tf1_resize_reference(image, *out_size), atol=2e-4)


def test_tf1_resize_64_to_299_matches_the_reference_on_a_face_sized_image():
    image = np.random.default_rng(0).integers(0, 256, size=(1, 1, 64, 64)).astype(np.float64)
    ours = resize_bilinear_tf1(torch.from_numpy(image).float(), (299, 299)).double().numpy()
    np.testing.assert_allclose(ours, tf1_resize_reference(image, 299, 299), atol=2e-3)


def test_tf1_resize_is_not_half_pixel_bilinear():
    """2 -> 4 pixels [0, 10]: TF1 reads sources 0, 0.5, 1, 1.5 (clamped) -> 0, 5, 10, 10; torch's half-pixel
    bilinear reads -0.25, 0.25, 0.75, 1.25 (clamped) -> 0, 2.5, 7.5, 10."""
    x = torch.tensor([0.0, 10.0]).view(1, 1, 1, 2).expand(1, 1, 2, 2)
    tf1 = resize_bilinear_tf1(x, (4, 4))
    assert tf1[0, 0, 0].tolist() == [0.0, 5.0, 10.0, 10.0]
    assert torch.equal(tf1[0, 0, 0], tf1[0, 0, 3])  # rows are constant: every row is the same
    half_pixel = torch.nn.functional.interpolate(x, size=(4, 4), mode="bilinear", align_corners=False)
    assert half_pixel[0, 0, 0].tolist() == [0.0, 2.5, 7.5, 10.0]
    # the first output pixel is exactly the first input pixel (no half-pixel shift), down-scaling too
    y = torch.arange(16.0).view(1, 1, 4, 4)
    assert resize_bilinear_tf1(y, (2, 2))[0, 0].tolist() == [[0.0, 2.0], [8.0, 10.0]]


def test_preprocess_uses_the_tf1_convention_and_scales_like_tensorflow():
    images = torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8)
    expected = (resize_bilinear_tf1(images.float(), (299, 299)) - 128) / 128
    assert torch.equal(preprocess(images), expected)
    grey = torch.randint(0, 256, (1, 1, 32, 32), dtype=torch.uint8)
    assert preprocess(grey).shape == (1, 3, 299, 299)
    assert torch.equal(
        preprocess(torch.full((1, 3, 299, 299), 255, dtype=torch.uint8)), torch.full((1, 3, 299, 299), 0.9921875)
    )


def test_the_convention_is_named_in_the_protocol_and_the_cache_key(tmp_path, monkeypatch):
    from ganzoo.evaluation.cache import cached_features
    from ganzoo.evaluation.extractors import InceptionExtractor

    assert RESIZE_CONVENTION == "tf1-bilinear" and RESIZE.startswith(RESIZE_CONVENTION)
    assert "half_pixel_centers=False" in RESIZE

    class FakeModel:
        def describe(self):
            return {"name": "inception-v3-2015-12-05", "weights_sha256": "0" * 64}

    calls = []

    def features(self, samples, *, label=""):
        calls.append(self.resize)
        return np.zeros((len(samples), 4))

    monkeypatch.setattr(InceptionExtractor, "features", features)
    extractor = InceptionExtractor()
    extractor._model = FakeModel()
    described = extractor.describe()
    assert described["resize"] == RESIZE
    samples = torch.zeros(3, 3, 8, 8, dtype=torch.uint8)
    _, first = cached_features(extractor, samples, "data-sha", tmp_path, "reference")
    _, again = cached_features(extractor, samples, "data-sha", tmp_path, "reference")
    assert again["cache_hit"] and len(calls) == 1
    # features cached under another convention (the old half-pixel one) are never reused
    extractor.resize = "bilinear to 299x299 (torch, align_corners=False, no antialias) from float [0, 255]"
    _, other = cached_features(extractor, samples, "data-sha", tmp_path, "reference")
    assert not other["cache_hit"] and len(calls) == 2 and other["cache"] != first["cache"]
    # the record is portable: the file's name inside the cache folder and its hash, no absolute path
    for info in (first, other):
        assert not Path(info["cache"]).is_absolute() and str(tmp_path) not in json.dumps(info)
        assert info["cache"].startswith("reference-features/") and len(info["sha256"]) == 64


# -- a saved model carries its licence, datasets and results into every card --------------------------------------

TINY = {"z_dim": 8, "image_size": 16, "g_width": 4, "d_width": 4}
CELEBA_LICENSE = {
    "id": "other",
    "name": "celeba-non-commercial-research",
    "link": "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html",
    "notice": "CelebA is for **non-commercial research purposes only**; these weights inherit that restriction.",
}


def _card_of_folder(folder: Path, repo_id: str = "someone/model"):
    """``ganzoo push``'s card for a folder without a README, rendered offline (the code path push runs)."""
    from huggingface_hub import ModelCard

    from ganzoo.hub.publish import _complete_folder
    from ganzoo.models.reader import load_folder

    _complete_folder(load_folder(folder), folder, repo_id, card=True, onnx=False, samples=False)
    return ModelCard.load(folder / "README.md")


def _base_folder(path: Path) -> Path:
    import ganzoo
    from ganzoo.hub.cards import CardInfo, Metric, publication_metadata

    g = ganzoo.create("dcgan", seed=0, **TINY)
    info = CardInfo(
        datasets=["celeba"],
        license="other",
        license_name=CELEBA_LICENSE["name"],
        license_link=CELEBA_LICENSE["link"],
        data_license=CELEBA_LICENSE["notice"],
        metrics=[Metric("fid", 104.0, "5000 vs 9000, tf1-bilinear resize", dataset="celeba", label="FID")],
    )
    g.training = {"steps": 10, "data": "celeba64_uint8.npz", **publication_metadata(info)}
    g.save(path)
    return path


def test_a_folder_card_carries_the_licence_datasets_and_results_of_its_config(tmp_path):
    card = _card_of_folder(_base_folder(tmp_path / "base"))
    assert card.data.license == "other" and card.data.license_name == "celeba-non-commercial-research"
    assert card.data.license_link == CELEBA_LICENSE["link"] and card.data.datasets == ["celeba"]
    assert [(r.metric_type, r.metric_value) for r in card.data.eval_results] == [("fid", 104.0)]
    assert "non-commercial research purposes only" in card.text and "tf1-bilinear" in card.text
    assert "| license |" not in card.text  # shown in its own sections, not as raw training settings


def test_push_of_a_fine_tune_keeps_the_base_models_licence_and_datasets_but_not_its_results(tmp_path):
    import ganzoo

    base = _base_folder(tmp_path / "base")
    tuned = ganzoo.create("dcgan", seed=1, **TINY)
    tuned.training = {"steps": 5, "data": "my_faces.npz", "init_from": str(base)}  # as the training loop saves it
    tuned.save(tmp_path / "tuned")
    card = _card_of_folder(tmp_path / "tuned")
    assert card.data.license == "other" and card.data.license_name == "celeba-non-commercial-research"
    assert card.data.datasets == ["celeba"] and not card.data.eval_results  # the base's FID is not the fine-tune's
    assert "non-commercial research purposes only" in card.text and f"inherited from `{base}`" in card.text
    # a fine-tune of a fine-tune still finds the first model's licence
    again = ganzoo.create("dcgan", seed=2, **TINY)
    again.training = {"steps": 5, "init_from": str(tmp_path / "tuned")}
    again.save(tmp_path / "again")
    assert _card_of_folder(tmp_path / "again").data.license_name == "celeba-non-commercial-research"


def test_an_unreadable_base_is_said_in_the_card(tmp_path):
    import ganzoo

    tuned = ganzoo.create("dcgan", seed=1, **TINY)
    tuned.training = {"steps": 5, "init_from": str(tmp_path / "deleted-base")}
    tuned.save(tmp_path / "tuned")
    card = _card_of_folder(tmp_path / "tuned")
    assert "licence could not be read" in card.text and card.data.license is None


@pytest.mark.parametrize("name", ["dcgan-celeba", "pix2pix-celeba-colorize", "srgan-celeba-x4"])
def test_bundled_celeba_zoo_folders_carry_the_non_commercial_notice(name, tmp_path):
    import shutil

    import ganzoo

    entry = ganzoo.get_registry().pretrained[name]
    training = json.loads((Path(entry.bundled) / "config.json").read_text())["training"]
    assert training["license"]["name"] == "celeba-non-commercial-research" and training["datasets"] == ["celeba"]
    assert training["results"] and all(r["how"] for r in training["results"])
    shutil.copytree(entry.bundled, tmp_path / name)
    card = _card_of_folder(tmp_path / name, f"me/{name}")
    assert card.data.license_name == "celeba-non-commercial-research" and card.data.eval_results
    assert "non-commercial research purposes only" in card.text


def test_fine_tune_of_a_zoo_name_inherits_its_licence():
    from ganzoo.hub.cards import inherited_metadata

    inherited = inherited_metadata("dcgan-celeba")
    assert inherited["derived_from"] == "dcgan-celeba" and inherited["datasets"] == ["celeba"]
    assert inherited["license"]["name"] == "celeba-non-commercial-research" and "results" not in inherited


def test_a_2d_models_card_has_no_image_pipeline_tag_and_a_usage_line_that_runs(tmp_path):
    import re

    import ganzoo
    from ganzoo.hub.cards import render_card

    g = ganzoo.create("mlp", seed=0)
    assert not g.config.is_image
    card = render_card(g, repo_id="me/ring8", has_samples=True)
    assert card.data.pipeline_tag is None and "image" not in " ".join(card.data.tags)
    assert 'output="pil"' not in card.text and "scatter plot" in card.text
    usage = re.search(r"```python\n(.*?)```", card.text, re.S).group(1)
    scope = {"ganzoo": ganzoo}
    exec(usage.replace('ganzoo.load("hf-hub:me/ring8")', "_g").replace("import ganzoo\n", ""), {"_g": g, **scope})
    g.save(tmp_path / "ring8")
    pushed = _card_of_folder(tmp_path / "ring8")
    assert pushed.data.pipeline_tag is None and "g.sample(1000, seed=0)" in pushed.text


# -- pinned config.json: checked with the weights before anything is built -------------------------------------------


def _zoo_plugin(name, folder, sha256, **extra):
    import ganzoo

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
                resolution=16,
                **extra,
            )

    return Zoo()


def _never_build(monkeypatch):
    import ganzoo.loading

    def refuse(*args, **kwargs):
        raise AssertionError("a network was built from an unchecked config.json")

    monkeypatch.setattr(ganzoo.loading, "load_folder", refuse)


def test_every_zoo_entry_pins_its_config_and_the_bundled_files_match():
    import ganzoo
    from ganzoo.hub.download import bounded_sha256

    entries = ganzoo.get_registry().pretrained
    for name in ("dcgan-celeba", "cgan-fashion", "pix2pix-celeba-colorize", "cyclegan-fashion-sandal2sneaker",
                 "srgan-celeba-x4", "inpaint-celeba-center"):  # fmt: skip
        entry = entries[name]
        assert entry.config_sha256 and len(entry.config_sha256) == 64, name
        assert bounded_sha256(Path(entry.bundled) / "config.json", name) == entry.config_sha256, name
        assert bounded_sha256(Path(entry.bundled) / "model.safetensors", name) == entry.sha256, name


def test_bundled_config_sha_mismatch_is_refused_before_building(host, register_plugin, tmp_path, monkeypatch):
    import ganzoo
    from ganzoo.fileio import sha256_file

    ganzoo.create("dcgan", seed=0, **TINY).save(tmp_path / "tiny")
    weights = sha256_file(tmp_path / "tiny" / "model.safetensors")
    config = sha256_file(tmp_path / "tiny" / "config.json")
    register_plugin(_zoo_plugin("tiny-zoo", tmp_path / "tiny", weights, config_sha256=config), "testzoo")
    assert ganzoo.load("tiny-zoo").training["zoo_name"] == "tiny-zoo"  # the pinned pair loads
    # a config that builds a huge network, with the right weights beside it: refused before anything is built
    path = tmp_path / "tiny" / "config.json"
    saved = json.loads(path.read_text())
    saved["config"]["g_width"] = 10**6
    path.write_text(json.dumps(saved))
    _never_build(monkeypatch)
    with pytest.raises(ganzoo.ModelFileError, match=r"sha256 of config\.json .*expected .*not used"):
        ganzoo.load("tiny-zoo")


def test_hub_config_sha_mismatch_is_refused_before_building(tmp_path, monkeypatch):
    import ganzoo
    import ganzoo.loading
    from ganzoo.fileio import sha256_file

    ganzoo.create("dcgan", seed=0, **TINY).save(tmp_path / "snapshot")
    monkeypatch.setattr(ganzoo.loading, "download_folder", lambda name: tmp_path / "snapshot")
    _never_build(monkeypatch)
    weights = sha256_file(tmp_path / "snapshot" / "model.safetensors")
    with pytest.raises(ganzoo.ModelFileError, match=r"config\.json"):
        ganzoo.loading.load_from_hub("hf-hub:tests/tiny", sha256=weights, config_sha256="ab" * 32)


def test_a_malformed_config_pin_is_refused_at_registration():
    from ganzoo.host.registry import _pretrained

    with pytest.raises(ValueError, match="config_sha256 must be 64 hex digits"):
        _pretrained("x", architecture="dcgan", repo_id="a/b", revision="v1", sha256="ab" * 32, config_sha256="xyz")


# -- the weights check never hangs and never reads without bound -------------------------------------------------


def _within(seconds: float, call):
    """Run ``call`` in a daemon thread; fail (instead of hanging the suite) if it has not returned in time."""
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = call()
        except BaseException as exc:  # reported in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: the check hangs"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_in_place_of_the_weights_is_refused_at_once(tmp_path):
    from ganzoo.errors import ModelFileError
    from ganzoo.hub.download import verify_sha256

    fifo = tmp_path / "blobs" / "0123abcd"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    (tmp_path / "model.safetensors").symlink_to(fifo)  # the Hub cache links snapshot files to blobs
    for path in (fifo, tmp_path / "model.safetensors"):
        with pytest.raises(ModelFileError, match="FIFO"):
            _within(10, lambda p=path: verify_sha256(p, "ab" * 32, "tests/tiny@v1"))


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_link_to_dev_zero_is_refused_at_once(tmp_path):
    from ganzoo.errors import ModelFileError
    from ganzoo.hub.download import verify_sha256

    for name in ("model.safetensors", "config.json"):
        (tmp_path / name).symlink_to("/dev/zero")
        with pytest.raises(ModelFileError, match="character device"):
            _within(10, lambda n=name: verify_sha256(tmp_path / n, "ab" * 32, "tests/tiny@v1"))


def test_weights_are_hashed_only_up_to_the_size_their_header_declares(tmp_path, monkeypatch):
    import ganzoo
    from ganzoo.errors import ModelFileError
    from ganzoo.fileio import sha256_file
    from ganzoo.hub import download
    from ganzoo.hub.download import verify_sha256

    ganzoo.create("dcgan", seed=0, **TINY).save(tmp_path / "tiny")
    weights = tmp_path / "tiny" / "model.safetensors"
    good = sha256_file(weights)
    verify_sha256(weights, good, "tiny")  # the real file passes
    data = weights.read_bytes()
    (tmp_path / "long.safetensors").write_bytes(data + b"\0" * 4096)  # more than the header declares
    (tmp_path / "short.safetensors").write_bytes(data[:-10])  # truncated
    (tmp_path / "huge.safetensors").write_bytes((2**62).to_bytes(8, "little") + b"{}")  # a 4 EB header
    for name, why in (("long", "larger than"), ("short", "smaller than"), ("huge", "header")):
        with pytest.raises(ModelFileError, match=why):
            verify_sha256(tmp_path / f"{name}.safetensors", good, "tiny")
    header = json.dumps({"w": {"dtype": "F32", "shape": [2**40], "data_offsets": [0, 2**42]}}).encode()
    (tmp_path / "declares.safetensors").write_bytes(len(header).to_bytes(8, "little") + header)
    with pytest.raises(ModelFileError, match=r"over the \d+-byte limit"):
        verify_sha256(tmp_path / "declares.safetensors", good, "tiny")
    monkeypatch.setattr(download, "MAX_PLAIN_FILE_BYTES", 1000)
    (tmp_path / "config.json").write_bytes(b" " * 1001)
    with pytest.raises(ModelFileError, match="over the 1000-byte limit"):
        verify_sha256(tmp_path / "config.json", good, "tiny")
    with pytest.raises(ModelFileError, match="does not exist"):
        verify_sha256(tmp_path / "missing.safetensors", good, "tiny")


def test_a_fine_tune_of_dcgan_celeba_trained_here_keeps_the_non_commercial_notice(tmp_path):
    """One training step from the zoo weights (init_from), then the card ``ganzoo push`` would upload."""
    import ganzoo
    from ganzoo.data import InMemoryData

    data = InMemoryData(torch.randint(0, 256, (8, 3, 64, 64), dtype=torch.uint8))
    ganzoo.train(
        "dcgan", data, steps=1, batch_size=4, init_from="dcgan-celeba", out_dir=tmp_path / "ft", progress=False
    )
    card = _card_of_folder(tmp_path / "ft", "me/celeba-ft")
    assert card.data.license == "other" and card.data.license_name == "celeba-non-commercial-research"
    assert card.data.datasets == ["celeba"] and "non-commercial research purposes only" in card.text
    assert "inherited from `dcgan-celeba`" in card.text and not card.data.eval_results


def test_zoo_cards_say_which_resize_each_inception_number_was_measured_with():
    """Every FID/KID/precision/recall row of a zoo card names its resize convention (tf1-bilinear, or the previous
    half-pixel one where it was not re-measured), and the bundled config carries the card's numbers."""
    from huggingface_hub import ModelCard

    import ganzoo

    registry = ganzoo.get_registry().pretrained
    for name in ("dcgan-celeba", "pix2pix-celeba-colorize", "srgan-celeba-x4", "inpaint-celeba-center"):
        entry = registry[name]
        card = ModelCard.load(entry.card)
        rows = [
            line for line in card.text.splitlines() if line.startswith(("| FID", "| KID", "| precision", "| recall"))
        ]
        assert rows, name
        for row in rows:
            assert "tf1-bilinear" in row or "half-pixel" in row, row
        results = json.loads((Path(entry.bundled) / "config.json").read_text())["training"]["results"]
        assert {r["name"]: r["value"] for r in results} == {
            r.metric_type: r.metric_value for r in card.data.eval_results
        }
        for key in ("fid", "kid"):
            if key in entry.metrics:  # the zoo entry's rounded numbers agree with the card's
                card_value = next(r.metric_value for r in card.data.eval_results if r.metric_type == key)
                assert entry.metrics[key] == pytest.approx(card_value, rel=0.02), (name, key)
