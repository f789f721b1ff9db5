"""Training: the loop, its settings, the methods that update networks, checkpoints and EMA."""

from ganzoo.training.adversarial import AdversarialMethod, batch_norm_per_half
from ganzoo.training.config import TrainConfig
from ganzoo.training.loop import TrainState, train
from ganzoo.training.method import MethodContext, TrainingMethod
from ganzoo.training.monitor import TrainingMonitor

__all__ = [
    "AdversarialMethod",
    "MethodContext",
    "TrainConfig",
    "TrainState",
    "TrainingMethod",
    "TrainingMonitor",
    "batch_norm_per_half",
    "train",
]
