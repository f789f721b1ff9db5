"""``Translator``: an image-to-image model (pix2pix, CycleGAN, super-resolution, inpainting): images in, images
out, beside ``Generator`` on the same base and with the same output conventions."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from PIL import Image

from ganzoo.models.base import Model, Output

#: direction names a user may use for the two-network translators' roles (CycleGAN's ``g_ab`` and ``g_ba``)
DIRECTION_ALIASES = {"a2b": "g_ab", "b2a": "g_ba"}


class Translator(Model):
    """Translates images with one network, or one per direction (CycleGAN publishes ``g_ab`` and ``g_ba``).

    ``translator.translate(images)`` takes images as a float tensor/array ``(N, C, H, W)`` in [-1, 1], a uint8
    array ``(N, H, W, C)`` in [0, 255], or a list of PIL images, and returns them as ``output`` says.
    """

    default_role = "generator"

    def direction(self, direction: str | None) -> str:
        """The role that runs ``direction`` (a role name such as ``g_ab``, or ``a2b``/``b2a``); None picks the only
        one."""
        if direction is None:
            if len(self.modules) > 1:
                raise ValueError(f"this translator has directions {self._named_directions()}: pass direction=")
            return self.roles[0]
        direction = DIRECTION_ALIASES.get(direction, direction) if direction not in self.modules else direction
        if direction not in self.modules:
            raise ValueError(f"unknown direction {direction!r}; this translator has {self._named_directions()}")
        return direction

    def _named_directions(self) -> str:
        aliases = {role: alias for alias, role in DIRECTION_ALIASES.items()}
        return ", ".join(f"{role} ({aliases[role]})" if role in aliases else role for role in self.modules)

    def as_input(self, images: Any) -> torch.Tensor:
        """Images in any of the accepted forms -> float32 ``(N, C, H, W)`` in [-1, 1] on this model's device,
        checked against the input spec."""
        spec = self.inputs[0]
        if isinstance(images, Image.Image):
            images = [images]
        if isinstance(images, (list, tuple)) and images and isinstance(images[0], Image.Image):
            mode = "L" if spec.shape[0] == 1 else "RGB"
            images = np.stack([np.asarray(p.convert(mode)).reshape(p.size[1], p.size[0], -1) for p in images])
        if isinstance(images, np.ndarray) and images.dtype == np.uint8:
            if images.ndim == 3:
                images = images[None]
            x = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))).float().div(127.5).sub(1)
        else:
            x = torch.as_tensor(images, dtype=torch.float32)
            if x.ndim == 3:
                x = x[None]
        if tuple(x.shape[1:]) != tuple(spec.shape):
            raise ValueError(
                f"{self.architecture!r} translates images of shape {tuple(spec.shape)} (C, H, W), got "
                f"{tuple(x.shape[1:])}; resize them first"
            )
        return x.to(self.device)

    @torch.no_grad()
    def translate(
        self, images: Any, *, direction: str | None = None, output: Output = "tensor", batch_size: int = 64
    ) -> torch.Tensor | np.ndarray | list[Image.Image]:
        """Translate ``images`` (float ``(N, C, H, W)`` in [-1, 1], uint8 ``(N, H, W, C)`` or PIL images).

        Args:
            direction: which network runs, for models with several (``g_ab``, ``g_ba``); None for the only one.
            output: ``"tensor"`` (float in [0, 1], NCHW), ``"raw"`` ([-1, 1]), ``"pil"`` or ``"numpy"`` (uint8
                NHWC), as ``Generator.sample``.
            batch_size: largest batch run at once.
        """
        self._check_output(output)
        role = self.direction(direction)
        x = self.as_input(images)
        chunks = [(x[start : start + batch_size],) for start in range(0, x.shape[0], batch_size)]
        return self._format(self._run(self.modules[role], chunks), output)

    def __call__(self, images: torch.Tensor, *, direction: str | None = None) -> torch.Tensor:
        return self.modules[self.direction(direction)](images)
