"""ganzoo's built-in plugins (installed as ``ganzoo.plugins``), registered through the ``ganzoo`` entry points."""
