"""``TrainingMethod``: what one GAN family trains and how one iteration updates it.

The training loop (``ganzoo.training.loop``) owns everything a family shares: seeding, device, data, the
learning-rate schedule over all optimisers, EMA of the published roles, logging, previews, checkpoints, the
diverged-loss stop and publishing. A method owns the rest (pattern: timm's ``task/task.py``):

- ``build()``: its networks by role (``generator``, ``discriminator``; CycleGAN ``g_ab``, ``g_ba``, ``d_a``,
  ``d_b``); ``make_optimizers()``: its optimisers by name (the run's ``lr_d`` goes to the critic roles, those
  ``is_critic_role`` names; a method that builds its own optimisers passes ``critic=True`` to ``optimizer_for``);
- ``needs``: the batch fields it reads (``{"image"}``, ``{"image", "label"}``, ``{"source", "target"}``,
  ``{"a", "b"}``); ``check_data(shapes)`` rejects unusable data before any step;
- ``step(batch, step) -> {name: tensor}``: one iteration; every key reaches ``losses.csv``, ``shown`` names the
  ones the progress bar shows; a metric named ``*loss`` that is not finite stops training;
- ``published``: the roles that get an EMA copy and are saved as the model;
- ``fixed_inputs()`` / ``preview()``: the progress picture, from the same inputs every time;
- ``state_dict()`` / ``load_state_dict()``: its own state (image pools, growth level, codes), in checkpoints;
- ``trainable``: the roles DDP wraps (frozen feature networks never).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from ganzoo.data import check_fields

if TYPE_CHECKING:
    from ganzoo.config import GeneratorConfig
    from ganzoo.host.registry import Architecture
    from ganzoo.training.config import TrainConfig


def is_critic_role(role: str) -> bool:
    """Whether a role or optimiser name is a discriminator's (``discriminator``, ``discriminator_level2``, ``d_a``,
    ``critic``...), whose learning rate is the run's ``lr_d`` when set."""
    return role.startswith(("discriminator", "critic", "d_"))


@dataclass
class MethodContext:
    """What a method is built from: the architecture, its config, the loss, the run's settings and device."""

    architecture: Architecture
    config: GeneratorConfig
    loss: Any
    settings: TrainConfig
    device: torch.device
    options: dict[str, Any]
    name: str = ""


