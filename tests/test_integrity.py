"""Integrity of what ganzoo measures and publishes: the FID resize convention, the reference cache's key and
portable record, licences and results carried by saved models into their cards, pinned zoo config hashes, and a
weights check that never hangs on a FIFO or an endless device."""

from __future__ import annotations

import json
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
    from ganzoo.evaluation.cache import _cached_features
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
    _, first = _cached_features(extractor, samples, "data-sha", tmp_path, "reference")
    _, again = _cached_features(extractor, samples, "data-sha", tmp_path, "reference")
    assert again["cache_hit"] and len(calls) == 1
    # features cached under another convention (the old half-pixel one) are never reused
    extractor.resize = "bilinear to 299x299 (torch, align_corners=False, no antialias) from float [0, 255]"
    _, other = _cached_features(extractor, samples, "data-sha", tmp_path, "reference")
    assert not other["cache_hit"] and len(calls) == 2 and other["cache"] != first["cache"]
    # the record is portable: the file's name inside the cache folder and its hash, no absolute path
    for info in (first, other):
        assert not Path(info["cache"]).is_absolute() and str(tmp_path) not in json.dumps(info)
        assert info["cache"].startswith("reference-features/") and len(info["sha256"]) == 64
