"""Models users hold: ``Generator`` (latents in) and, beside it, ``Translator`` (images in); the folder format."""
