"""What the loop watches and writes while training: the warnings monitor and the CSV log."""

from __future__ import annotations

import csv
import math
import warnings
from pathlib import Path
from typing import Any

from ganzoo.errors import TrainingWarning
from ganzoo.fileio import atomic_path

VANISHING_RATIO = 1e-3  # G's gradient norm below this share of its first logged value: "vanishing"
COLLAPSE_SPREAD = 0.1  # fakes lost 90% of the largest spread they had (relative to the real batch's): "collapse"


class TrainingMonitor:
    """Warns once each when G's gradients vanish or the fakes collapse onto (nearly) one sample.

    Vanishing: G's gradient norm falls below ``VANISHING_RATIO`` of its first logged value (the minimax loss's
    saturation when D wins). Collapse: the fakes are identical, or their spread (relative to the real batch's) fell
    below ``COLLAPSE_SPREAD`` of the largest it has been after reaching half the data's. Why relative to the past:
    a fresh generator's samples are tightly bunched before it learns anything, which is not a collapse.
    """

    def __init__(self) -> None:
        self.first_g_norm: float | None = None
        self.max_spread = 0.0
        self.warned: set[str] = set()

    def check(self, step: int, values: dict[str, float]) -> list[str]:
        """Look at one log row; returns (and warns) the new problems."""
        found = []
        g_norm = values.get("g_grad_norm")
        if g_norm is not None and math.isfinite(g_norm):
            if self.first_g_norm is None:
                self.first_g_norm = g_norm
            elif g_norm < VANISHING_RATIO * self.first_g_norm and "vanishing" not in self.warned:
                found.append(
                    f"step {step}: the generator's gradients have vanished (norm {g_norm:.2e}, was "
                    f"{self.first_g_norm:.2e}); D is winning. With the minimax loss, try non-saturating."
                )
                self.warned.add("vanishing")
        spread = values.get("fake_spread")
        if spread is None or not math.isfinite(spread):
            spread = None
        else:
            self.max_spread = max(self.max_spread, spread)
        lost = spread is not None and self.max_spread >= 0.5 and spread < COLLAPSE_SPREAD * self.max_spread
        identical = spread is not None and spread < 1e-4
        if (lost or identical) and "collapse" not in self.warned:
            found.append(
                f"step {step}: generated samples in a batch are nearly identical (spread {spread:.3f} of the "
                "real batch's): mode collapse. Try another loss (wgan-gp, hinge), a lower lr or a smaller D."
            )
            self.warned.add("collapse")
        for message in found:
            warnings.warn(message, TrainingWarning, stacklevel=3)
        return found


class CsvLog:
    """The training log: one CSV row every ``log_every`` steps, flushed so it can be read while training.

    The schema is open: the columns are ``step``, whatever the method's metrics are, and ``seconds``. A metric
    that first appears later widens the header (the file is rewritten once, with empty cells above).
    """

    def __init__(self, path: Path, keep_until: int) -> None:
        self.path = path
        self.rows: list[dict[str, Any]] = []
        self.fields: list[str] = []
        if keep_until and path.is_file():  # resuming: drop rows the checkpoint does not cover
            with open(path, newline="", encoding="utf-8", errors="replace") as f:
                reader = csv.DictReader(f)
                self.fields = list(reader.fieldnames or [])
                self.rows = [r for r in reader if _step(r) is not None and _step(r) <= keep_until]
        self.file = None
        self._rewrite()

    def _rewrite(self) -> None:
        if self.file is not None:
            self.file.close()
        # Written to a temporary file and renamed, then appended to: a kill during the rewrite (a resume dropping
        # rows past its checkpoint, or a new column) leaves the old log whole, never a truncated one.
        with atomic_path(self.path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, self.fields, restval="")
            if self.fields:
                writer.writeheader()
                writer.writerows(self.rows)
        self.file = open(self.path, "a", newline="", encoding="utf-8")  # noqa: SIM115 - closed by close()
        self.writer = csv.DictWriter(self.file, self.fields, restval="")

    def writerow(self, row: dict[str, Any]) -> None:
        """Append one row (``step`` first, ``seconds`` last)."""
        new = [k for k in row if k not in self.fields]
        self.rows.append(row)
        if new:
            middle = [f for f in self.fields if f not in ("step", "seconds")] + [
                k for k in new if k not in ("step", "seconds")
            ]
            self.fields = ["step", *middle, "seconds"]
            self._rewrite()
            return
        self.writer.writerow(row)
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def _step(row: dict[str, Any]) -> int | None:
    """A log row's step, or None for a damaged row (it is dropped on resume)."""
    text = row.get("step") or ""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 13 else None
