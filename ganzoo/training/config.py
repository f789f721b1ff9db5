"""``TrainConfig``: the one list of training settings.

``ganzoo.train(**settings)`` takes these fields by name, checkpoints and ``config.json`` save them, a resume
compares them, and the ``ganzoo train`` CLI makes one option per field from the ``help`` in its metadata. A new
setting is one field here (plus where the loop uses it), never three edits.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any

LR_DECAYS = ("none", "linear")


def setting(default: Any, help: str, *, cli: bool = True, resume: str = "free", **extra: Any) -> Any:
    """A ``TrainConfig`` field: ``help`` is the CLI text; ``resume="match"`` makes a resume with another value
    an error; ``cli=False`` keeps it off the generated options (set by dedicated ones)."""
    metadata = {"help": help, "cli": cli, "resume": resume, **extra}
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved in checkpoints and config.json)."""

    architecture: str = setting("", "registered architecture", cli=False, resume="match")
    model: dict[str, Any] = setting({}, "the architecture's config fields", cli=False, resume="match")
    method: str = setting("", "registered training method; default: the architecture's", cli=False, resume="match")
    method_options: dict[str, Any] = setting({}, "the method's options", cli=False, resume="match")
    loss: str = setting("", "registered loss; default: the architecture's", cli=False, resume="match")
    loss_options: dict[str, Any] = setting({}, "the loss's options, e.g. gp_weight=10", cli=False, resume="match")
    data: str = setting("", "description of the training data", cli=False, resume="match")
    steps: int = setting(1000, "Total training iterations (a resume continues up to this).")
    batch_size: int = setting(64, "Samples per batch.", resume="match")
    lr: float | None = setting(None, "Learning rate; default: the loss's recommendation.", resume="match")
    lr_d: float | None = setting(
        None,
        "Discriminator's learning rate when it differs from G's (two time-scale update rule, Heusel et al. 2017); "
        "default: the same as --lr.",
        resume="match",
    )
    betas: tuple[float, float] | None = setting(None, "Adam betas; default: the loss's", cli=False, resume="match")
    lr_decay: str = setting(
        "none", "'linear': learning rates fall linearly to 0 at the last step.", choices=LR_DECAYS, resume="match"
    )
    lr_decay_start: int = setting(
        0, "With --lr-decay linear: constant up to this step, then the linear fall.", resume="match"
    )
    ema: float = setting(0.999, "EMA decay of the published weights.", resume="match")
    adam: str = setting(
        "fused",
        "Adam implementation: fused (one kernel), foreach or loop (same update, other rounding).",
        resume="match",
        absent="loop",  # what checkpoints written before this setting existed used
    )
    seed: int = setting(0, "Seed of the networks, latents and data order.", resume="match")
    max_seconds: float = setting(
        0.0,
        "Stop after this many seconds of training in this session, checkpoint and publish there (0: no limit).",
        metavar="SECONDS",
    )
    log_every: int = setting(10, "Steps between progress-bar updates, CSV rows and finiteness checks.")
    sample_every: int = setting(500, "Steps between preview pictures in out_dir/progress/.")
    checkpoint_every: int = setting(1000, "Steps between checkpoints.")
    amp: bool = setting(
        False, "bfloat16 autocast: on CUDA, and on CPUs with AMX / AVX-512 BF16 (about 2x faster there)."
    )
    channels_last: bool = setting(True, "channels_last (NHWC) memory format: faster convolutions.")
    # D sees real and fake in two passes (pytorch/examples style) instead of one joint pass. Both give the same D
    # update: in the joint pass every batch-norm layer normalises the real and the fake half separately
    # (batch_norm_per_half); mixing their statistics made D win at once (D(G(z)) -> 0 within 50 DCGAN steps).
    separate_d_batches: bool = setting(False, "D judges real and fake batches in two passes.")
    resize: bool = setting(False, "Resize and convert images on load to the model's size and channels.")
    track_moments: int = setting(
        0, "Every N steps record moment distances and ReLU sparsity (moments.csv/png); 0: off.", metavar="N"
    )
    standing_stats: int = setting(
        0, "At the end, re-measure batch-norm statistics over N latent batches; 0: off.", metavar="N"
    )
    compile: bool = setting(
        False, "torch.compile the networks (slow first steps; see benchmarks/README.md for when it pays)."
    )
    sync_bn: bool = setting(False, "Batch-norm statistics over all torchrun ranks (SyncBatchNorm; CUDA only).")
    init_from: str = setting(
        "",
        "Start the published networks from a saved model (folder or zoo name) of the same architecture and config: "
        "fine-tuning, or a second training phase with other options (the rest starts fresh).",
        resume="match",
        metavar="MODEL",
    )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def cli_fields(cls) -> list[tuple[dataclasses.Field, type]]:
        """The fields the CLI makes options from, with their plain types (``float | None`` -> ``float``)."""
        hints = typing.get_type_hints(cls)
        out = []
        for f in dataclasses.fields(cls):
            if not f.metadata.get("cli"):
                continue
            kind = hints[f.name]
            args = [a for a in typing.get_args(kind) if a is not type(None)]
            out.append((f, args[0] if args else kind))
        return out

    @classmethod
    def names(cls) -> set[str]:
        """Every setting's name."""
        return {f.name for f in dataclasses.fields(cls)}

    def check(self) -> None:
        """Reject values no run can use, naming the setting and what to pass."""
        if self.steps <= 0:
            raise ValueError(f"steps must be positive, got {self.steps}")
        if self.batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {self.batch_size}")
        for name in ("lr", "lr_d"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be a positive learning rate, got {value}")
        if self.adam not in ("fused", "foreach", "loop"):
            raise ValueError(f"adam must be 'fused', 'foreach' or 'loop', got {self.adam!r}")
        if self.lr_decay not in LR_DECAYS:
            raise ValueError(f"lr_decay must be one of {LR_DECAYS}, got {self.lr_decay!r}")
        if self.lr_decay_start and self.lr_decay != "linear":
            raise ValueError(
                f"lr_decay_start={self.lr_decay_start} sets where the linear decay begins: pass lr_decay='linear'"
            )
        if not 0 <= self.lr_decay_start < self.steps:
            raise ValueError(f"lr_decay_start must be a step in [0, steps={self.steps}), got {self.lr_decay_start}")
        if not self.max_seconds >= 0 or self.max_seconds == float("inf"):
            raise ValueError(
                f"max_seconds must be a finite number of seconds >= 0 (0: no limit), got {self.max_seconds}"
            )
        for name in ("log_every", "sample_every", "checkpoint_every"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.track_moments < 0:
            raise ValueError(f"track_moments must be >= 0 (0: off), got {self.track_moments}")
        if self.standing_stats < 0:
            raise ValueError(f"standing_stats must be >= 0 batches (0: off), got {self.standing_stats}")
        if self.standing_stats and self.batch_size < 2:
            raise ValueError("standing_stats measures batch statistics: it needs batch_size >= 2")

    def differences(self, saved: dict[str, Any]) -> list[str]:
        """The ``resume="match"`` settings whose saved value differs from this run's, as readable lines."""
        import json

        current = self.to_dict()
        defaults = TrainConfig().to_dict()
        diffs = []
        for f in dataclasses.fields(self):
            if f.metadata.get("resume") != "match":
                continue
            # settings added after the checkpoint was written: what those runs did (``absent``), else the default
            old = saved.get(f.name, f.metadata.get("absent", defaults[f.name]))
            if json.dumps(old) != json.dumps(current[f.name]):
                diffs.append(f"{f.name}: checkpoint {old!r}, now {current[f.name]!r}")
        return diffs
