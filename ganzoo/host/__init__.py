"""The plugin host: finding and loading plugins (``manager``) and what they registered (``registry``)."""

from ganzoo.host.manager import (
    DEFAULT_PLUGINS,
    ENTRY_POINT_GROUP,
    PluginHost,
    PluginInfo,
    get_host,
    get_plugins,
    get_registry,
    use_host,
)
from ganzoo.host.registry import HOOKS, Registry

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "HOOKS",
    "PluginHost",
    "PluginInfo",
    "Registry",
    "get_host",
    "get_plugins",
    "get_registry",
    "use_host",
]
