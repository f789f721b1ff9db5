"""The ``ganzoo`` command line: list, plugins, train, sample, translate, inpaint, eval, push, export, serve.

``base`` holds the ``main`` click group and the helpers the commands share; each command group has its own module,
imported here so that its commands attach to ``main``:

- ``listing``: ``ganzoo list`` and ``ganzoo plugins``;
- ``train``: ``ganzoo train`` (its options follow ``TrainConfig``);
- ``sample``: ``ganzoo sample``;
- ``translate``: ``ganzoo translate`` (image-to-image models);
- ``inpaint``: ``ganzoo inpaint`` (context encoders, or latent search with any unconditional generator);
- ``publish``: ``ganzoo push`` and ``ganzoo export``;
- ``serve``: ``ganzoo serve``;
- ``evaluate``: ``ganzoo eval``.

``python -m ganzoo.cli`` (``__main__``) runs it like ``python -m ganzoo``.
"""

from ganzoo.cli import evaluate, inpaint, listing, publish, sample, serve, train, translate  # noqa: F401  (they attach the commands)
from ganzoo.cli.base import MAX_GRID_SAMPLES, MAX_GRID_VALUES, check_grid_size, main, parse_assignments

__all__ = ["MAX_GRID_SAMPLES", "MAX_GRID_VALUES", "check_grid_size", "main", "parse_assignments"]
