"""The plugin system: discovery, the hook contract, isolation of broken plugins, switches, errors."""

from __future__ import annotations

import importlib.metadata
import re

import pytest
import tomllib
from torch import nn

import ganzoo
from ganzoo import hookspecs
from ganzoo.host.manager import DEFAULT_PLUGINS
from ganzoo.host.registry import HOOKS
from tests.conftest import REPO

HOOK_NAMES = sorted(name for name in dir(hookspecs) if name.startswith("register_"))


class _Cfg(ganzoo.ImageConfig):
    pass


class _Net(nn.Module):
    def __init__(self, config):
        super().__init__()


def test_every_hook_is_handled_by_the_registry():
    """Each hookspec has a record builder, and nothing else does."""
    assert sorted(HOOKS) == HOOK_NAMES


@pytest.mark.parametrize("hook", HOOK_NAMES)
def test_every_hook_is_documented_in_the_readme(hook):
    """README's "Writing a plugin" shows each hook's signature."""
    readme = (REPO / "README.md").read_text()
    assert f"{hook}(register)" in readme


def test_builtin_plugins_are_entry_points():
    """Built-ins are entry points in pyproject, exactly like a third-party plugin's, matching DEFAULT_PLUGINS."""
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["entry-points"]["ganzoo"]
    assert declared == DEFAULT_PLUGINS
    installed = {
        ep.name: ep.value for ep in importlib.metadata.entry_points(group="ganzoo") if ep.dist.name == "ganzoo"
    }
    assert installed == DEFAULT_PLUGINS


def test_builtins_register_through_the_hooks(host):
    """The built-in names come from the built-in plugins, with ganzoo's version."""
    assert {"dcgan", "mlp"} <= set(ganzoo.list_architectures())
    assert {"minimax", "non-saturating", "wasserstein", "wgan-gp", "hinge", "least-squares"} <= set(
        ganzoo.list_losses()
    )
    assert {"ring-8", "grid-25", "npz", "image-folder"} <= set(ganzoo.list_datasets())
    plugins = {p.name: p for p in ganzoo.get_plugins()}
    assert plugins["dcgan"].registered == {"architecture": ["dcgan"]}
    assert plugins["dcgan"].distribution == "ganzoo" and plugins["dcgan"].version == ganzoo.__version__
    assert plugins["dcgan"].builtin


def test_plugin_registered_by_object(register_plugin):
    """A plugin object's architecture shows up in the registry."""

    class Plugin:
        @ganzoo.hookimpl
        def register_architectures(self, register):
            register("toy", _Net, _Net, config=_Cfg)

    register_plugin(Plugin(), "toy-plugin")
    assert "toy" in ganzoo.list_architectures()
    assert ganzoo.get_registry().architectures["toy"].plugin == "toy-plugin"


def test_misspelt_hook_is_reported_and_skipped(host):
    """A hook name that does not exist warns with a suggestion and the plugin is dropped; ganzoo keeps working."""

    class Typo:
        @ganzoo.hookimpl
        def register_architecture(self, register):  # missing "s"
            raise AssertionError("never called")

    with pytest.warns(ganzoo.PluginLoadWarning, match="did you mean register_architectures"):
        host.register(Typo(), "typo")
    assert "dcgan" in ganzoo.list_architectures()
    assert host.plugins["typo"].errors


def test_misspelt_hook_fails_loudly_in_strict_mode():
    """GANZOO_STRICT_PLUGINS turns the warning into an error."""

    class Typo:
        @ganzoo.hookimpl
        def register_lossses(self, register):
            pass

    strict = ganzoo.PluginHost(strict=True).load()
    with pytest.raises(ganzoo.PluginError, match="register_lossses"):
        strict.register(Typo(), "typo")


def test_plugin_raising_in_hook_is_skipped_but_others_work(register_plugin):
    """An exception inside one plugin's hook is reported with the plugin's name; its records are dropped."""

    class Broken:
        @ganzoo.hookimpl
        def register_architectures(self, register):
            register("half-registered", _Net, _Net, config=_Cfg)
            raise RuntimeError("boom")

    register_plugin(Broken(), "broken")
    with pytest.warns(ganzoo.PluginLoadWarning, match=r"'broken'.*raised in register_architectures.*boom"):
        names = ganzoo.list_architectures()
    assert "dcgan" in names and "half-registered" not in names


def test_bad_registration_arguments_are_reported(register_plugin):
    """Registering something that is not a class is caught at registration, naming the problem."""

    class Bad:
        @ganzoo.hookimpl
        def register_architectures(self, register):
            register("bad", "not a class", _Net, config=_Cfg)

    register_plugin(Bad(), "bad")
    with pytest.warns(ganzoo.PluginLoadWarning, match="network 'generator' must be an nn.Module class"):
        assert "bad" not in ganzoo.list_architectures()


def test_duplicate_name_names_both_plugins(register_plugin):
    """A second 'dcgan' is rejected with an error that names both plugins; the built-in keeps the name."""

    class Clash:
        @ganzoo.hookimpl
        def register_architectures(self, register):
            register("dcgan", _Net, _Net, config=_Cfg)

    register_plugin(Clash(), "clash")
    with pytest.warns(ganzoo.PluginLoadWarning) as record:
        arch = ganzoo.get_registry().architectures["dcgan"]
    message = str(record[0].message)
    assert "'dcgan' (ganzoo" in message and "'clash'" in message and "registered twice" in message
    assert arch.plugin == "dcgan"


