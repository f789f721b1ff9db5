"""``ganzoo translate``: run an image-to-image model (pix2pix, CycleGAN, super-resolution) on picture files into
a PNG grid, or (``--tile``) on one picture of any size into a picture."""

from __future__ import annotations

from pathlib import Path

import click

from ganzoo.cli.base import _device, check_grid_size, check_output_free, main

SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff"}


def _files(inputs: tuple[Path, ...]) -> list[Path]:
    """The picture files named, folders expanded to their pictures (sorted)."""
    files: list[Path] = []
    for path in inputs:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
            if not found:
                raise click.BadParameter(
                    f"{path} holds no pictures ({', '.join(sorted(SUFFIXES))})", param_hint="INPUT"
                )
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise click.BadParameter(f"no such file or folder: {path}", param_hint="INPUT")
    return files


def _open(path: Path):
    """One picture file, decoded (a PIL image)."""
    from ganzoo.pictures import open_picture

    return open_picture(path)  # a DataError (the CLI shows its message) for a huge or unreadable file


def _fit(picture, path: Path, size: int, mode: str, resize: bool, half: str | None):
    """``picture`` (from ``path``) as ``size`` x ``size`` in ``mode``; ``half`` takes the left or right of an A|B
    pair."""
    from PIL import Image

    if half is not None:
        w, h = picture.size
        picture = picture.crop((0, 0, w // 2, h) if half == "left" else (w // 2, 0, w, h))
    if picture.size != (size, size):
        if not resize:
            raise click.ClickException(
                f"{path} is {picture.size[0]}x{picture.size[1]}{' per half' if half else ''}; the model translates "
                f"{size}x{size} pictures. Pass --resize to centre-crop and resize them."
            )
        from ganzoo.plugins.datasets import _square

        picture = _square(picture).resize((size, size), Image.LANCZOS)
    return picture.convert(mode)


def _as_raw(pictures: list, size: int, shown: int | None = None):
    """PIL pictures -> float NCHW in [-1, 1] (the grid's input), enlarged to ``shown`` pixels (nearest
    neighbour: a super-resolution model's small inputs beside its outputs, pixels visible)."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    arrays = np.stack([np.asarray(p).reshape(size, size, -1) for p in pictures]).transpose(0, 3, 1, 2)
    x = torch.from_numpy(arrays.copy()).float().div(127.5).sub(1)
    return x if not shown or shown == size else F.interpolate(x, size=(shown, shown), mode="nearest")


def _translate_whole(translator, role: str, path: Path, output: Path, overlap: int | None) -> None:
    """``--tile``: one picture of any size, translated in overlapping tiles, written at full size."""
    from ganzoo.sampling import to_pil

    spec = translator.inputs[0]
    picture = _open(path).convert("L" if spec.shape[0] == 1 else "RGB")
    try:
        out = translator.translate_tiled(picture, direction=role, overlap=overlap, output="raw")
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--overlap") from None
    output.parent.mkdir(parents=True, exist_ok=True)
    result = to_pil(out.cpu())[0]
    tmp = output.with_name(f".{output.name}.partial")
    result.save(tmp, format="PNG")
    tmp.replace(output)  # atomic: a failed save leaves no half-written picture
    w, h = picture.size
    click.echo(f"wrote {output} ({w}x{h} -> {result.size[0]}x{result.size[1]} in {spec.shape[-1]}-px tiles, {role})")


@main.command("translate")
@click.argument("model")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PNG grid to write."
)
@click.option("--direction", default=None, help="For two-way models (CycleGAN): a2b or b2a (or g_ab / g_ba).")
@click.option("--resize", is_flag=True, help="Centre-crop and resize pictures of another size to the model's.")
@click.option(
    "--pairs",
    is_flag=True,
    help="The pictures are A|B pairs side by side (pix2pix's layout): translate A, show the B target beside.",
)
@click.option(
    "--each",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write every translated picture to this folder, named after its input.",
)
@click.option(
    "--tile",
    is_flag=True,
    help="Translate ONE picture of any size whole, in overlapping tiles of the model's input size (e.g. a 256-px "
    "photo through a 16->64 super-resolution model gives 1024 px); -o is that picture.",
)
@click.option("--overlap", type=int, default=None, help="With --tile: input pixels tiles share (default: tile / 4).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@click.option("--revision", default=None, help="Hub revision for hf-hub: and zoo names.")
@click.option("--device", default=None, help="cpu, cuda, cuda:1, mps (default: cpu).")
def translate_command(
    model: str,
    inputs: tuple[Path, ...],
    output: Path,
    direction: str | None,
    resize: bool,
    pairs: bool,
    each: Path | None,
    tile: bool,
    overlap: int | None,
    overwrite: bool,
    revision: str | None,
    device: str | None,
) -> None:
    """Translate the pictures INPUT... (files or folders) with MODEL into a grid of input | output (| target) rows."""
    import torch

    from ganzoo.loading import load
    from ganzoo.sampling import save_grid

    check_output_free(output, overwrite)
    translator = load(model, revision=revision, device=_device(device))
    if not hasattr(translator, "translate"):
        raise click.ClickException(f"{model} is a {translator.task} model: it samples, it does not translate")
    try:
        role = translator.direction(direction)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--direction") from None
    files = _files(inputs)
    if tile:
        if len(files) != 1 or pairs or each is not None or resize:
            raise click.UsageError(
                "--tile translates one picture whole: pass exactly one INPUT, without --pairs, --each or --resize "
                "(loop over files in the shell for several)"
            )
        _translate_whole(translator, role, files[0], output, overlap)
        return
    if overlap is not None:
        raise click.UsageError("--overlap goes with --tile")
    if each is not None:
        for path in files:
            check_output_free(each / f"{path.stem}.png", overwrite, "--each")
    columns = 3 if pairs else 2
    spec = translator.inputs[0]
    size, in_channels, out_channels = spec.shape[1], spec.shape[0], translator.output_shape[0]
    out_size = translator.output_shape[-1]  # larger than the input for super-resolution
    check_grid_size(len(files) * columns, (max(in_channels, out_channels), out_size, out_size))
    in_mode, out_mode = ("L" if in_channels == 1 else "RGB"), ("L" if out_channels == 1 else "RGB")
    pictures = [_open(p) for p in files]  # decoded once: a pair's target is the other half of the same picture
    sources = [
        _fit(pic, p, size, in_mode, resize, "left" if pairs else None) for pic, p in zip(pictures, files, strict=True)
    ]
    outputs = translator.translate(sources, direction=role, output="raw")  # (N, C_out, S, S) in [-1, 1]
    shown = [_as_raw(sources, size, out_size), outputs.cpu()]
    if pairs:
        targets = [_fit(pic, p, out_size, out_mode, resize, "right") for pic, p in zip(pictures, files, strict=True)]
        shown.append(_as_raw(targets, out_size))
    channels = max(x.shape[1] for x in shown)  # a grey source beside a colour output is shown in colour
    shown = [x.expand(-1, channels, -1, -1) for x in shown]
    save_grid(torch.stack(shown, 1).flatten(0, 1), output, nrow=columns * max(1, min(4, len(files))))
    if each is not None:
        each.mkdir(parents=True, exist_ok=True)
        from ganzoo.sampling import to_pil

        for path, picture in zip(files, to_pil(outputs), strict=True):
            picture.save(each / f"{path.stem}.png")
    click.echo(f"wrote {output} ({len(files)} picture(s), {role})" + (f" and {len(files)} to {each}/" if each else ""))
