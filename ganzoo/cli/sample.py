"""``ganzoo sample``: draw samples (or a latent walk) from a model into a PNG grid or scatter plot."""

from __future__ import annotations

from pathlib import Path

import click

from ganzoo.cli.base import SEED, _device, check_grid_size, check_output_free, main


@main.command("sample")
@click.argument("model")
@click.option("-n", "--num", "n", default=16, show_default=True, type=int, help="Number of samples.")
@click.option("--seed", default=0, show_default=True, type=SEED)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="PNG file: an image grid, or a scatter plot for 2-D generators.",
)
@click.option("--nrow", default=None, type=int, help="Images per row of the grid (default: square).")
@click.option(
    "--interpolate",
    nargs=2,
    type=int,
    default=None,
    metavar="SEED_A SEED_B",
    help="Walk the latent space from SEED_A to SEED_B in -n steps instead.",
)
@click.option(
    "--label",
    "labels",
    multiple=True,
    type=int,
    help="Class label for a class-conditional model (repeatable: samples cycle through the labels given).",
)
@click.option(
    "--grid-by-class",
    is_flag=True,
    help="Class-conditional models: one row per class, -n samples in each (the same latents in every row).",
)
@click.option(
    "--traverse",
    default=None,
    metavar="CODE[:INDEX]",
    help="Vary one latent code (InfoGAN): every value of a categorical code, or element INDEX of a continuous "
    "code from its minimum to its maximum in --traverse-steps; one row for each of -n samples.",
)
@click.option("--traverse-steps", default=10, show_default=True, type=int, help="Values of a continuous code.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@click.option("--revision", default=None, help="Hub revision (branch, tag or commit) for hf-hub: and zoo names.")
@click.option("--device", default=None, help="cpu, cuda, cuda:1, mps (default: cpu).")
def sample_command(
    model: str,
    n: int,
    seed: int,
    output: Path,
    nrow: int | None,
    interpolate: tuple[int, int] | None,
    labels: tuple[int, ...],
    grid_by_class: bool,
    traverse: str | None,
    traverse_steps: int,
    overwrite: bool,
    revision: str | None,
    device: str | None,
) -> None:
    """Draw samples from MODEL (zoo name, hf-hub:owner/name or a saved folder) into a PNG."""
    from ganzoo.loading import load
    from ganzoo.sampling import save_grid

    check_output_free(output, overwrite)
    generator = load(model, revision=revision, device=_device(device))
    if not hasattr(generator, "sample"):
        raise click.ClickException(f"{model} is a {generator.task} model: it translates images, it does not sample")
    label_spec = next((s for s in generator.inputs if s.name == "labels"), None)
    if (labels or grid_by_class) and label_spec is None:
        raise click.BadParameter(f"{model} is not class-conditional", param_hint="--label/--grid-by-class")
    classes = int(label_spec.value_range[1]) + 1 if label_spec is not None else 0
    total = n * classes if grid_by_class else n
    if generator.config.is_image:
        check_grid_size(total, tuple(generator.config.output_shape))
    elif n < 1:
        raise click.BadParameter(f"must be at least 1, got {n}", param_hint="-n")
    if traverse:
        samples, nrow = _traversal(generator, traverse, traverse_steps, n, seed, labels)
        save_grid(samples, output, nrow=nrow)
        click.echo(f"wrote {output}")
        return
    if label_spec is not None and not (labels or grid_by_class):
        raise click.BadParameter(
            f"{model} is class-conditional: pass --label K (0 to {classes - 1}) or --grid-by-class",
            param_hint="--label",
        )
    if interpolate:
        if label_spec is not None:
            raise click.BadParameter(
                "latent walks of class-conditional models are not supported yet", param_hint="--interpolate"
            )
        samples = generator.interpolate(*interpolate, steps=n, output="raw")
        nrow = nrow or n
    elif grid_by_class:
        import torch

        z = generator.latents(n, seed).repeat(classes, 1)  # row k: the same n latents, class k
        samples = generator.sample(z=z, labels=torch.arange(classes).repeat_interleave(n), output="raw")
        nrow = n
    else:
        chosen = [labels[i % len(labels)] for i in range(n)] if labels else None
        samples = generator.sample(n, seed=seed, output="raw", **({"labels": chosen} if chosen else {}))
    if generator.config.is_image:
        save_grid(samples, output, nrow=nrow)
    elif samples.ndim == 2 and samples.shape[1] == 2:
        from ganzoo.plots import save_scatter

        save_scatter(samples[:0].cpu().numpy(), samples.cpu().numpy(), output, title=f"{model}: {n} samples")
    else:
        raise click.ClickException(f"cannot draw samples of shape {tuple(samples.shape[1:])} as a picture")
    click.echo(f"wrote {output}")


def _traversal(generator, traverse: str, steps: int, n: int, seed: int, labels: tuple[int, ...]):
    """The samples and row length of ``--traverse CODE[:INDEX]`` (Chen et al. 2016, fig. 2)."""
    import numpy as np

    name, _, index_text = traverse.partition(":")
    spec = next((s for s in generator.inputs if s.name == name and s.kind == "code"), None)
    if spec is None:
        codes = [s.name for s in generator.inputs if s.kind == "code"]
        raise click.BadParameter(f"{name!r} is not a code of this model; its codes are {codes or 'none'}")
    try:
        index = int(index_text) if index_text else 0
    except ValueError:
        raise click.BadParameter(f"INDEX must be an integer, got {index_text!r}", param_hint="--traverse") from None
    width = spec.shape[0] if spec.shape else 1
    if not 0 <= index < width:
        raise click.BadParameter(f"{name} has {width} element(s): INDEX must be 0 to {width - 1}")
    low, high = spec.value_range
    if spec.dtype.startswith("int"):
        values = list(range(int(low), int(high) + 1))
    else:
        if steps < 2:
            raise click.BadParameter(f"must be at least 2, got {steps}", param_hint="--traverse-steps")
        values = np.linspace(low, high, steps, dtype=np.float32)
    check_grid_size(n * len(values), tuple(generator.config.output_shape))
    extra = {"labels": [labels[0]] * n} if labels else {}
    samples = generator.traverse(name, values=values, n=n, seed=seed, index=index, output="raw", **extra)
    return samples, len(values)
