"""Classifier-based metrics for Fashion-MNIST generators, on the shipped ``FashionClassifier``:

- ``conditional-accuracy``: does label y give class y? The classifier's accuracy on fakes generated with each
  label (1,000 per class at ``evaluate``'s default n = 10,000), per class and overall.
- ``classification-accuracy-score`` (CAS): train the same classifier design on fakes only (labelled as they were
  conditioned), test it on the real test set. Ravuri & Vinyals 2019, "Classification Accuracy Score for
  Conditional Generative Models", https://arxiv.org/abs/1905.10887.
- ``classifier-inception-score``: ``exp(E_x KL(p(y|x) || p(y)))`` with the Fashion-MNIST classifier in place of
  Inception (Salimans et al. 2016's formula), the quality score of the xICFG lecture (xICFG: Johnson & Zhang 2018,
  "Composite Functional Gradient Learning of Generative Adversarial Models"); works for unconditional models.
- ``class-diversity``: ``exp(-KL(p(y) || p*(y)))``, ``p(y)`` the mean predicted class distribution over the fakes
  and ``p*`` uniform over the classes: 1 for balanced classes, 1/K for one class only (the xICFG lecture's
  diversity score); works for unconditional models.
- ``intra-class-fd``: per class, the Fréchet distance (Heusel et al. 2017) in the classifier's 128-d penultimate
  features between that class's fakes and that class's real test images, averaged over classes; beside it the
  floor: the same distance between real training and real test images, as many per class as the fakes.

Samples must be 1x32x32 greyscale (``fashion-mnist:PATH`` pads the 28x28 pictures to 32). The conditional metrics
read the labels ``evaluate`` generated the samples with (balanced: sample i of class i % K). The real data comes
from ``data=`` (the ``.npz`` path or ``fashion-mnist:PATH``), else from ``evaluate``'s data when it names
fashion-mnist.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from ganzoo.evaluation import EvalContext, EvaluationError, Metric

from .fashion_classifier import FashionClassifier, load_fashion_classifier, train_classifier
from .inception import fid_from_features

SHAPE = (1, 32, 32)


# -- numbers on plain arrays -----------------------------------------------------------------------------------


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``(N, K)`` logits, float64."""
    logits = np.asarray(logits, np.float64)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


def classifier_inception_score(probs: np.ndarray) -> float:
    """``exp(E_x KL(p(y|x) || p(y)))`` of class probabilities ``(N, K)``, ``p(y)`` their mean (Salimans et al.
    2016's Inception score with a domain classifier, as the xICFG lecture's quality score): 1 when every sample
    gets the same distribution, K for confident predictions spread evenly over K classes."""
    p = np.asarray(probs, np.float64)
    marginal = p.mean(axis=0, keepdims=True)
    kl = (p * (np.log(np.clip(p, 1e-30, None)) - np.log(np.clip(marginal, 1e-30, None)))).sum(axis=1).mean()
    return float(math.exp(kl))


def class_diversity(probs: np.ndarray) -> float:
    """``exp(-KL(p(y) || p*(y)))``, ``p(y)`` the mean of class probabilities ``(N, K)`` and ``p*`` uniform over the K
    classes (the xICFG lecture's diversity score; xICFG: Johnson & Zhang 2018): 1 for balanced classes, 1/K for one."""
    p = np.asarray(probs, np.float64).mean(axis=0)
    k = len(p)
    kl = float(sum(q * math.log(q * k) for q in p if q > 0))
    return float(math.exp(-kl))


def intra_class_fd(
    features: np.ndarray, labels: np.ndarray, real_features: np.ndarray, real_labels: np.ndarray, classes: int
) -> list[float]:
    """Per class ``c``: the Fréchet distance (Heusel et al. 2017) between ``features`` of label ``c`` and
    ``real_features`` of label ``c`` (the intra-class FD of Miyato & Koyama 2018); a list of K floats."""
    labels, real_labels = np.asarray(labels).reshape(-1), np.asarray(real_labels).reshape(-1)
    out = []
    for c in range(classes):
        x, y = features[labels == c], real_features[real_labels == c]
        if min(len(x), len(y)) < 2:
            raise EvaluationError(f"intra-class FD needs 2+ samples of class {c} in each set, got {len(x)}, {len(y)}")
        out.append(fid_from_features(x, y))
    return out


