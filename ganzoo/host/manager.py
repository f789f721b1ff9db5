"""Finding, loading and reporting plugins.

Plugins are found through the ``ganzoo`` entry-point group, ganzoo's own built-ins included. Loading is lazy
(first use) and idempotent. A plugin that fails to import, implements a hook that does not exist, or raises in
a hook is reported with a ``PluginLoadWarning`` and skipped; ``GANZOO_STRICT_PLUGINS=1`` turns that into an error.

Switches: ``GANZOO_DISABLE_PLUGIN_AUTOLOAD=1`` (only ganzoo's built-ins load), ``GANZOO_BLOCK_PLUGINS=a,b``
(entry-point names never loaded), ``GANZOO_TRACE_PLUGINS=1`` (print every hook call).
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import os
import warnings
from dataclasses import dataclass, field
from typing import Any

import pluggy

from ganzoo import hookspecs
from ganzoo.errors import PluginError, PluginLoadWarning
from ganzoo.host.registry import HOOKS, Registry

ENTRY_POINT_GROUP = "ganzoo"

# ganzoo's own plugins, as declared in pyproject.toml's entry points. Used only when ganzoo runs without its
# installed metadata (a bare source tree on PYTHONPATH); a test checks the two lists agree.
DEFAULT_PLUGINS = {
    "dcgan": "ganzoo.plugins.dcgan",
    "mlp": "ganzoo.plugins.mlp",
    "losses": "ganzoo.plugins.losses",
    "methods": "ganzoo.plugins.methods",
    "conditional": "ganzoo.plugins.conditional",
    "infogan": "ganzoo.plugins.infogan",
    "unrolled": "ganzoo.plugins.unrolled",
    "xicfg": "ganzoo.plugins.xicfg",
    "datasets": "ganzoo.plugins.datasets",
    "image-pairs": "ganzoo.plugins.image_pairs",
    "paired-tasks": "ganzoo.plugins.paired_tasks",
    "pix2pix": "ganzoo.plugins.pix2pix",
    "cyclegan": "ganzoo.plugins.cyclegan",
    "srgan": "ganzoo.plugins.srgan",
    "progressive": "ganzoo.plugins.progressive",
    "fsr": "ganzoo.plugins.fsr",
    "inpainting": "ganzoo.plugins.inpainting",
    "exporters": "ganzoo.exporters",
    "zoo": "ganzoo.plugins.zoo",
    "metrics": "ganzoo.plugins.metrics",
}


@dataclass
class PluginInfo:
    """One plugin as `ganzoo plugins` shows it."""

    name: str
    module: str
    distribution: str = ""
    version: str = ""
    builtin: bool = False
    registered: dict[str, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


class PluginHost:
    """A pluggy ``PluginManager`` plus the registry built from its plugins.

    Tests build their own host (``PluginHost(autoload=False)``) and install it with ``use_host``.
    """

    def __init__(
        self,
        *,
        autoload: bool | None = None,
        blocked: list[str] | None = None,
        strict: bool | None = None,
        builtins: bool = True,
    ) -> None:
        self.autoload = (not _env_flag("GANZOO_DISABLE_PLUGIN_AUTOLOAD")) if autoload is None else autoload
        self.blocked = set(_env_list("GANZOO_BLOCK_PLUGINS") if blocked is None else blocked)
        self.strict = _env_flag("GANZOO_STRICT_PLUGINS") if strict is None else strict
        self.builtins = builtins
        self.pm = pluggy.PluginManager("ganzoo")
        self.pm.add_hookspecs(hookspecs)
        for name in self.blocked:
            self.pm.set_blocked(name)
        self.plugins: dict[str, PluginInfo] = {}
        self._loaded = False
        self._registry: Registry | None = None
        if _env_flag("GANZOO_TRACE_PLUGINS"):
            self.pm.trace.root.setwriter(print)
            self.pm.enable_tracing()

    # -- loading ---------------------------------------------------------------------------------------------

    def load(self) -> PluginHost:
        """Load built-in and installed plugins once; later calls do nothing."""
        if self._loaded:
            return self
        self._loaded = True
        try:
            self._load_all()
        except BaseException:
            self._loaded = False  # strict mode raised: a later call tries again rather than using half a host
            raise
        return self

    def _load_all(self) -> None:
        found_builtin = False
        seen: set[tuple[str, str]] = set()
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if (ep.name, ep.value) in seen:  # a stale egg-info beside an editable install lists it twice
                continue
            seen.add((ep.name, ep.value))
            dist = getattr(ep, "dist", None)
            dist_name = dist.metadata["Name"] if dist is not None else ""
            builtin = dist_name.lower() == "ganzoo"
            found_builtin |= builtin
            if (builtin and not self.builtins) or (not builtin and not self.autoload):
                continue
            version = dist.version if dist is not None else ""
            self._load_one(ep.name, ep.value, ep.load, dist_name, version, builtin)
        if self.builtins and not found_builtin:
            from ganzoo import __version__

            for name, module in DEFAULT_PLUGINS.items():
                self._load_one(name, module, lambda m=module: importlib.import_module(m), "ganzoo", __version__, True)
        self._check_pending()

    def _load_one(self, name: str, module: str, load: Any, dist: str, version: str, builtin: bool) -> None:
        if name in self.blocked:
            return
        if name in self.plugins:  # the name is taken: report the newcomer without touching the first plugin's info
            holder = self.describe(name)
            self._fail(
                PluginInfo(name, module, dist, version, builtin),
                f"uses the plugin name {name!r}, already taken by plugin {holder}",
                ValueError(name),
            )
            return
        info = PluginInfo(name, module, dist, version, builtin)
        self.plugins[name] = info
        try:
            self.pm.register(load(), name=name)
        except Exception as exc:
            self._fail(info, f"failed to load: {type(exc).__name__}: {exc}", exc)

    def _check_pending(self) -> None:
        """pluggy's ``check_pending``, but unregistering each offending plugin instead of failing outright."""
        while True:
            try:
                self.pm.check_pending()
                return
            except pluggy.PluginValidationError as exc:
                name = self.pm.get_name(exc.plugin) or repr(exc.plugin)
                bad = [
                    attr
                    for attr in dir(exc.plugin)
                    if attr not in HOOKS and self.pm.parse_hookimpl_opts(exc.plugin, attr) is not None
                ]
                close = [m for b in bad for m in difflib.get_close_matches(b, HOOKS, n=1)]
                message = f"implements unknown hook(s) {', '.join(bad) or '?'}"
                if close:
                    message += f" (did you mean {', '.join(close)}?)"
                self.pm.unregister(exc.plugin)
                info = self.plugins.setdefault(name, PluginInfo(name, getattr(exc.plugin, "__name__", name)))
                self._fail(info, message, exc)

    def _fail(self, info: PluginInfo, message: str, exc: BaseException) -> None:
        info.errors.append(message)
        label = f"{info.distribution} {info.version}".strip() or info.module
        text = f"ganzoo plugin {info.name!r} ({label}) {message}; it was skipped."
        if self.strict:
            raise PluginError(text) from exc
        warnings.warn(text + " Set GANZOO_STRICT_PLUGINS=1 to make this an error.", PluginLoadWarning, stacklevel=4)

    # -- registering by object (tests, notebooks) -------------------------------------------------------------

    def register(self, plugin: Any, name: str) -> None:
        """Register a plugin object (a module or a class instance with hook implementations)."""
        self.load()
        if name in self.plugins:
            raise ValueError(f"a plugin named {name!r} is already registered ({self.describe(name)})")
        module = getattr(plugin, "__name__", None) or getattr(plugin, "__module__", None) or repr(plugin)
        self.plugins[name] = PluginInfo(name, module)
        self.pm.register(plugin, name=name)
        self._check_pending()
        self._registry = None

    def unregister(self, name: str) -> None:
        """Remove a plugin registered with ``register``."""
        self.pm.unregister(name=name)
        self.plugins.pop(name, None)
        self._registry = None

    # -- the registry -----------------------------------------------------------------------------------------

    @property
    def registry(self) -> Registry:
        """The registry, built on first use from every loaded plugin."""
        self.load()
        if self._registry is None:
            self._registry = self._build_registry()
        return self._registry

    def _build_registry(self) -> Registry:
        registry = Registry()
        for info in self.plugins.values():
            info.registered = {}
        for hook, (kind, _, build) in HOOKS.items():
            # get_hookimpls() lists in registration order: built-ins first, so they keep their names.
            for impl in getattr(self.pm.hook, hook).get_hookimpls():
                records: list[Any] = []

                def register(*args: Any, _build: Any = build, _records: list = records, **kwargs: Any) -> None:
                    _records.append(_build(*args, **kwargs))

                info = self.plugins.setdefault(impl.plugin_name, PluginInfo(impl.plugin_name, str(impl.plugin)))
                try:
                    impl.function(**{arg: register for arg in impl.argnames if arg == "register"})
                    registry.add_all(hook, impl.plugin_name, records, self.describe)
                except Exception as exc:
                    self._fail(info, f"raised in {hook}: {type(exc).__name__}: {exc}", exc)
                    continue
                if records:
                    info.registered.setdefault(kind, []).extend(r.name for r in records)
        return registry

    def describe(self, name: str) -> str:
        """A plugin name with its distribution and version, for error messages."""
        info = self.plugins.get(name)
        if info is None or not info.distribution:
            return repr(name)
        return f"{name!r} ({info.distribution} {info.version})"


_host: PluginHost | None = None


def get_host() -> PluginHost:
    """The process-wide plugin host, created (from the environment switches) and loaded on first use."""
    global _host
    if _host is None:
        _host = PluginHost()
    return _host.load()


def use_host(host: PluginHost | None) -> PluginHost | None:
    """Install ``host`` as the process-wide host (``None`` resets to lazy creation); returns the previous one."""
    global _host
    previous, _host = _host, host
    return previous


def get_registry() -> Registry:
    """The registry of the process-wide host."""
    return get_host().registry


def get_plugins() -> list[PluginInfo]:
    """Every plugin seen: name, module, distribution, version, what it registered and any errors."""
    host = get_host()
    host.registry  # noqa: B018 - building the registry fills in what each plugin registered
    return sorted(host.plugins.values(), key=lambda info: (not info.builtin, info.name))
