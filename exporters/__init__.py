"""Export formats and serving (installed as ``ganzoo.exporters``)."""
