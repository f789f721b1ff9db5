"""``Model``: what ``Generator`` and ``Translator`` share: networks by role, architecture, config, task, the
training record, device moves and the output conventions (diffusers' ``output_type`` idea)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image
from torch import nn

from ganzoo.config import GeneratorConfig, InputSpec
from ganzoo.sampling import to_pil, to_uint8

Output = Literal["tensor", "raw", "pil", "numpy"]
OUTPUTS = ("tensor", "raw", "pil", "numpy")


class Model:
    """Trained (or new) networks plus the architecture name, config and task they were built for.

    ``modules`` maps each published role to its ``nn.Module`` (one ``generator`` for most families; CycleGAN
    publishes ``g_ab`` and ``g_ba``); ``module`` is the first one.
    """

    def __init__(
        self,
        modules: nn.Module | dict[str, nn.Module],
        architecture: str,
        config: GeneratorConfig,
        *,
        task: str = "unconditional",
        training: dict[str, Any] | None = None,
    ) -> None:
        if isinstance(modules, nn.Module):
            modules = {self.default_role: modules}
        if not modules:
            raise ValueError("a model needs at least one network")
        self.modules = dict(modules)
        self.architecture = architecture
        self.config = config
        self.task = task
        self.training = dict(training or {})

    default_role = "generator"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.architecture!r}, {self.config!r})"

    @property
    def module(self) -> nn.Module:
        """The first (usually only) network."""
        return next(iter(self.modules.values()))

    @property
    def roles(self) -> tuple[str, ...]:
        """The published roles, in order."""
        return tuple(self.modules)

    @property
    def inputs(self) -> tuple[InputSpec, ...]:
        """The input spec: what the network takes (see ``ganzoo.config.InputSpec``)."""
        return self.config.inputs

    @property
    def outputs(self) -> tuple[InputSpec, ...]:
        """The output spec."""
        return self.config.outputs

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of one output without the batch axis, e.g. ``(3, 64, 64)``."""
        return self.config.output_shape

    @property
    def device(self) -> torch.device:
        """The device the weights live on."""
        return next(self.module.parameters()).device

    def to(self, device: str | torch.device) -> Model:
        """Move the weights to ``device``; returns self."""
        for module in self.modules.values():
            module.to(device)
        return self

    def eval(self) -> Model:
        """Inference mode for batch norm and dropout; returns self."""
        for module in self.modules.values():
            module.eval()
        return self

    def save(self, folder: str | Path, *, dtype: torch.dtype | None = None) -> Path:
        """Save as a Hub-format folder (``ganzoo.save``): ``config.json`` + ``model.safetensors``."""
        from ganzoo.models.folder import save

        return save(self, folder, dtype=dtype)

    def _run(self, module: nn.Module, chunks: list[tuple[torch.Tensor, ...]]) -> torch.Tensor:
        """Run ``module`` over input chunks in eval mode, restoring its mode afterwards."""
        was_training = module.training
        module.eval()
        try:
            return torch.cat([module(*chunk) for chunk in chunks])
        finally:
            module.train(was_training)

    def _format(self, raw: torch.Tensor, output: str) -> torch.Tensor | np.ndarray | list[Image.Image]:
        """The network's raw output as asked: ``tensor`` (images in [0, 1]), ``raw``, ``pil`` or ``numpy``."""
        if output == "raw" or (output == "tensor" and not self.config.is_image):
            return raw
        if output == "tensor":
            return raw.clamp(-1, 1).add(1).div(2)
        return to_pil(raw) if output == "pil" else to_uint8(raw)

    def _check_output(self, output: str) -> None:
        if output not in OUTPUTS:
            raise ValueError(f"output must be 'tensor', 'raw', 'pil' or 'numpy', got {output!r}")
        if output in ("pil", "numpy") and not self.config.is_image:
            raise ValueError(
                f"output={output!r} needs an image model; {self.architecture!r} makes samples of shape "
                f"{self.output_shape}. Use output='tensor'."
            )