def test_duplicate_name_raises_in_strict_mode():
    """In strict mode the duplicate is a DuplicateNameError."""

    class Clash:
        @ganzoo.hookimpl
        def register_losses(self, register):
            register("hinge", ganzoo.Loss)

    strict = ganzoo.PluginHost(strict=True)
    strict.register(Clash(), "clash")
    with pytest.raises(ganzoo.PluginError, match="loss 'hinge' is registered twice"):
        strict.registry  # noqa: B018


class _FakeEntryPoint:
    """Stands in for an installed distribution's entry point."""

    def __init__(self, name, load):
        self.name, self.value, self._load = name, f"fake_{name}", load
        self.dist = type("Dist", (), {"metadata": {"Name": f"ganzoo-{name}"}, "version": "9.9"})()

    def load(self):
        return self._load()


def _with_entry_points(monkeypatch, extra):
    real = importlib.metadata.entry_points

    def entry_points(group):
        return list(real(group=group)) + extra

    monkeypatch.setattr("ganzoo.host.manager.importlib.metadata.entry_points", entry_points)


def test_third_party_plugin_that_fails_to_import_is_skipped(monkeypatch):
    """An installed plugin whose import raises is reported by name and skipped."""

    def fail():
        raise ImportError("No module named 'cuda_ops'")

    _with_entry_points(monkeypatch, [_FakeEntryPoint("broken", fail)])
    with pytest.warns(ganzoo.PluginLoadWarning, match=r"'broken' \(ganzoo-broken 9.9\) failed to load.*cuda_ops"):
        host = ganzoo.PluginHost().load()
    assert "dcgan" in host.registry.architectures
    assert host.plugins["broken"].errors


def test_block_and_disable_switches(monkeypatch):
    """GANZOO_BLOCK_PLUGINS skips named plugins; GANZOO_DISABLE_PLUGIN_AUTOLOAD keeps only the built-ins."""

    class Module:
        @staticmethod
        @ganzoo.hookimpl
        def register_losses(register):
            register("third-party-loss", ganzoo.Loss)

    _with_entry_points(monkeypatch, [_FakeEntryPoint("extra", lambda: Module)])
    assert "third-party-loss" in ganzoo.PluginHost().registry.losses

    monkeypatch.setenv("GANZOO_BLOCK_PLUGINS", "extra, mlp")
    host = ganzoo.PluginHost()
    assert "third-party-loss" not in host.registry.losses
    assert "mlp" not in host.registry.architectures and "dcgan" in host.registry.architectures

    monkeypatch.delenv("GANZOO_BLOCK_PLUGINS")
    monkeypatch.setenv("GANZOO_DISABLE_PLUGIN_AUTOLOAD", "1")
    host = ganzoo.PluginHost()
    assert "third-party-loss" not in host.registry.losses and "hinge" in host.registry.losses


def test_unknown_names_suggest_close_matches(host):
    """Misspelt names list close matches and the known names."""
    with pytest.raises(ganzoo.UnknownNameError, match=r"unknown architecture 'dcgna'. Did you mean 'dcgan'"):
        ganzoo.train("dcgna", "ring-8", steps=1)
    with pytest.raises(ganzoo.UnknownNameError, match=r"Did you mean 'hinge'"):
        ganzoo.train("mlp", "ring-8", loss="hinje", steps=1)
    with pytest.raises(ganzoo.UnknownNameError, match=r"unknown dataset 'ring8'. Did you mean 'ring-8'"):
        ganzoo.train("mlp", "ring8", steps=1)


def test_trace_switch_prints_hook_calls(monkeypatch, capsys):
    """GANZOO_TRACE_PLUGINS=1 prints each hook call (for debugging plugins)."""
    monkeypatch.setenv("GANZOO_TRACE_PLUGINS", "1")
    host = ganzoo.PluginHost()

    class Plugin:
        @ganzoo.hookimpl
        def register_metrics(self, register):
            pass

    host.register(Plugin(), "traced")
    host.pm.hook.register_metrics(register=lambda *a, **k: None)
    assert re.search(r"register_metrics", capsys.readouterr().out)


def test_plugin_name_clash_keeps_the_first_plugin(monkeypatch):
    """A third-party entry point named like a built-in is reported; the built-in keeps its name and info."""

    class Module:
        @staticmethod
        @ganzoo.hookimpl
        def register_losses(register):
            register("other-loss", ganzoo.Loss)

    _with_entry_points(monkeypatch, [_FakeEntryPoint("mlp", lambda: Module)])
    with pytest.warns(ganzoo.PluginLoadWarning, match=r"plugin name 'mlp', already taken by plugin 'mlp' \(ganzoo"):
        host = ganzoo.PluginHost().load()
    assert host.plugins["mlp"].builtin and host.plugins["mlp"].distribution == "ganzoo"
    assert host.registry.architectures["mlp"].plugin == "mlp" and "other-loss" not in host.registry.losses
