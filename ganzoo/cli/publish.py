"""``ganzoo push`` (to the Hugging Face Hub) and ``ganzoo export`` (ONNX, Triton): a trained model leaves the zoo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ganzoo.cli.base import main


@main.command("push")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--repo", "repo_id", required=True, help="Hub repo id, owner/name (created if missing).")
@click.option("--private", is_flag=True, help="Create the repo as private.")
@click.option("--token", default=None, help="Hub token (default: HF_TOKEN or `hf auth login`).")
@click.option("--message", default=None, help="Commit message.")
@click.option("--no-onnx", is_flag=True, help="Do not add model.onnx.")
@click.option(
    "--card",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A ready model card to upload as README.md (default: the folder's, or one rendered from the template).",
)
def push_command(
    folder: Path,
    repo_id: str,
    private: bool,
    token: str | None,
    message: str | None,
    no_onnx: bool,
    card: Path | None,
) -> None:
    """Upload a saved generator FOLDER to the Hugging Face Hub with a model card, samples and ONNX."""
    from ganzoo.hub import push

    url = push(
        folder, repo_id, token=token, private=private, commit_message=message, onnx=not no_onnx, card=card or True
    )
    click.echo(f"pushed {folder} to {url}")


@main.command("export")
@click.argument("model")
@click.option("--format", "fmt", default="onnx", show_default=True, help="Export format (`ganzoo list`).")
@click.option(
    "-o", "--output", required=True, type=click.Path(path_type=Path), help="File (onnx) or repository folder (triton)."
)
@click.option("--uint8", is_flag=True, help="Output uint8 NHWC images, converted inside the graph.")
@click.option("--fp16", is_flag=True, help="Half-precision network for GPUs (float32 inputs and outputs).")
@click.option(
    "--direction", default=None, help="The network of a translator with several (e.g. g_ab or g_ba for CycleGAN)."
)
@click.option("--name", default=None, help="triton: the model's name in the repository (default: architecture).")
@click.option("--max-batch-size", default=None, type=int, help="triton: max_batch_size (default 64).")
@click.option(
    "--instance-kind", type=click.Choice(["gpu", "cpu"]), default=None, help="triton: run on GPUs (default) or CPUs."
)
@click.option(
    "--providers",
    default=None,
    help="triton: ONNX Runtime providers the server will use, e.g. cpu or cuda,cpu; CPU ones only -> instances on "
    "CPUs (KIND_CPU, loadable by a CPU-only Triton), a GPU one -> KIND_GPU.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing output (.onnx file or Triton model folder).")
def export_command(
    model: str,
    fmt: str,
    output: Path,
    uint8: bool,
    fp16: bool,
    direction: str | None,
    name: str | None,
    max_batch_size: int | None,
    instance_kind: str | None,
    providers: str | None,
    overwrite: bool,
) -> None:
    """Export MODEL (a saved folder or zoo name: a generator or a translator) to ONNX or a Triton model repository.

    A translator with several directions (CycleGAN) exports one at a time: --direction g_ab. An existing output is
    refused unless --overwrite is given; the new one replaces it atomically.
    """
    from ganzoo.exporting import export
    from ganzoo.loading import load

    options: dict[str, Any] = {}
    if uint8:
        options["uint8"] = True
    if fp16:
        options["fp16"] = True
    if direction:
        options["direction"] = direction
    triton_only = {
        "name": name,
        "max_batch_size": max_batch_size,
        "instance_kind": instance_kind,
        "providers": providers,
    }
    triton_only = {k: v for k, v in triton_only.items() if v is not None}
    if triton_only and fmt != "triton":
        flags = ", ".join("--" + k.replace("_", "-") for k in triton_only)
        raise click.UsageError(f"{flags} only apply to --format triton")
    if "instance_kind" in triton_only:
        triton_only["instance_kind"] = "KIND_" + triton_only["instance_kind"].upper()
    if fmt == "onnx" and output.is_dir():  # before loading anything: a folder is never an .onnx file
        raise click.BadParameter(
            f"{output} is a folder, but --format onnx writes one file: give a file path such as "
            f"{output / 'model.onnx'}, or use --format triton for a model repository folder",
            param_hint="-o/--output",
        )
    written = export(load(model), output, format=fmt, overwrite=overwrite, **options, **triton_only)
    click.echo(f"wrote {written}")
