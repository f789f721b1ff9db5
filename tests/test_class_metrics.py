"""Classifier-based metrics on cases with a known answer: the shipped Fashion-MNIST classifier on real test images,
a generator that ignores its label, one-class and balanced generators, real-vs-real intra-class FD, CAS on real
images; plus the weights' sha256 check and the errors for unconditional models and wrong shapes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import ganzoo
import ganzoo.plugins.metrics as metrics_plugin
from ganzoo.evaluation import Batch, EvalContext, EvaluationError, evaluate
from ganzoo.plugins.datasets import fashion_mnist
from ganzoo.plugins.metrics import (
    ClassDiversity,
    ClassificationAccuracyScore,
    ClassifierInceptionScore,
    ConditionalAccuracy,
    IntraClassFD,
    class_diversity,
    classifier_inception_score,
    intra_class_fd,
    load_fashion_classifier,
)
from ganzoo.plugins.metrics import fashion_classifier as fc
from ganzoo.plugins.metrics.classifier import softmax

from .conftest import FASHION

GEN_TINY = {"z_dim": 8, "g_width": 4, "d_width": 4}


@pytest.fixture(autouse=True)
def metrics_registered(host):
    """The built-in metrics plugin on a fresh host (registered by object until its entry point is installed)."""
    if "conditional-accuracy" not in host.registry.metrics:
        host.register(metrics_plugin, "metrics")
    return host


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: these networks are tiny, and on a busy 2-core machine two threads wait on each other at
    every small op (the CAS test took 265 s with two threads and 7 s with one, beside another job)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def fashion():
    """Fashion-MNIST at 32x32 (train, test), from ../shared/datasets (skipped where it is absent)."""
    if not FASHION.is_file():
        pytest.skip(f"{FASHION} not found")
    return fashion_mnist(FASHION, image_size=32), fashion_mnist(FASHION, split="test", image_size=32)


@pytest.fixture(scope="module")
def classifier():
    """The shipped classifier (sha256-checked)."""
    return load_fashion_classifier()


@pytest.fixture(scope="module")
def test_predictions(classifier, fashion):
    """The shipped classifier's logits and features on the 10,000 test images."""
    return classifier.predict(fashion[1].data)


def _run(metric, images, labels=None, **context):
    metric.bind(EvalContext(seed=0, **context))
    metric.update(Batch(images, labels=labels), "generated")
    return metric.compute()


def _one_hot_logits(classes, k=10, confidence=50.0):
    """Logits that put all but ~e^-50 of the mass on ``classes``."""
    logits = np.zeros((len(classes), k))
    logits[np.arange(len(classes)), classes] = confidence
    return logits


class _Stub(nn.Module):
    """A class-conditional generator network from a function ``fn(z, labels) -> images in [-1, 1]``."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, z, labels):
        return self.fn(z, labels)


def _conditional(fn):
    base = ganzoo.create("cgan", seed=0, **GEN_TINY)
    return ganzoo.Generator(_Stub(fn), "cgan", base.config, task=base.task)


def _pick(z, n):
    """A deterministic index in [0, n) from each latent (so each sample is its own image)."""
    return (z[:, 0].double().abs() * 1e6).long() % n


# -- the classifier and its weights -------------------------------------------------------------------------------


def test_shipped_classifier_scores_its_accuracy_on_real_test_images(classifier, fashion, test_predictions):
    """The shipped weights score at least 92 % on Fashion-MNIST's test set, exactly the accuracy the module states;
    fed to conditional-accuracy as 'fakes' labelled with their true classes, they score that accuracy too."""
    test = fashion[1]
    logits, features = test_predictions
    accuracy = float((logits.argmax(1) == test.labels.numpy()).mean())
    assert accuracy >= 0.92
    assert accuracy == pytest.approx(fc.TEST_ACCURACY, abs=1e-4)
    assert features.shape == (10_000, 128) and logits.shape == (10_000, 10)
    result = _run(ConditionalAccuracy(classifier=classifier), test.data, test.labels)
    assert result["accuracy"] == pytest.approx(accuracy, abs=1e-12)
    assert result["per_class_count"] == np.bincount(test.labels.numpy()).tolist()


def test_weights_file_is_small_and_checked(tmp_path):
    """The shipped file is fp16 safetensors under 1 MB with the stated sha256; a damaged or missing file is a clear
    error, and ``sha256=''`` loads weights of one's own."""
    assert fc.WEIGHTS_PATH.stat().st_size < 1_000_000
    assert fc.sha256_file(fc.WEIGHTS_PATH) == fc.WEIGHTS_SHA256
    damaged = tmp_path / "fc.safetensors"
    damaged.write_bytes(fc.WEIGHTS_PATH.read_bytes()[:-1] + b" ")
    with pytest.raises(fc.FashionClassifierError, match="sha256"):
        load_fashion_classifier(damaged)
    with pytest.raises(fc.FashionClassifierError, match="missing"):
        load_fashion_classifier(tmp_path / "absent.safetensors")
    own = tmp_path / "own.safetensors"
    digest = fc.save_classifier(fc.FashionClassifier(widths=(4, 8, 8, 8), feature_dim=16), own)
    assert load_fashion_classifier(own, sha256=digest).widths == (4, 8, 8, 8)
    assert load_fashion_classifier(own, sha256="").feature_dim == 16


