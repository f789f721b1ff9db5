"""``ganzoo train``, with one option per ``TrainConfig`` setting (generated from ``ganzoo.training.config``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ganzoo.cli.base import _device, is_main_process, main, parse_assignments


def _train_setting_options(command: Any) -> Any:
    """One option per ``TrainConfig`` field (``--batch-size``, ``--lr-decay``, ...): the settings are listed once,
    in ``ganzoo.training.config``, and the CLI follows them."""
    from ganzoo.training.config import TrainConfig

    for f, kind in reversed(TrainConfig.cli_fields()):
        flag = "--" + f.name.replace("_", "-")
        extra: dict[str, Any] = {"help": f.metadata["help"], "show_default": f.default is not None}
        if kind is bool:
            command = click.option(f"{flag}/--no-{flag[2:]}", f.name, default=f.default, **extra)(command)
            continue
        if "choices" in f.metadata:
            extra["type"] = click.Choice(f.metadata["choices"])
        else:
            extra["type"] = kind
        if "metavar" in f.metadata:
            extra["metavar"] = f.metadata["metavar"]
        command = click.option(flag, f.name, default=f.default, **extra)(command)
    return command


@main.command("train")
@click.argument("architecture")
@click.option(
    "--data",
    required=True,
    help="Dataset name (ring-8, grid-25), a .npz file, an image folder, or NAME:PATH (fashion-mnist:FILE, "
    "paired-npz:FILE, ...).",
)
@click.option("--method", default=None, help="Training method (default: the architecture's; `ganzoo list`).")
@click.option("--loss", default=None, help="Loss name (default: the architecture's).")
@click.option("--beta1", default=None, type=float, help="Adam beta1 (default: the loss's recommendation).")
@click.option("--beta2", default=None, type=float, help="Adam beta2 (default: the loss's recommendation).")
@click.option("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available).")
@click.option(
    "--out-dir",
    "-o",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Run folder: model, checkpoint, log, plots.",
)
@click.option("--resume", is_flag=True, help="Continue from OUT_DIR/checkpoint.safetensors.")
@click.option("--overwrite", is_flag=True, help="Start afresh in an OUT_DIR that holds a run (deletes its outputs).")
@click.option("--data-key", default=None, help="Array name inside a .npz file (same as --data-option key=NAME).")
@click.option(
    "--set",
    "model_settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="Architecture config field, e.g. --set image_size=32 --set channels=1 (repeatable).",
)
@click.option(
    "--method-option",
    "method_settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="Training method option, e.g. --method-option l1_weight=100 (repeatable).",
)
@click.option(
    "--loss-option",
    "loss_settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="Loss option, e.g. --loss-option gp_weight=5 (repeatable).",
)
@click.option(
    "--data-option",
    "data_settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="Data source option, e.g. --data-option split=test (repeatable).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@_train_setting_options
def train_command(
    architecture: str,
    data: str,
    method: str | None,
    loss: str | None,
    beta1: float | None,
    beta2: float | None,
    device: str | None,
    out_dir: Path,
    resume: bool,
    overwrite: bool,
    data_key: str | None,
    model_settings: tuple[str, ...],
    method_settings: tuple[str, ...],
    loss_settings: tuple[str, ...],
    data_settings: tuple[str, ...],
    quiet: bool,
    **settings: Any,
) -> None:
    """Train ARCHITECTURE on --data and save the published model to --out-dir."""
    from ganzoo.host.manager import get_registry
    from ganzoo.training import train

    loss_options = parse_assignments(loss_settings, "--loss-option")
    if beta1 is not None or beta2 is not None:
        registry = get_registry()
        arch = registry.get("architecture", architecture)
        name = loss or arch.default_loss
        default = registry.get("loss", name).create(**loss_options).optimizer.get("betas", (0.5, 0.999))
        settings["betas"] = (default[0] if beta1 is None else beta1, default[1] if beta2 is None else beta2)
    data_options = parse_assignments(data_settings, "--data-option")
    if data_key:
        data_options["key"] = data_key
    model = train(
        architecture,
        data,
        method=method,
        method_options=parse_assignments(method_settings, "--method-option"),
        loss=loss,
        loss_options=loss_options,
        device=_device(device),
        out_dir=out_dir,
        resume=resume,
        overwrite=overwrite,
        progress=not quiet,
        data_options=data_options or None,
        **settings,
        **parse_assignments(model_settings, "--set"),
    )
    if not is_main_process():
        return  # under torchrun the main rank wrote the files and says so
    click.echo(
        f"trained {model.architecture} for {model.training['steps']} steps; wrote {out_dir}/ "
        "(config.json, model.safetensors, samples.png, losses.png, losses.csv, checkpoint.safetensors)"
    )
