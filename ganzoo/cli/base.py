"""What the ``ganzoo`` commands share: the ``main`` click group, and the helpers for options and errors.

Each command module (``inspect``, ``train``, ``sample``, ``publish``, ``serve``, ``evaluate``) imports ``main`` from
here and attaches its commands to it; ``ganzoo.cli`` imports them all and re-exports ``main``.
"""

from __future__ import annotations

import json
import math
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


#: The ``--seed`` option's type: what ``ganzoo.sampling.check_seed`` accepts, checked by click with the option named.
SEED = click.IntRange(0, 2**63 - 1)

#: Most samples ``ganzoo sample`` puts into one PNG grid, and most pixel values (N x C x H x W) of that grid.
MAX_GRID_SAMPLES = 4096
MAX_GRID_VALUES = 64 * 2**20  # 64 MiB of uint8 pixels: 4096 samples at 3x64x64 (48 MiB) fit, 4096 at 3x128x128 not


def is_main_process() -> bool:
    """Whether this process is torchrun's rank 0 (or not under torchrun at all): the one that reports."""
    import os

    return os.environ.get("RANK", "0") == "0"


def _device(device: str | None) -> str | None:
    """``--device`` checked up front (``DeviceError`` with what to do), or ``None`` to keep each command's default."""
    if device is None:
        return None
    from ganzoo.devices import resolve_device

    return str(resolve_device(device))


def check_output_free(path: Path, overwrite: bool, option: str = "-o") -> None:
    """Refuse to replace an existing file at ``path`` unless ``overwrite`` (``--overwrite``) is set."""
    if path.exists() and not overwrite:
        raise click.BadParameter(f"{path} exists; pass --overwrite to replace it", param_hint=option)


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
    """Show errors as one clear line instead of a traceback: ganzoo's own errors as they are, anything else
    (a bug in ganzoo or a plugin, the machine running out of memory) with its type and how to get the traceback
    (``GANZOO_DEBUG=1``)."""

    def invoke(self, ctx: click.Context) -> Any:
        import os

        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt, SystemExit):
            raise
        except (GanzooError, ValueError, TypeError, FileNotFoundError) as exc:
            if os.environ.get("GANZOO_DEBUG"):
                raise
            raise click.ClickException(str(exc)) from exc
        except Exception as exc:  # the last line between a user and a raw traceback
            if os.environ.get("GANZOO_DEBUG"):
                raise
            what = {
                MemoryError: "out of memory",
                RecursionError: "input nested too deeply",
                EOFError: "unexpected end of a file",
            }.get(type(exc), type(exc).__name__)
            raise click.ClickException(
                f"{what}: {str(exc)[:500] or 'no details'}. If the input is right, this is a bug: rerun with "
                "GANZOO_DEBUG=1 for the traceback and report it."
            ) from exc


@click.group(cls=_Group)
@click.version_option(package_name="ganzoo")
def main() -> None:
    """ganzoo: a plugin-based GAN model zoo."""
