"""Built-in evaluation metrics: FID, KID, Inception score, precision/recall/density/coverage, mode coverage of 2-D
mixtures, the birthday-paradox support-size test, memorisation, moment matching, activation sparsity, and the
Fashion-MNIST classifier's metrics (conditional accuracy, CAS, classifier Inception score, class diversity,
intra-class FD).

Every metric is a ``ganzoo.evaluation.Metric`` registered through ``register_metrics``; ``ganzoo.evaluate``
feeds it samples and/or features. The numerical functions (``frechet_distance``, ``kid``, ``prdc``, ...) work on
plain numpy arrays and are usable on their own. torch is imported inside the functions that need it.

The metrics, by registered name (class; module of this package):

- ``fid`` (``FID``; ``inception``): Fréchet Inception Distance, the Fréchet distance between Gaussians fitted to
  generated and reference features. Heusel et al. 2017, "GANs trained by a two time-scale update rule converge
  to a local Nash equilibrium".
- ``kid`` (``KID``; ``inception``): Kernel Inception Distance, the unbiased MMD^2 with a cubic polynomial kernel,
  mean and std over subsets. Bińkowski et al. 2018, "Demystifying MMD GANs".
- ``inception-score`` (``InceptionScore``; ``inception``): ``exp(E_x KL(p(y|x) || p(y)))`` of the Inception
  classifier on generated images. Salimans et al. 2016, "Improved techniques for training GANs".
- ``precision-recall`` (``PrecisionRecall``; ``inception``): precision and recall on k-NN manifolds,
  Kynkäänniemi et al. 2019, "Improved precision and recall metric for assessing generative models"; density
  and coverage, Naeem et al. 2020, "Reliable fidelity and diversity metrics for generative models".
- ``mode-coverage`` (``ModeCoverage``; ``mode_coverage``): modes covered and high-quality share on the 2-D
  mixtures ring-8 / grid-25. Srivastava et al. 2017 (VEEGAN) and Lin et al. 2018 (PacGAN).
- ``birthday`` (``Birthday``; ``memorisation``): the birthday-paradox support-size test. Arora & Zhang 2017, "Do
  GANs learn the distribution? Some theory and empirics".
- ``memorisation`` (``Memorisation``; ``memorisation``): nearest training images of generated samples, against
  those of held-out real samples (a distance-ratio test).
- ``moments`` (``Moments``; ``statistics``): distance of the generated features' mean and covariance from the
  reference's.
- ``sparsity`` (``Sparsity``; ``statistics``): share of zero ReLU activations in each generator layer.
  Allen-Zhu & Li 2021 (forward super-resolution: sparse generator activations).
- ``conditional-accuracy`` (``ConditionalAccuracy``; ``classifier``): the Fashion-MNIST classifier's accuracy on
  fakes generated per class (does label y give class y?).
- ``classification-accuracy-score`` (``ClassificationAccuracyScore``; ``classifier``): a classifier trained on fakes
  only, tested on real test images. Ravuri & Vinyals 2019, "Classification Accuracy Score for Conditional
  Generative Models".
- ``classifier-inception-score`` (``ClassifierInceptionScore``; ``classifier``) and ``class-diversity``
  (``ClassDiversity``; ``classifier``): ``exp(E_x KL(p(y|x) || p(y)))`` and ``exp(-KL(p(y) || uniform))`` with the
  Fashion-MNIST classifier, the xICFG lecture's quality and diversity scores (xICFG: Johnson & Zhang 2018).
- ``intra-class-fd`` (``IntraClassFD``; ``classifier``): per-class Fréchet distance in the classifier's penultimate
  features against that class's real test images, with the real-train vs real-test floor (Miyato & Koyama 2018).

- ``pixel-fidelity`` (``PixelFidelity``; ``translation``): L1, PSNR and SSIM (torchmetrics) of an image-to-image
  model's outputs against their targets, with the input-as-output baseline (``ganzoo.evaluate_translation``).
- ``translation-accuracy`` (``TranslationAccuracy``; ``translation``): share of translated images the
  Fashion-MNIST classifier puts in the target class (CycleGAN sandal -> sneaker).
``fashion_classifier`` holds the classifier (``FashionClassifier``, ``load_fashion_classifier``: shipped fp16
safetensors weights, sha256-checked; ``benchmarks/train_fashion_classifier.py`` reproduces them).
``neighbours`` holds the chunked nearest-neighbour distances that precision-recall, birthday and memorisation
share. Every public name is re-exported here: ``from ganzoo.plugins.metrics import FID, prdc`` works.
"""

