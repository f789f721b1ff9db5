"""Moment matching and ReLU sparsity along training (ganzoo.training.moments, train(track_moments=...))."""

from __future__ import annotations

import csv

import pytest
import torch
from torch import nn

import ganzoo
from ganzoo.training.moments import MomentTracker, pixel_rows


def _relu_generator(shift: float) -> nn.Module:
    """z -> relu(+-z) -> back to z + shift: exactly half of the ReLU outputs are zero, and samples are z + shift."""
    first, last = nn.Linear(2, 4, bias=False), nn.Linear(4, 2)
    with torch.no_grad():
        first.weight.copy_(torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1]]))
        last.weight.copy_(torch.tensor([[1.0, -1, 0, 0], [0, 0, 1, -1]]))
        last.bias.fill_(shift)
    return nn.Sequential(first, nn.ReLU(), last)


def test_tracker_measures_moment_distances_and_sparsity():
    torch.manual_seed(0)
    reference = torch.randn(4000, 2) + 3.0  # N((3, 3), I)
    z = torch.randn(4000, 2)
    tracker = MomentTracker(reference, z)
    matched = tracker.record(1, _relu_generator(3.0))
    off = tracker.record(2, _relu_generator(0.0))
    assert matched["mean_distance_scaled"] < 0.05 and matched["cov_distance_relative"] < 0.1
    # missing the mean by (3, 3) is 3 * sqrt(2) away, in units of the data's spread sqrt(trace(I)) = sqrt(2): 3
    assert off["mean_distance_scaled"] == pytest.approx(3.0, abs=0.1)
    assert matched["mean_zero_fraction"] == pytest.approx(0.5) and "zeros/1" in matched
    assert [r["step"] for r in tracker.rows] == [1, 2]


def test_moment_features_pool_images():
    images = torch.rand(3, 3, 64, 64)
    features = pixel_rows(images)
    assert features.shape == (3, 3 * 8 * 8)
    assert features[0, 0] == pytest.approx(images[0, 0, :8, :8].mean().item(), rel=1e-5)
    assert pixel_rows(torch.rand(5, 2)).shape == (5, 2)


def test_train_tracks_moments_and_resumes_without_duplicates(tmp_path):
    kw = dict(batch_size=32, hidden=16, layers=2, progress=False, log_every=5, out_dir=tmp_path, track_moments=5)
    ganzoo.train("mlp", "ring-8", steps=10, **kw)
    ganzoo.train("mlp", "ring-8", steps=20, resume=True, **kw)
    with open(tmp_path / "moments.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [5, 10, 15, 20]
    assert {"mean_distance_scaled", "cov_distance_relative", "mean_zero_fraction"} <= set(rows[0])
    assert all(0.0 <= float(r["mean_zero_fraction"]) <= 1.0 for r in rows)
    assert (tmp_path / "moments.png").stat().st_size > 0


def test_track_moments_needs_an_out_dir():
    with pytest.raises(ValueError, match="out_dir"):
        ganzoo.train("mlp", "ring-8", steps=2, track_moments=1, progress=False)
