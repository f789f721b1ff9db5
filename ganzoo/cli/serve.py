"""``ganzoo serve``: ONNX models (exported on start when given a folder or zoo name) over the Open Inference
Protocol, with the temporary exports removed however the server stops."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from ganzoo.cli.base import main

# the server's defaults, without importing it (and numpy, starlette) for every `ganzoo` command
MIB = 1 << 20


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
@click.option(
    "--max-body-bytes",
    default=32 * MIB,
    show_default=True,
    type=click.IntRange(1),
    help="Largest infer body, before and after gzip/deflate (413 beyond).",
)
@click.option(
    "--max-upload-bytes", default=16 * MIB, show_default=True, type=click.IntRange(1), help="Largest PNG/JPEG upload."
)
@click.option(
    "--max-image-pixels", default=4096 * 4096, show_default=True, type=click.IntRange(1), help="Largest upload image."
)
@click.option("--max-json-depth", default=32, show_default=True, type=click.IntRange(1), help="Deepest request JSON.")
@click.option(
    "--request-timeout",
    default=60.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Seconds for a whole request, queueing and inference included (503 beyond).",
)
@click.option(
    "--body-timeout",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Seconds a request body may stall between two chunks (408 beyond).",
)
@click.option(
    "--header-timeout",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Seconds a connection may take to send a request head (closed beyond: idle and slow clients).",
)
@click.option(
    "--keep-alive",
    "timeout_keep_alive",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Seconds an idle kept-alive connection stays open.",
)
@click.option(
    "--max-inflight-bytes",
    default=256 * MIB,
    show_default=True,
    type=click.IntRange(1),
    help="Request bodies all requests in flight may hold together (503 beyond): bounds memory under a flood.",
)
@click.option(
    "--limit-concurrency",
    default=1024,
    show_default=True,
    type=click.IntRange(0),
    help="Connections (idle ones too, until --header-timeout) plus requests in flight before new requests get a "
    "503 (0: no limit).",
)
@click.option("--backlog", default=256, show_default=True, type=click.IntRange(1), help="Connections the OS queues.")
@click.option(
    "--max-header-bytes", default=16 << 10, show_default=True, type=click.IntRange(1), help="Largest request head."
)
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
    max_body_bytes: int,
    max_upload_bytes: int,
    max_image_pixels: int,
    max_json_depth: int,
    request_timeout: float,
    body_timeout: float,
    header_timeout: float,
    timeout_keep_alive: float,
    max_inflight_bytes: int,
    limit_concurrency: int,
    backlog: int,
    max_header_bytes: int,
) -> None:
    """Serve MODELS ([NAME=]FILE.onnx, or a folder / zoo name, exported on start) over the Open Inference Protocol.

    Generators and translators alike: a translator's .onnx (from `ganzoo export --direction ...` for CycleGAN) is
    served with an `images` input and a PNG upload at /v2/models/NAME/translate.png.

    Limits: every request is checked before any work (samples, body size, JSON depth, tensor types and ranges;
    NaN/Inf inputs are refused) and bounded in time; client mistakes get a 4xx with a JSON error. gzip and deflate
    request bodies are accepted. See the --max-*, --*-timeout and connection options below.
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
            max_body_bytes=max_body_bytes,
            max_upload_bytes=max_upload_bytes,
            max_image_pixels=max_image_pixels,
            max_json_depth=max_json_depth,
            request_timeout=request_timeout,
            body_timeout=body_timeout,
            header_timeout=header_timeout,
            timeout_keep_alive=timeout_keep_alive,
            max_inflight_bytes=max_inflight_bytes,
            limit_concurrency=limit_concurrency or None,
            backlog=backlog,
            max_header_bytes=max_header_bytes,
        )


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
