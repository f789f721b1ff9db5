"""``ganzoo inpaint``: fill holes in pictures with a context encoder (one pass) or, with any unconditional image
generator such as ``dcgan-celeba``, by latent search (Yeh et al. 2017; ``ganzoo.latent_inpainting``)."""

from __future__ import annotations

from pathlib import Path

import click

from ganzoo.cli.base import SEED, _device, check_grid_size, check_output_free, main
from ganzoo.cli.translate import _files, _fit, _open


@main.command("inpaint")
@click.argument("model")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PNG grid to write."
)
@click.option(
    "--hole",
    default="center",
    show_default=True,
    help="The hole: 'center' (half the side), 'center:K' (a K-px square) or 'X,Y,W,H' in pixels.",
)
@click.option(
    "--mask",
    "mask_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="A mask picture (white = missing) of the model's size, used for every input instead of --hole.",
)
@click.option("--steps", default=1000, show_default=True, help="Latent search: Adam steps on z.")
@click.option(
    "--blend", type=click.Choice(["poisson", "paste"]), default="poisson", show_default=True, help="Latent search."
)
@click.option("--seed", default=0, show_default=True, type=SEED, help="Latent search: seed of the starting latents.")
@click.option("--resize", is_flag=True, help="Centre-crop and resize pictures of another size to the model's.")
@click.option(
    "--each",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write every completed picture to this folder, named after its input.",
)
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@click.option("--revision", default=None, help="Hub revision for hf-hub: and zoo names.")
@click.option("--device", default=None, help="cpu, cuda, cuda:1, mps (default: cpu).")
def inpaint_command(
    model: str,
    inputs: tuple[Path, ...],
    output: Path,
    hole: str,
    mask_file: Path | None,
    steps: int,
    blend: str,
    seed: int,
    resize: bool,
    each: Path | None,
    overwrite: bool,
    revision: str | None,
    device: str | None,
) -> None:
    """Fill a hole in each picture INPUT... (files or folders) with MODEL: a context encoder (e.g.
    inpaint-celeba-center) in one pass, or an unconditional generator (e.g. dcgan-celeba) by latent search. Writes
    a grid of holed | completed | original rows."""
    import torch

    from ganzoo.loading import load
    from ganzoo.masks import as_masks, parse_hole
    from ganzoo.sampling import save_grid, to_pil

    check_output_free(output, overwrite)
    if steps < 1:
        raise click.BadParameter("must be at least 1", param_hint="--steps")
    net = load(model, revision=revision, device=_device(device))
    by_search = getattr(net, "mask_spec", None) is None
    if by_search and (len(net.inputs) != 1 or net.inputs[0].kind != "latent" or not net.config.is_image):
        raise click.ClickException(
            f"{model} ({net.architecture}) cannot inpaint: use a context encoder or an unconditional image generator"
        )
    c, size = net.output_shape[0], net.output_shape[-1]
    files = _files(inputs)
    if each is not None:
        for path in files:
            check_output_free(each / f"{path.stem}.png", overwrite, "--each")
    check_grid_size(len(files) * 3, (c, size, size))
    mode = "L" if c == 1 else "RGB"
    pictures = [_fit(_open(p), p, size, mode, resize, None) for p in files]
    import numpy as np

    images = torch.from_numpy(np.stack([np.asarray(p).reshape(size, size, c) for p in pictures]).copy())
    images = images.permute(0, 3, 1, 2).float().div(127.5).sub(1)  # (N, C, S, S) in [-1, 1]
    try:
        if mask_file is not None:
            mask = as_masks(_fit(_open(mask_file), mask_file, size, "L", resize, None), len(files), size)
        else:
            mask = parse_hole(hole, size).expand(len(files), -1, -1, -1)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--mask" if mask_file else "--hole") from None
    if by_search:
        from ganzoo.latent_inpainting import latent_inpaint

        completed = latent_inpaint(net, images, mask, steps=steps, blend=blend, seed=seed, progress=True).completed
        how = f"latent search, {steps} steps, {blend} blend"
    else:
        completed = net.translate(images, mask=mask, output="raw")
        how = "context encoder"
    completed = completed.cpu()
    holed = images * (1 - mask)  # the hole shown grey
    save_grid(torch.stack([holed, completed, images], 1).flatten(0, 1), output, nrow=3 * max(1, min(4, len(files))))
    if each is not None:
        each.mkdir(parents=True, exist_ok=True)
        for path, picture in zip(files, to_pil(completed), strict=True):
            picture.save(each / f"{path.stem}.png")
    click.echo(f"wrote {output} ({len(files)} picture(s), {how})" + (f" and {len(files)} to {each}/" if each else ""))
