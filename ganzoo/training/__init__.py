"""Training: the loop, its settings, the methods that update networks, checkpoints and EMA."""

from ganzoo.training.loop import AdversarialStep, TrainConfig, TrainingMonitor, TrainState, batch_norm_per_half, train

__all__ = ["AdversarialStep", "TrainConfig", "TrainState", "TrainingMonitor", "batch_norm_per_half", "train"]
