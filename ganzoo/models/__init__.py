"""Models users hold: ``Generator`` (latents in) and ``Translator`` (images in) on one base; the folder format
(``ganzoo.models.folder``)."""

from ganzoo.models.base import Model
from ganzoo.models.generator import Generator
from ganzoo.models.kinds import MODEL_CLASSES, published_model
from ganzoo.models.translator import Translator

__all__ = ["MODEL_CLASSES", "Generator", "Model", "Translator", "published_model"]
