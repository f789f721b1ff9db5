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
    array ``(N, H, W, C)`` in [0, 255] (a uint8 torch tensor: ``(N, C, H, W)``, torch's layout), or a list of PIL
    images, and returns them as ``output`` says.
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
        elif isinstance(images, torch.Tensor) and images.dtype == torch.uint8:  # torch's layout: NCHW, 0..255
            x = (images[None] if images.ndim == 3 else images).float().div(127.5).sub(1)
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

    @property
    def mask_spec(self) -> Any:
        """The ``mask`` input's spec of an inpainting model (1 where pixels are missing), else None."""
        return next((spec for spec in self.inputs if spec.kind == "mask"), None)

    def as_mask(self, mask: Any, n: int) -> torch.Tensor:
        """Masks for ``n`` images as float ``(n, 1, H, W)`` of 0/1 (see ``ganzoo.masks.as_masks``); None gives an
        inpainting model the centre hole it was trained on, and is an error for one trained on random holes."""
        from ganzoo.masks import as_masks, center_mask

        size = self.mask_spec.shape[-1]
        if mask is None:
            if getattr(self.config, "hole", None) != "center":
                raise ValueError(
                    f"{self.architecture!r} fills holes anywhere: pass mask= ((N, 1, {size}, {size}) or one "
                    f"({size}, {size}) mask, 1 where pixels are missing; see ganzoo.masks)"
                )
            return center_mask(n, size, self.config.hole_size, self.device)
        return as_masks(mask, n, size, self.device)

    @torch.no_grad()
    def translate(
        self,
        images: Any,
        *,
        mask: Any = None,
        direction: str | None = None,
        output: Output = "tensor",
        batch_size: int = 64,
    ) -> torch.Tensor | np.ndarray | list[Image.Image]:
        """Translate ``images`` (float ``(N, C, H, W)`` in [-1, 1], uint8 ``(N, H, W, C)`` or PIL images).

        Args:
            mask: inpainting models only: where pixels are missing (1 or white), ``(N, 1, H, W)``, ``(H, W)`` for
                every image, or PIL pictures; default the centre hole a centre model was trained on.
            direction: which network runs, for models with several (``g_ab``, ``g_ba``); None for the only one.
            output: ``"tensor"`` (float in [0, 1], NCHW), ``"raw"`` ([-1, 1]), ``"pil"`` or ``"numpy"`` (uint8
                NHWC), as ``Generator.sample``.
            batch_size: largest batch run at once.
        """
        self._check_output(output)
        role = self.direction(direction)
        x = self.as_input(images)
        extra: tuple[torch.Tensor, ...] = ()
        if self.mask_spec is not None:
            extra = (self.as_mask(mask, len(x)),)
        elif mask is not None:
            raise ValueError(f"{self.architecture!r} takes no mask: it is not an inpainting model")
        chunks = [
            (x[start : start + batch_size], *(e[start : start + batch_size] for e in extra))
            for start in range(0, x.shape[0], batch_size)
        ]
        return self._format(self._run(self.modules[role], chunks), output)

    @property
    def scale(self) -> int:
        """Output side / input side: 1 for pix2pix and CycleGAN, the factor of a super-resolution model."""
        return self.output_shape[-1] // self.inputs[0].shape[-1]

    @torch.no_grad()
    def translate_tiled(
        self,
        image: Any,
        *,
        direction: str | None = None,
        overlap: int | None = None,
        output: Output = "tensor",
        batch_size: int = 64,
    ) -> torch.Tensor | np.ndarray | list[Image.Image]:
        """Translate one picture of any size (a PIL image, uint8 ``(H, W, C)`` or float ``(C, H, W)`` in [-1, 1])
        in overlapping tiles of the model's input size, blended seamlessly (``ganzoo.models.tiling``); a 256-px
        photo through a 16 -> 64 super-resolution model comes out at 1024 px.

        ``overlap``: pixels (of the input) that neighbouring tiles share; default a quarter of a tile. Returns a
        batch of one picture, formatted as ``output`` says.
        """
        from ganzoo.models.tiling import translate_tiled

        self._check_output(output)
        if self.mask_spec is not None:
            raise ValueError("translate_tiled runs one-input models; an inpainting model takes a mask too")
        module = self.modules[self.direction(direction)]
        c, tile = self.inputs[0].shape[0], self.inputs[0].shape[-1]
        if isinstance(image, Image.Image):
            image = np.asarray(image.convert("L" if c == 1 else "RGB")).reshape(image.size[1], image.size[0], c)
        if isinstance(image, np.ndarray) and image.dtype == np.uint8:
            if image.ndim == 2:
                image = image[..., None]
            x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().div(127.5).sub(1)
        else:
            x = torch.as_tensor(image, dtype=torch.float32)
        if x.ndim != 3 or x.shape[0] != c:
            raise ValueError(
                f"translate_tiled takes one picture with {c} channel(s): (H, W, {c}) uint8 or ({c}, H, W) float, "
                f"got shape {tuple(x.shape)}"
            )
        overlap = tile // 4 if overlap is None else overlap
        run = lambda t: self._run(module, [(t,)])  # noqa: E731 - eval mode, restored afterwards
        out = translate_tiled(run, x.to(self.device), tile, self.scale, overlap, batch_size)
        return self._format(out[None], output)

    def __call__(self, images: torch.Tensor, *extra: torch.Tensor, direction: str | None = None) -> torch.Tensor:
        return self.modules[self.direction(direction)](images, *extra)