def test_wheel_package_data_lists_the_weights():
    """pyproject ships the weights with the package (``ganzoo.plugins`` data ``metrics/weights/*.safetensors``)."""
    import tomllib

    from .conftest import REPO

    data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "metrics/weights/*.safetensors" in data["ganzoo.plugins"]


# -- conditional accuracy through evaluate() --------------------------------------------------------------------


def test_generator_that_ignores_its_label_scores_chance(fashion):
    """A class-conditional generator that returns real test images whatever its label: ~10 % conditional accuracy;
    one that returns a real image of the asked class: about the classifier's accuracy. Both through evaluate(),
    which draws balanced labels (each class n / K times) and hands them to the metric."""
    test = fashion[1]
    images = test.data.float() / 127.5 - 1.0
    by_class = [torch.nonzero(test.labels == c).flatten() for c in range(10)]

    ignoring = _conditional(lambda z, labels: images[_pick(z, len(images))])
    spec = f"fashion-mnist:{FASHION}"
    options = {"data_options": {"image_size": 32}, "cache": False, "progress": False}
    result = evaluate(ignoring, spec, ["conditional-accuracy"], n=2000, **options)
    score = result["metrics"]["conditional-accuracy"]
    assert score["per_class_count"] == [200] * 10
    assert score["accuracy"] == pytest.approx(0.1, abs=0.025)
    assert result["protocol"]["generated_labels"].startswith("balanced over 10 classes")

    def following(z, labels):
        index = _pick(z, 1000)
        rows = [by_class[int(c)][i % len(by_class[int(c)])] for c, i in zip(labels, index, strict=True)]
        return images[torch.stack(rows)]

    score = evaluate(_conditional(following), spec, ["conditional-accuracy"], n=2000, **options)["metrics"]
    assert score["conditional-accuracy"]["accuracy"] > 0.9


def test_per_class_draws_its_own_balanced_samples(fashion):
    """per_class=k: the metric draws k samples of every class itself, whatever evaluate's n."""
    images = fashion[1].data.float() / 127.5 - 1.0
    g = _conditional(lambda z, labels: images[_pick(z, len(images))])
    options = {"data_options": {"image_size": 32}, "cache": False, "progress": False, "n": 20}
    options["metric_options"] = {"conditional-accuracy": {"per_class": 30}}
    result = evaluate(g, f"fashion-mnist:{FASHION}", ["conditional-accuracy"], **options)
    assert result["metrics"]["conditional-accuracy"]["per_class_count"] == [30] * 10


def test_conditional_metrics_refuse_an_unconditional_generator(fashion):
    """conditional-accuracy (and the other label-reading metrics) fail early with a clear error for an unconditional
    model; classifier-inception-score and class-diversity score it."""
    g = ganzoo.create("dcgan", seed=0, z_dim=8, image_size=32, channels=1, g_width=4, d_width=4)
    spec = f"fashion-mnist:{FASHION}"
    options = {"data_options": {"image_size": 32}, "cache": False, "progress": False}
    for name in ("conditional-accuracy", "intra-class-fd", "classification-accuracy-score"):
        with pytest.raises(EvaluationError, match="needs a class-conditional generator"):
            evaluate(g, spec, [name], n=20, **options)
    result = evaluate(g, spec, ["classifier-inception-score", "class-diversity"], n=50, **options)["metrics"]
    assert 1.0 <= result["classifier-inception-score"]["score"] <= 10.0
    assert 0.1 <= result["class-diversity"]["diversity"] <= 1.0


def test_classifier_metrics_refuse_other_image_shapes():
    """The classifier reads 1x32x32: a 3x32x32 set-up is rejected at bind, before any sample is drawn."""
    with pytest.raises(EvaluationError, match="1x32x32"):
        ClassDiversity().bind(EvalContext(sample_shape=(3, 32, 32), is_image=True))


# -- classifier Inception score and class diversity ------------------------------------------------------------


