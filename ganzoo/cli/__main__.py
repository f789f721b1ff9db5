"""``python -m ganzoo.cli``: the ``ganzoo`` command line (the tests and benchmarks start ``ganzoo serve`` so)."""

import sys

from ganzoo.cli import main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
