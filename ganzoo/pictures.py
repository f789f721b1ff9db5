"""Opening picture files with a bound: a file's declared width x height is checked before it is decoded.

A 9000x9000 PNG (or a small "decompression bomb" declaring huge dimensions) would otherwise be decoded whole
(243 MB per RGB picture, per reader thread) before anyone looks at it. PIL's own guard
(``Image.MAX_IMAGE_PIXELS``, 89 Mpx) only warns below twice that. ganzoo's bound, ``MAX_PICTURE_PIXELS``, is
50 Mpx: a 48 Mpx phone photo (8000x6000) is read, anything larger is refused with the reason. JPEGs are decoded
at reduced scale (``draft``) when the model needs far fewer pixels than the file holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganzoo.errors import DataError

MAX_PICTURE_PIXELS = 50_000_000


def open_picture(path: str | Path, *, size: int | None = None, max_pixels: int = MAX_PICTURE_PIXELS) -> Any:
    """A decoded PIL picture from ``path``, refused (``DataError``) when it declares more than ``max_pixels``
    pixels or cannot be read; ``size`` (the side the picture will be resized to) lets JPEGs decode smaller."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as picture:
            width, height = picture.size
            if width * height > max_pixels:
                raise _too_large(path, f"is {width}x{height} pixels ({width * height / 1e6:.0f} Mpx)", max_pixels)
            if size is not None and picture.format == "JPEG":
                picture.draft(picture.mode, (2 * size, 2 * size))  # decode at >= 2x the target side, not more
            picture.load()
            return picture
    except DataError:
        raise
    except Image.DecompressionBombError:  # PIL's own guard fires first beyond 2 x its MAX_IMAGE_PIXELS
        raise _too_large(path, "declares more pixels than PIL will decode", max_pixels) from None
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise DataError(f"cannot read {path} as a picture: {exc}") from None


def _too_large(path: Path, what: str, max_pixels: int) -> DataError:
    return DataError(
        f"{path} {what}; ganzoo reads pictures of at most {max_pixels / 1e6:.0f} Mpx. Downscale it first "
        "(e.g. PIL's Image.thumbnail)."
    )
