"""``python -m ganzoo``: the ``ganzoo`` command line (``ganzoo.cli.main``), for when the script is not on PATH."""

from ganzoo.cli import main

if __name__ == "__main__":
    main(prog_name="ganzoo")