def test_scores_on_exact_distributions():
    """One confident class: IS 1, diversity exp(-ln 10) = 0.1; confident and balanced: IS 10, diversity 1; every
    sample uniform: IS 1 (no confidence), diversity 1."""
    one = softmax(_one_hot_logits(np.full(100, 3)))
    balanced = softmax(_one_hot_logits(np.arange(100) % 10))
    uniform = np.full((100, 10), 0.1)
    assert classifier_inception_score(one) == pytest.approx(1.0, abs=1e-9)
    assert class_diversity(one) == pytest.approx(math.exp(-math.log(10)), abs=1e-9)
    assert classifier_inception_score(balanced) == pytest.approx(10.0, rel=1e-9)
    assert class_diversity(balanced) == pytest.approx(1.0, abs=1e-12)
    assert classifier_inception_score(uniform) == pytest.approx(1.0) and class_diversity(uniform) == pytest.approx(1.0)


def test_one_class_generator_scores_diversity_one_tenth(classifier, fashion):
    """Real trousers only (one class): diversity ~exp(-ln 10) = 0.1 and classifier IS ~1; the whole real test set
    (balanced): diversity ~1 and a classifier IS near 10. (The classifier gives trousers 98 % of its mass, not 100 %,
    so the one-class diversity is 0.11 rather than exactly 0.1.)"""
    test = fashion[1]
    trousers = test.data[test.labels == 1]
    assert _run(ClassDiversity(classifier=classifier), trousers)["diversity"] == pytest.approx(0.1, abs=0.02)
    assert _run(ClassifierInceptionScore(classifier=classifier), trousers)["score"] == pytest.approx(1.0, abs=0.1)
    balanced = _run(ClassDiversity(classifier=classifier), test.data)
    assert balanced["diversity"] > 0.99
    assert balanced["predicted_shares"] == pytest.approx([0.1] * 10, abs=0.03)
    score = _run(ClassifierInceptionScore(classifier=classifier, n_splits=10), test.data)
    assert 8.0 < score["score"] <= 10.0 and score["n_splits"] == 10


# -- intra-class FD ------------------------------------------------------------------------------------------------


def test_intra_class_fd_of_identical_sets_is_zero_and_real_vs_real_is_the_floor(classifier, fashion):
    """The test images against themselves: 0 for every class. Real training images as 'fakes': the mean equals the
    real-train vs real-test floor (another draw of the same kind, at the same count per class)."""
    train, test = fashion
    identical = _run(IntraClassFD(classifier=classifier, data=FASHION), test.data, test.labels)
    assert identical["per_class"] == pytest.approx([0.0] * 10, abs=1e-6)
    assert identical["floor"] > 0.1  # real training images are not the test images
    rng = np.random.default_rng(1)
    index = torch.from_numpy(np.sort(rng.permutation(len(train))[:3000]))
    real = _run(IntraClassFD(classifier=classifier, data=FASHION), train.data[index], train.labels[index])
    assert real["ratio"] == pytest.approx(1.0, abs=0.1)
    assert real["per_class_count"] == np.bincount(train.labels[index].numpy(), minlength=10).tolist()


def test_intra_class_fd_on_gaussian_features():
    """The numerical function: identical features give 0; a class shifted by d gives |d|^2 there."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 4))
    labels = np.arange(4000) % 2
    shifted = x + np.where(labels[:, None] == 1, [[1.0, 0, 0, 0]], 0.0)
    assert intra_class_fd(x, labels, x, labels, 2) == pytest.approx([0.0, 0.0], abs=1e-9)
    assert intra_class_fd(shifted, labels, x, labels, 2) == pytest.approx([0.0, 1.0], abs=1e-9)


# -- CAS -------------------------------------------------------------------------------------------------------


def test_cas_on_real_images_beats_chance_and_shuffled_labels_do_not(fashion):
    """Classification accuracy score with 2,000 real training images as 'fakes' (a small network, 150 steps):
    well above chance on 1,000 test images; the same images with shuffled labels stay near chance."""
    train, _ = fashion
    index = torch.from_numpy(np.random.default_rng(0).permutation(len(train))[:2000])
    x, y = train.data[index], train.labels[index]
    options = {"steps": 150, "widths": (8, 16, 16, 16), "feature_dim": 32, "n_test": 1000, "data": FASHION}
    real = _run(ClassificationAccuracyScore(baseline=True, **options), x, y)
    assert real["cas"] > 0.6 and real["n_train"] == 2000 and real["n_test"] == 1000
    assert real["real_baseline"] > 0.6  # the same recipe on another 2,000 real images
    shuffled = _run(ClassificationAccuracyScore(**options), x, y[torch.randperm(2000)])
    assert shuffled["cas"] < 0.25