from __future__ import annotations

import ganzoo
from ganzoo.training.moments import activation_sparsity, mean_cov, moment_distances

from .classifier import (
    ClassDiversity,
    ClassificationAccuracyScore,
    ClassifierInceptionScore,
    ConditionalAccuracy,
    IntraClassFD,
    class_diversity,
    classifier_inception_score,
    intra_class_fd,
)
from .codes import InfoGANCodes
from .fashion_classifier import FashionClassifier, load_fashion_classifier
from .inception import (
    FID,
    KID,
    InceptionScore,
    PrecisionRecall,
    check_samples,
    fid_from_features,
    frechet_distance,
    inception_score,
    kid,
    prdc,
)
from .memorisation import Birthday, Memorisation
from .mode_coverage import ModeCoverage, mode_spread_ratio, mode_statistics
from .neighbours import knn_radii, nearest
from .statistics import Moments, Sparsity
from .translation import PixelFidelity, TranslationAccuracy, pixel_scores


@ganzoo.hookimpl
def register_metrics(register):
    register("fid", FID, description="Fréchet Inception Distance (Inception-v3 2015-12-05 pool3)")
    register("kid", KID, description="Kernel Inception Distance, unbiased (mean and std over subsets)")
    register("inception-score", InceptionScore, description="Inception score (needs pytorch-fid's weights)")
    register(
        "precision-recall",
        PrecisionRecall,
        description="precision/recall (k-NN manifolds) and density/coverage",
    )
    register("mode-coverage", ModeCoverage, description="modes covered and high-quality share on ring-8 / grid-25")
    register("birthday", Birthday, description="birthday-paradox support size, with the closest pairs as an image")
    register("memorisation", Memorisation, description="nearest training images: generated vs held-out distances")
    register("moments", Moments, description="distance of generated mean and covariance from the reference")
    register("sparsity", Sparsity, description="share of zero ReLU activations in each generator layer")
    register(
        "conditional-accuracy",
        ConditionalAccuracy,
        description="Fashion-MNIST classifier's accuracy on fakes of each label (class-conditional models)",
    )
    register(
        "classification-accuracy-score",
        ClassificationAccuracyScore,
        description="CAS: a classifier trained on fakes, tested on real Fashion-MNIST test images",
    )
    register(
        "classifier-inception-score",
        ClassifierInceptionScore,
        description="exp(E KL(p(y|x) || p(y))) with the Fashion-MNIST classifier (quality)",
    )
    register(
        "class-diversity",
        ClassDiversity,
        description="exp(-KL(p(y) || uniform)) with the Fashion-MNIST classifier (diversity)",
    )
    register(
        "intra-class-fd",
        IntraClassFD,
        description="per-class FD in the Fashion-MNIST classifier's features, with the real train-vs-test floor",
    )
    register(
        "infogan-codes",
        InfoGANCodes,
        description="InfoGAN: categorical code vs Fashion-MNIST class (Hungarian-matched accuracy, NMI)",
    )
    register(
        "pixel-fidelity",
        PixelFidelity,
        description="image-to-image: L1, PSNR, SSIM of outputs against targets, with the input as baseline",
    )
    register(
        "translation-accuracy",
        TranslationAccuracy,
        description="image-to-image: share of outputs the Fashion-MNIST classifier puts in target_class",
    )


__all__ = [
    "FID",
    "KID",
    "Birthday",
    "ClassDiversity",
    "ClassificationAccuracyScore",
    "ClassifierInceptionScore",
    "ConditionalAccuracy",
    "FashionClassifier",
    "InceptionScore",
    "InfoGANCodes",
    "IntraClassFD",
    "Memorisation",
    "ModeCoverage",
    "Moments",
    "PixelFidelity",
    "PrecisionRecall",
    "Sparsity",
    "TranslationAccuracy",
    "activation_sparsity",
    "check_samples",
    "class_diversity",
    "classifier_inception_score",
    "fid_from_features",
    "frechet_distance",
    "inception_score",
    "intra_class_fd",
    "kid",
    "knn_radii",
    "load_fashion_classifier",
    "mean_cov",
    "mode_spread_ratio",
    "mode_statistics",
    "moment_distances",
    "nearest",
    "pixel_scores",
    "prdc",
]
