"""The hook contract between ganzoo and its plugins.

Every hook is a *registration* hook: ganzoo calls it with a ``register`` callable and the plugin calls
``register(...)`` once per thing it provides. The docstrings below are the reference for plugin authors; the
README's "Writing a plugin" section repeats them with an example.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

hookspec = pluggy.HookspecMarker("ganzoo")
hookimpl = pluggy.HookimplMarker("ganzoo")


@hookspec
def register_architectures(register: Callable[..., None]) -> None:
    """Register GAN architectures.

    ``register(name, generator=None, discriminator=None, *, config, networks=None, task="unconditional",
    default_method="adversarial", default_loss="non-saturating", tiny=None, description="")``

    The networks are ``nn.Module`` classes by role, each built as ``cls(config)`` from one ``config`` dataclass
    (a subclass of ``ganzoo.GeneratorConfig``): ``generator`` and ``discriminator`` positionally, or any roles in
    ``networks={"g_ab": ..., "g_ba": ..., "d_a": ..., "d_b": ...}``. ``task`` is ``unconditional``,
    ``class-conditional`` or ``image-to-image`` and picks the published class (``Generator`` or
    ``Translator``). ``default_method`` names the registered method that trains it. ``tiny`` holds config
    overrides small enough for CPU tests.
    """


@hookspec
def register_methods(register: Callable[..., None]) -> None:
    """Register training methods: how one iteration updates an architecture's networks.

    ``register(name, method_class, *, description="")`` where ``method_class`` subclasses
    ``ganzoo.TrainingMethod`` (or ``ganzoo.AdversarialMethod``): it builds the networks by role and their
    optimisers, says which batch fields it ``needs``, runs ``step(batch, step) -> {metric: tensor}``, names the
    roles it publishes, draws its preview and saves its own state.
    """


@hookspec
def register_losses(register: Callable[..., None]) -> None:
    """Register adversarial losses.

    ``register(name, loss_class, *, description="")``

    ``loss_class(**options)`` builds an object with ``discriminator_loss(real_logits, fake_logits)``,
    ``generator_loss(fake_logits)`` and the attributes of ``ganzoo.Loss``: ``d_steps``, ``clip``,
    ``optimizer`` (recommended settings), ``regularizer(discriminator, real, fake)`` and ``outputs_probability``.
    """


@hookspec
def register_pretrained(register: Callable[..., None]) -> None:
    """Register zoo models: short names for ``ganzoo.load``.

    ``register(name, *, architecture, repo_id, revision, sha256, card=None, description="", dataset="",
    resolution=None, metrics=None, bundled=None, task="unconditional")``

    ``revision`` pins the Hub commit (or tag) and ``sha256`` the weights file (``model.safetensors``): a file that
    does not hash to it is never used. ``bundled`` is an optional folder shipped inside the plugin package with
    the same ``config.json`` + ``model.safetensors``, loaded without network. ``card`` is the model card's path.
    """


@hookspec
def register_exporters(register: Callable[..., None]) -> None:
    """Register export formats.

    ``register(format, export, *, description="")`` where ``export(generator, path, **options) -> Path``.
    """


@hookspec
def register_metrics(register: Callable[..., None]) -> None:
    """Register evaluation metrics.

    ``register(name, metric_class, *, description="")``; ``metric_class(**options)`` builds a metric (usually a
    ``ganzoo.evaluation.Metric`` subclass) with ``needs`` (which of ``samples``, ``features``, ``logits`` each
    batch carries), ``splits`` (which of ``generated``, ``reference``, ``heldout`` it reads), ``bind(context)``
    (an ``EvalContext``, before any feature is computed; may reject the set-up), ``update(batch, split)``,
    ``compute() -> dict`` of JSON numbers, and optionally ``figures() -> {name: uint8 HxWxC}``.
    """


@hookspec
def register_datasets(register: Callable[..., None]) -> None:
    """Register data sets.

    ``register(name, factory, *, description="", needs_path=False)`` where ``factory(path=None, **options)``
    returns a ``torch.utils.data.Dataset`` of samples in [-1, 1] (a ``ganzoo.InMemoryData`` trains fastest).
    """