class TrainingMethod:
    """Base class of training methods; subclass it (or ``AdversarialMethod``) and register it with
    ``register_methods``. Subclasses implement ``step`` and usually ``preview``."""

    #: batch fields ``step`` reads
    needs: ClassVar[frozenset[str]] = frozenset({"image"})
    #: roles that get an EMA copy and make up the saved model
    published: ClassVar[tuple[str, ...]] = ("generator",)
    #: metrics the progress bar shows (all of them reach losses.csv)
    shown: ClassVar[tuple[str, ...]] = ()
    #: architecture tasks this method can train (empty: any)
    tasks: ClassVar[tuple[str, ...]] = ()
    #: whether the method uses a registered adversarial loss (``--loss``)
    uses_loss: ClassVar[bool] = True
    #: images per row of the preview grid (a class-conditional method shows one column per class)
    preview_nrow: int = 8
    #: whether the published roles are an EMA of the trained weights; a method whose published network must stay
    #: consistent with other state (xICFG's approximator with its D snapshots) publishes the weights as they are
    uses_ema: ClassVar[bool] = True

    def __init__(self, context: MethodContext) -> None:
        self.context = context
        self.arch = context.architecture
        self.config = context.config
        self.loss = context.loss
        self.settings = context.settings
        self.device = context.device
        self.options = dict(context.options)
        self.memory_format = torch.channels_last if self.settings.channels_last else torch.contiguous_format
        self.modules: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.ema: dict[str, nn.Module] = {}  # set by the loop: the EMA copies of the published roles
        self.batches: Any = None  # set by the loop: the endless batch iterator
        self.check_options()

    # -- set-up ------------------------------------------------------------------------------------------------

    def check_options(self) -> None:
        """Reject unknown or bad ``method_options``; the base takes none."""
        if self.options:
            raise TypeError(
                f"method {self.context.name!r} takes no options, got {sorted(self.options)}; "
                "see its docstring (`ganzoo list`) for what it accepts"
            )

    def options_with(self, defaults: dict[str, Any]) -> dict[str, Any]:
        """The run's ``method_options`` over ``defaults``; a ``TypeError`` naming the known ones for any other key
        (for ``check_options`` of methods with options)."""
        unknown = set(self.options) - set(defaults)
        if unknown:
            raise TypeError(f"{self.context.name} takes {', '.join(defaults)}; got unknown {sorted(unknown)}")
        return {**defaults, **self.options}

    def build(self) -> dict[str, nn.Module]:
        """Build every network role of the architecture from its config (seeded by the loop)."""
        return {role: cls(self.config) for role, cls in self.arch.networks.items()}

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """One optimiser per trainable role, with the loss's recommended settings (``lr``/``betas`` override;
        ``lr_d`` for the critic roles, see ``is_critic_role``)."""
        return {
            role: self.optimizer_for(self.modules[role].parameters(), critic=is_critic_role(role))
            for role in self.trainable
        }

    def optimizer_for(self, params: Any, critic: bool = False) -> torch.optim.Optimizer:
        """An optimiser for ``params`` following the loss's advice and the run's ``lr``/``betas``; ``critic``
        parameters take the run's ``lr_d`` when it is set (the two time-scale update rule, Heusel et al. 2017)."""
        from ganzoo.training.optim import make_optimizer

        return make_optimizer(
            params, self.optimizer_advice(), self.lr_for(critic), self.settings.betas, self.settings.adam
        )

    def optimizer_advice(self) -> dict[str, Any]:
        """The optimiser the run uses unless ``lr``/``betas`` say otherwise: the loss's recommendation (a family
        with its paper's own optimiser overrides this)."""
        return dict(getattr(self.loss, "optimizer", None) or {"name": "adam", "lr": 2e-4, "betas": (0.5, 0.999)})

    def lr_for(self, critic: bool) -> float | None:
        """The run's learning rate for a critic's or a generator's parameters (``None``: the loss's advice)."""
        if critic and self.settings.lr_d is not None:
            return self.settings.lr_d
        return self.settings.lr

    @property
    def trainable(self) -> tuple[str, ...]:
        """Roles whose weights this method trains (DDP wraps these); default: every built role."""
        return tuple(self.modules)

    def check_data(self, shapes: dict[str, tuple[int, ...]], description: str) -> None:
        """Reject data that lacks a needed field (override to check shapes too), before any step."""
        check_fields(self.needs, shapes, method=self.context.name, data=description)

    def setup(self) -> None:
        """Called once the modules, optimisers and EMA copies exist (and before a checkpoint is loaded)."""

    # -- one iteration -----------------------------------------------------------------------------------------

    def step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        """One training iteration on ``batch`` at 0-based ``step``; returns metrics as tensors (no host sync).

        A method that uses more than one batch per iteration (several critic steps) draws them with
        ``next_batch()``.
        """
        raise NotImplementedError

    def next_batch(self) -> dict[str, torch.Tensor]:
        """Another batch from the run's data (resumes exactly: the sampler is checkpointed)."""
        return next(self.batches)

    def autocast(self) -> contextlib.AbstractContextManager:
        """bfloat16 autocast when mixed precision is on, on CUDA or the CPU (bfloat16 needs no gradient scaler)."""
        if self.settings.amp and self.device.type in ("cuda", "cpu"):
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def to_memory_format(self, x: torch.Tensor) -> torch.Tensor:
        """Images in the run's memory format (channels_last by default); other tensors as they are."""
        return x.contiguous(memory_format=self.memory_format) if x.ndim == 4 else x

    # -- progress pictures -------------------------------------------------------------------------------------

    def fixed_inputs(self, n: int, seed: int, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The inputs of every preview (the same each time); ``batch`` is a first batch of real data."""
        from ganzoo.sampling import latents

        return {"z": torch.from_numpy(latents(n, self.config.z_dim, seed)).to(self.device)}

    @torch.no_grad()
    def preview(self, fixed: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """The progress picture from the EMA networks: images ``(N, C, H, W)`` in [-1, 1] laid out as a grid with
        8 per row, or samples ``(N, d)`` (2-D ones are drawn as a scatter plot); None for no picture."""
        return self.ema[self.published[0]](fixed["z"]).float()

    # -- what gets published ------------------------------------------------------------------------------------

    def published_modules(self, modules: dict[str, nn.Module]) -> dict[str, nn.Module]:
        """The networks saved as the model, from the (EMA) published roles; default: those roles as they are.

        A method whose model is more than its trained roles (xICFG: the approximator followed by gradient steps
        through its D snapshots) wraps them here, and rebuilds the same wrapper in ``published_network``."""
        return modules

    def images_seen(self, steps: int) -> int:
        """Real samples drawn for training in ``steps`` iterations, over all ranks (recorded with the model);
        default: a batch an iteration. Methods that draw more (xICFG's stages) or vary the batch (ProGAN) say so."""
        import ganzoo.training.distributed as distributed

        return steps * self.settings.batch_size * distributed.current().size

    def published_settings(self) -> dict[str, Any]:
        """JSON-ready settings that ``published_network`` needs to rebuild the saved model (recorded in
        ``config.json`` under ``training.method_settings``); default: none."""
        return {}

    @classmethod
    def published_network(cls, architecture: Architecture, config: GeneratorConfig, role: str,
                          settings: dict[str, Any]) -> nn.Module:  # fmt: skip
        """The empty network of a saved model's ``role`` that its weights are loaded into, from the
        ``method_settings`` that ``published_settings`` recorded; default: the architecture's network."""
        return architecture.network(role)(config)

    # -- its own state -----------------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Tensors of the method's own state (stored as ``method.<key>`` in checkpoints)."""
        return {}

    def extra_state(self) -> dict[str, Any]:
        """JSON-ready values of the method's own state."""
        return {}

    def load_state_dict(self, tensors: dict[str, torch.Tensor], extra: dict[str, Any]) -> None:
        """Restore what ``state_dict`` and ``extra_state`` returned."""