# -- the real data -----------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _fashion_split(path: str, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    from ganzoo.data import resolve_data

    data = resolve_data(f"fashion-mnist:{path}", image_size=32, channels=1, split=split)
    return data.data, data.labels


def fashion_split(data: Any, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (uint8 ``(N, 1, 32, 32)``) and labels of Fashion-MNIST's ``split`` (``train`` or ``test``), from
    ``data``: the ``.npz`` (or its folder), ``fashion-mnist:PATH``, or a ``{"train": ..., "test": ...}`` mapping of
    data sets with labels (for tests)."""
    if isinstance(data, dict):
        chosen = data.get(split)
        if chosen is None:
            raise EvaluationError(f"data= has no {split!r} set (keys: {sorted(data)})")
        if isinstance(chosen, (tuple, list)):
            return torch.as_tensor(chosen[0]), torch.as_tensor(chosen[1], dtype=torch.int64)
        if getattr(chosen, "labels", None) is None:
            raise EvaluationError(f"the {split!r} data set has no labels")
        return chosen.data, chosen.labels
    text = str(data)
    path = text.split(":", 1)[1] if text.startswith("fashion-mnist:") else text
    if not Path(path).expanduser().exists():
        raise EvaluationError(f"no Fashion-MNIST file at {path} (data={text!r})")
    return _fashion_split(str(Path(path).expanduser().resolve()), split)


# -- the metrics -------------------------------------------------------------------------------------------------


class ClassifierMetric(Metric):
    """Shared part of the classifier metrics: the classifier (shipped, a weights path, or a ``FashionClassifier``),
    the generated images and their labels, their logits and features.

    Options: ``classifier`` (None: the shipped weights; a ``.safetensors`` path; or a module with
    ``predict(images) -> (logits, features)``), ``sha256`` (of a weights path; None checks nothing for a path of
    your own), ``per_class`` (None: read ``evaluate``'s generated samples; an integer: draw that many per class
    from the generator, seeded with ``evaluate``'s seed), ``data`` (the real Fashion-MNIST data, for the metrics
    that read it).
    """

    needs: ClassVar[frozenset[str]] = frozenset({"samples"})
    splits: ClassVar[tuple[str, ...]] = ("generated",)
    conditional: ClassVar[bool] = False  # needs the labels the samples were generated with
    reads_data: ClassVar[bool] = False  # needs real Fashion-MNIST images

    def __init__(
        self, classifier: Any = None, sha256: str | None = None, per_class: int | None = None, data: Any = None
    ) -> None:
        super().__init__()
        if per_class is not None and (not isinstance(per_class, int) or per_class < 2):
            raise EvaluationError(f"per_class must be an integer >= 2, got {per_class!r}")
        self.classifier_option, self.sha256, self.per_class, self.data = classifier, sha256, per_class, data
        self._classifier: Any = None
        self._predicted: tuple[np.ndarray, np.ndarray] | None = None
        if per_class is not None:
            self.splits = ()  # draws its own samples

    @property
    def name(self) -> str:
        """The registered name, for messages."""
        return getattr(self, "metric_name", type(self).__name__)

    def bind(self, context: EvalContext) -> None:
        """Reject what cannot work before any sample is drawn: other image shapes, an unconditional generator for
        the conditional metrics, no real data for those that need it."""
        super().bind(context)
        if context.sample_shape and tuple(context.sample_shape) != SHAPE:
            raise EvaluationError(
                f"{self.name} uses the Fashion-MNIST classifier, which reads 1x32x32 greyscale images; the generator "
                f"makes {tuple(context.sample_shape)}. Evaluate a 32 px greyscale Fashion-MNIST model."
            )
        if self.conditional and context.generator is not None and context.num_classes is None:
            raise EvaluationError(
                f"{self.name} needs a class-conditional generator (labels in its inputs, e.g. cgan, acgan, "
                f"projection); {getattr(context.generator, 'architecture', 'this one')!r} is unconditional. "
                "classifier-inception-score and class-diversity score unconditional models."
            )
        if self.per_class is not None and context.generator is None:
            raise EvaluationError(f"{self.name} with per_class= draws its own samples: it needs the generator")
        if self.reads_data:
            self._data_spec()

    def _data_spec(self) -> Any:
        if self.data is not None:
            return self.data
        if self.context.dataset.startswith("fashion-mnist:"):
            return self.context.dataset
        raise EvaluationError(
            f"{self.name} compares with real Fashion-MNIST images: pass the option data='PATH/fashion_mnist.npz' "
            f"(CLI: --metric-option {getattr(self, 'metric_name', 'METRIC')}.data=PATH), or evaluate against "
            "--data fashion-mnist:PATH."
        )

    def classifier(self) -> Any:
        """The classifier (loaded once)."""
        if self._classifier is None:
            option = self.classifier_option
            if option is None:
                self._classifier = load_fashion_classifier()
            elif isinstance(option, (str, Path)):
                self._classifier = load_fashion_classifier(option, sha256=self.sha256 or "")
            elif hasattr(option, "predict"):
                self._classifier = option
            else:
                raise EvaluationError(
                    f"classifier= must be None, a .safetensors path or a FashionClassifier; got {type(option).__name__}"
                )
        return self._classifier

    @property
    def num_classes(self) -> int:
        """The classifier's class count."""
        return int(getattr(self.classifier(), "num_classes", 10))

    def generated(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The generated images and (conditional generators) their labels, checked."""
        if self.per_class is not None:
            from ganzoo.evaluation.evaluate import balanced_labels, generated_samples

            generator = self.context.generator
            k = self.context.num_classes
            if k is None:
                raise EvaluationError(f"{self.name} with per_class= needs a class-conditional generator")
            labels = balanced_labels(generator, self.per_class * k)
            images = generated_samples(generator, self.per_class * k, self.context.seed, labels=labels)
        else:
            images = self.samples("generated")
            batches = self._require("generated")
            labels = None if any(b.labels is None for b in batches) else self.labels("generated")
        if images.dtype != torch.uint8 or tuple(images.shape[1:]) != SHAPE:
            raise EvaluationError(
                f"{self.name} reads uint8 images of shape {SHAPE}; got {images.dtype} {tuple(images.shape[1:])}"
            )
        if self.conditional:
            if labels is None:
                raise EvaluationError(
                    f"{self.name} needs the labels the samples were generated with (a class-conditional generator)"
                )
            if int(labels.min()) < 0 or int(labels.max()) >= self.num_classes:
                raise EvaluationError(
                    f"{self.name}: the generator's labels run {int(labels.min())}..{int(labels.max())}, but the "
                    f"classifier knows {self.num_classes} classes (0..{self.num_classes - 1})"
                )
        return images, labels

    def predicted(self) -> tuple[np.ndarray, np.ndarray]:
        """Logits and penultimate features of the generated images (computed once)."""
        if self._predicted is None:
            images, _ = self.generated()
            self._predicted = self.classifier().predict(images)
        return self._predicted


class ConditionalAccuracy(ClassifierMetric):
    """Conditional accuracy: the share of fakes generated with label y that the classifier puts in class y."""

    conditional: ClassVar[bool] = True
    headline: ClassVar[str] = "accuracy"
    metric_name = "conditional-accuracy"

    def compute(self) -> dict[str, Any]:
        """Overall and per-class accuracy, the per-class counts, and the confusion matrix (rows: labels)."""
        _, labels = self.generated()
        logits, _ = self.predicted()
        y, k = labels.numpy(), self.num_classes
        predicted = logits.argmax(axis=1)
        confusion = np.zeros((k, k), np.int64)
        np.add.at(confusion, (y, predicted), 1)
        counts = confusion.sum(axis=1)
        per_class = [float(confusion[c, c] / counts[c]) if counts[c] else None for c in range(k)]
        return {
            "accuracy": float((predicted == y).mean()),
            "per_class": per_class,
            "per_class_count": counts.tolist(),
            "confusion": confusion.tolist(),
        }


class ClassifierInceptionScore(ClassifierMetric):
    """``exp(E_x KL(p(y|x) || p(y)))`` with the Fashion-MNIST classifier (quality; the xICFG lecture)."""

    headline: ClassVar[str] = "score"
    metric_name = "classifier-inception-score"

    def __init__(self, n_splits: int = 1, **options: Any) -> None:
        super().__init__(**options)
        if not isinstance(n_splits, int) or n_splits < 1:
            raise EvaluationError(f"n_splits must be a positive integer, got {n_splits!r}")
        self.n_splits = n_splits

    def compute(self) -> dict[str, Any]:
        """The score over all samples, and its mean and std over ``n_splits`` parts (10 is Salimans et al.'s)."""
        probs = softmax(self.predicted()[0])
        parts = [classifier_inception_score(p) for p in np.array_split(probs, min(self.n_splits, len(probs)))]
        return {
            "score": classifier_inception_score(probs),
            "split_mean": float(np.mean(parts)),
            "split_std": float(np.std(parts)),
            "n_splits": len(parts),
            "max": self.num_classes,
        }


class ClassDiversity(ClassifierMetric):
    """``exp(-KL(p(y) || uniform))`` of the classifier's mean prediction over the fakes (diversity; xICFG)."""

    headline: ClassVar[str] = "diversity"
    metric_name = "class-diversity"

    def compute(self) -> dict[str, Any]:
        """The score, the mean predicted distribution ``p(y)`` and the share of fakes predicted as each class."""
        probs = softmax(self.predicted()[0])
        k = probs.shape[1]
        return {
            "diversity": class_diversity(probs),
            "class_probabilities": probs.mean(axis=0).tolist(),
            "predicted_shares": (np.bincount(probs.argmax(axis=1), minlength=k) / len(probs)).tolist(),
            "min": 1.0 / k,
        }


class IntraClassFD(ClassifierMetric):
    """Mean over classes of the Fréchet distance in the classifier's penultimate features between a class's fakes
    and that class's real test images, with the real-train vs real-test floor beside it."""

    conditional: ClassVar[bool] = True
    reads_data: ClassVar[bool] = True
    headline: ClassVar[str] = "mean"
    metric_name = "intra-class-fd"

    def compute(self) -> dict[str, Any]:
        """``mean`` and ``per_class`` FD; ``floor`` and ``floor_per_class`` (training images, as many per class as
        the fakes, against the test images); ``ratio`` = mean / floor."""
        _, labels = self.generated()
        _, features = self.predicted()
        k = self.num_classes
        spec = self._data_spec()
        test_x, test_y = fashion_split(spec, "test")
        train_x, train_y = fashion_split(spec, "train")
        _, test_features = self.classifier().predict(test_x)
        y = labels.numpy()
        counts = np.bincount(y, minlength=k)
        # the floor: real training images, as many per class as there are fakes of that class (FD has a sample-size
        # bias, so the floor must be measured at the fakes' count), drawn with the evaluation's seed
        rng = np.random.default_rng(self.context.seed)
        train_labels = train_y.numpy()
        picks = []
        for c in range(k):
            pool = np.flatnonzero(train_labels == c)
            picks.append(rng.choice(pool, size=min(int(counts[c]), len(pool)), replace=False))
        index = np.sort(np.concatenate(picks))
        _, train_features = self.classifier().predict(train_x[torch.from_numpy(index)])
        per_class = intra_class_fd(features, y, test_features, test_y.numpy(), k)
        floor = intra_class_fd(train_features, train_labels[index], test_features, test_y.numpy(), k)
        mean, floor_mean = float(np.mean(per_class)), float(np.mean(floor))
        return {
            "mean": mean,
            "per_class": per_class,
            "floor": floor_mean,
            "floor_per_class": floor,
            "ratio": mean / floor_mean if floor_mean > 0 else None,
            "per_class_count": counts.tolist(),
        }


class ClassificationAccuracyScore(ClassifierMetric):
    """CAS (Ravuri & Vinyals 2019): a ``FashionClassifier`` trained on the fakes alone (labelled as conditioned),
    tested on the real test set.

    Options beyond the shared ones: ``epochs`` (passes over the fakes; default 10, i.e. 780 updates for n = 10,000)
    or ``steps`` (batches; for quick runs), ``batch_size``, ``lr`` (the shipped classifier's recipe otherwise:
    Adam, warm-up and cosine decay, flips), ``widths`` / ``feature_dim`` (the design; default the shipped one),
    ``n_test`` (a seeded subset of the test set), ``baseline`` (also train the same recipe on as many real
    training images and report that accuracy: the ceiling CAS is read against).
    """

    conditional: ClassVar[bool] = True
    reads_data: ClassVar[bool] = True
    headline: ClassVar[str] = "cas"
    metric_name = "classification-accuracy-score"

    def __init__(
        self,
        epochs: float | None = None,
        steps: int | None = None,
        batch_size: int = 128,
        lr: float = 2e-3,
        widths: tuple[int, ...] | list[int] | None = None,
        feature_dim: int | None = None,
        n_test: int | None = None,
        baseline: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        if epochs is not None and steps is not None:
            raise EvaluationError("classification-accuracy-score takes epochs= or steps=, not both")
        self.epochs = 10.0 if epochs is None and steps is None else epochs
        self.steps, self.batch_size, self.lr = steps, batch_size, lr
        self.design = {}
        if widths is not None:
            self.design["widths"] = tuple(int(w) for w in widths)
        if feature_dim is not None:
            self.design["feature_dim"] = int(feature_dim)
        self.n_test, self.baseline = n_test, baseline

    def _train_and_test(self, images: torch.Tensor, labels: torch.Tensor, test: tuple[torch.Tensor, torch.Tensor]):
        torch_state = torch.random.get_rng_state()
        try:
            torch.manual_seed(self.context.seed)  # the initial weights (train_classifier seeds the rest)
            model = FashionClassifier(num_classes=self.num_classes, **self.design)
            train_classifier(
                model,
                images,
                labels,
                epochs=self.epochs,
                steps=self.steps,
                batch_size=self.batch_size,
                lr=self.lr,
                seed=self.context.seed,
            )
        finally:
            torch.random.set_rng_state(torch_state)  # training seeds torch: leave the caller's stream as it was
        logits, _ = model.predict(test[0])
        return float((logits.argmax(axis=1) == test[1].numpy()).mean())

    def compute(self) -> dict[str, Any]:
        """``cas``: the test accuracy of the classifier trained on fakes; ``real_baseline`` with ``baseline=True``."""
        images, labels = self.generated()
        spec = self._data_spec()
        test_x, test_y = fashion_split(spec, "test")
        if self.n_test is not None and self.n_test < len(test_x):
            keep = np.sort(np.random.default_rng(self.context.seed).permutation(len(test_x))[: self.n_test])
            test_x, test_y = test_x[torch.from_numpy(keep)], test_y[torch.from_numpy(keep)]
        result: dict[str, Any] = {
            "cas": self._train_and_test(images, labels, (test_x, test_y)),
            "n_train": len(images),
            "n_test": len(test_x),
            "epochs": self.epochs,
            "steps": self.steps,
        }
        if self.baseline:
            train_x, train_y = fashion_split(spec, "train")
            pick = np.sort(np.random.default_rng(self.context.seed).permutation(len(train_x))[: len(images)])
            pick_t = torch.from_numpy(pick)
            result["real_baseline"] = self._train_and_test(train_x[pick_t], train_y[pick_t], (test_x, test_y))
        return result
